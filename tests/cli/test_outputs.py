"""Issue 8's output-safety, stream, message and escaping items, each with its exact input, through the CLI.

The wider sweep of bad inputs is tests/cli/test_hostile.py; these are the reported cases one by one,
plus the ones that need a terminal (a pseudo-terminal), a FIFO reader or a resource limit.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, assert_one_line_error, run_cli

DATA = "label,p_a,p_b\na,0.9,0.1\nb,0.2,0.8\na,0.6,0.4\nb,0.3,0.7\na,0.2,0.8\n"
ANNOTATIONS = "item,annotator,label\n1,w1,a\n1,w2,a\n2,w1,b\n2,w2,b\n3,w1,a\n3,w2,b\n"


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file() and not p.is_symlink()}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "d.csv"
    path.write_text(DATA)
    return path


@pytest.mark.parametrize(
    "outputs",
    [
        ["-o", "d.csv"],
        ["-o", "./d.csv"],
        ["--html", "d.csv"],
        ["--summary", "d.csv"],
        ["-o", "out/x.csv", "--html", "./out//x.csv"],
        ["-o", "-", "--summary", "-", "--html", "-"],
    ],
    ids=["o-data", "o-dot-data", "html-data", "summary-data", "two-spellings", "stdout-thrice"],
)
def test_scan_refuses_outputs_onto_inputs_or_each_other(
    tmp_path: Path, data: Path, outputs: list[str]
) -> None:
    (tmp_path / "out").mkdir()
    before = _files(tmp_path)
    result = run_cli("scan", "d.csv", *outputs, cwd=tmp_path)
    assert_one_line_error(result)
    assert _files(tmp_path) == before
    assert not list((tmp_path / "out").iterdir())


def test_outputs_onto_the_probs_file_are_refused(tmp_path: Path) -> None:
    import numpy as np

    (tmp_path / "l.csv").write_text("label\na\nb\na\nb\n")
    np.save(tmp_path / "p.npy", np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]))
    before = _files(tmp_path)
    for option in ("--html", "--summary"):
        result = run_cli(
            "scan", "l.csv", "--probs", "p.npy", "--classes", "a,b", option, "p.npy", cwd=tmp_path
        )
        assert_one_line_error(result, f"{option} p.npy", "--probs p.npy")
    assert _files(tmp_path) == before


def test_aggregate_refuses_an_output_onto_its_input(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(ANNOTATIONS)
    for outputs in (
        ["-o", "./a.csv"],
        ["--annotators-out", "a.csv"],
        ["--audit-out", str(tmp_path / "a.csv")],
    ):
        result = run_cli("aggregate", "a.csv", *outputs, cwd=tmp_path)
        assert_one_line_error(result, "refusing to overwrite an input")
    assert (tmp_path / "a.csv").read_text() == ANNOTATIONS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_a_symlinked_output_keeps_the_link(tmp_path: Path, data: Path) -> None:
    (tmp_path / "link.json").symlink_to("real.json")
    result = run_cli("scan", "d.csv", "--summary", "link.json", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "link.json").is_symlink()
    assert (tmp_path / "real.json").read_text().startswith("{")


def test_a_fifo_output_is_written_into(tmp_path: Path, data: Path) -> None:
    fifo = tmp_path / "report.csv"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    result = run_cli("scan", "d.csv", "-o", "report.csv", "-q", cwd=tmp_path)
    out, _ = reader.communicate(timeout=60)
    assert result.returncode == 0, result.stderr
    assert out.startswith(b"row,given_label,suggested_label,label_quality,") and out.count(b"\n") == 6
    assert fifo.is_fifo()


def test_dev_full_is_one_line_and_kept(data: Path, tmp_path: Path) -> None:
    result = run_cli("scan", "d.csv", "--html", "/dev/full", "-o", "r.csv", cwd=tmp_path)
    assert_one_line_error(result, "/dev/full: cannot write: No space left on device")
    assert Path("/dev/full").is_char_device()


def test_a_full_disk_keeps_the_old_report_and_leaves_no_temp(tmp_path: Path, data: Path) -> None:
    """RLIMIT_FSIZE makes writes past 2 kB fail with EFBIG, as a full disk fails them with ENOSPC."""
    big = tmp_path / "big.csv"
    big.write_text("label,p_a,p_b\n" + "a,0.9,0.1\nb,0.2,0.8\n" * 500)
    (tmp_path / "r.csv").write_text("the previous report\n")
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))\n"
        "from labelaudit.cli.app import run\n"
        "sys.exit(run(['scan', 'big.csv', '-o', 'r.csv', '-q']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "labelaudit: error: r.csv: cannot write: File too large\n"
    assert (tmp_path / "r.csv").read_text() == "the previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "d.csv", "r.csv"]


@pytest.mark.parametrize(
    ("redirect", "message"),
    [
        (">/dev/full", "labelaudit: error: standard output: cannot write: No space left on device"),
        (">&-", "labelaudit: error: standard output is closed"),
        ("<&-", "labelaudit: error: <stdin>: standard input is closed"),
    ],
)
def test_full_or_closed_standard_streams(tmp_path: Path, data: Path, redirect: str, message: str) -> None:
    source = "-" if redirect == "<&-" else "d.csv"
    proc = subprocess.run(
        [
            "sh",
            "-c",
            f'exec "$@" {redirect}',
            "sh",
            sys.executable,
            "-m",
            "labelaudit",
            "scan",
            source,
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr == message + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


def test_an_unexpected_exception_is_one_line_and_exit_70(tmp_path: Path, data: Path) -> None:
    code = (
        "import sys\n"
        "import labelaudit.io.readers as readers\n"
        "def broken(*args, **kwargs):\n"
        "    raise KeyError('a bug\\non two lines')\n"
        "readers.read_table = broken\n"
        "from labelaudit.cli.app import main\n"
        "sys.argv = ['labelaudit', 'scan', 'd.csv']\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert proc.returncode == 70
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(
        "labelaudit: internal error: KeyError: 'a bug\\non two lines'; please report it"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "d.csv", "-o"], "labelaudit: error: Option '-o' requires an argument."),
        (["scan", "d.csv", "--frobnicate"], "labelaudit: error: No such option: --frobnicate"),
        (["scan"], "labelaudit: error: Missing argument 'data'."),
        (["scan", "d.csv", "--top", "x"], "labelaudit: error: Invalid value for '--top'"),
        (["frobnicate"], "labelaudit: error: No such command 'frobnicate'."),
    ],
)
def test_parser_errors_are_one_line(tmp_path: Path, data: Path, args: list[str], message: str) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert_one_line_error(result)
    assert result.stderr.startswith(message), result.stderr


def test_a_text_file_named_npy_gets_no_pickle_hint(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("label\na\nb\n")
    (tmp_path / "p.npy").write_text("0.9,0.1\n0.2,0.8\n")
    result = run_cli("scan", "l.csv", "--probs", "p.npy", "--classes", "a,b", cwd=tmp_path)
    assert_one_line_error(result, "p.npy: not a .npy file")
    assert "pickle" not in result.stderr


HOSTILE_LABELS = ["[/x]", "[red]b", "[link=https://evil.example]click[/link]", "\x1b]0;pwned\x07", "\x1b[2J"]


def _hostile_data(path: Path) -> None:
    import csv

    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "label", "p_a", "p_b"])
        for k, label in enumerate(HOSTILE_LABELS):
            writer.writerow([label, "a", 0.2, 0.8])
            writer.writerow([f"ok{k}", "b", 0.1, 0.9])


def _run_on_a_terminal(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, until: bytes | None = None
) -> bytes:
    """Run the CLI with stdout and stderr on a pseudo-terminal; everything it printed (until ``until``)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "labelaudit", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", **(env or {})},
    )
    os.close(follower)
    out = b""
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
                if until is not None and until in out:
                    break
            elif proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(leader)
    return out


def test_hostile_labels_reach_the_terminal_escaped(tmp_path: Path) -> None:
    _hostile_data(tmp_path / "d.csv")
    out = _run_on_a_terminal(["scan", "d.csv", "--id-col", "id", "--top", "20", "-o", "r.csv"], tmp_path)
    assert b"Most suspicious rows" in out, out
    assert b"\x1b]0;" not in out and b"\x1b[2J" not in out and b"\x1b]8;" not in out  # no title, clear, link
    assert b"\\x1b]0;pwned\\x07" in out and b"\\x1b[2J" in out
    for label in ("[/x]", "[red]b", "[link=https://evil.example]click[/link]"):
        assert label.encode() in out, (label, out)
    assert (tmp_path / "r.csv").exists()


def test_hostile_class_names_in_errors_are_escaped(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("label,p_a,p_b\n\x1b[2Jzebra,0.9,0.1\nb,0.2,0.8\n")
    result = run_cli("scan", "d.csv", cwd=tmp_path)
    assert_one_line_error(result, "\\x1b[2Jzebra")
    assert "\x1b" not in result.stderr


def test_cold_kernel_cache_is_announced_once_on_a_terminal(tmp_path: Path, data: Path) -> None:
    """An empty numba cache (NUMBA_CACHE_DIR) makes the kernels compile: the CLI says so before it does."""
    note = b"compiling the numba kernels on first use"
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    out = _run_on_a_terminal(["scan", "d.csv", "--top", "1"], tmp_path, env=env, until=note)
    assert out.count(note) == 1, out
    # never on a pipe (logs, CI), and never for a usage error
    piped = run_cli("scan", "d.csv", "--method", "vibes", env=env, cwd=tmp_path)
    assert note.decode() not in piped.stderr


def test_warm_kernel_cache_says_nothing(tmp_path: Path, data: Path) -> None:
    assert run_cli("scan", "d.csv", "-q", cwd=tmp_path).returncode == 0  # warms the shared cache
    out = _run_on_a_terminal(["scan", "d.csv", "--top", "1"], tmp_path)
    assert b"Most suspicious rows" in out
    assert b"compiling the numba kernels" not in out
