"""The writers in-process: where each kind of target is written, and how outputs are checked against inputs."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from labelaudit.errors import OutputError, UsageError
from labelaudit.io.paths import check_paths, check_writable, write_target
from labelaudit.io.writers import write_frame, write_json, write_text
from labelaudit.report.table import full_table, write_plain_table

FRAME = pd.DataFrame(
    {
        "row": [0, 1, 2],
        "id": ["a", "猫猫", None],
        "given_label": ["x\x1b[2J", "[red]b", "y"],
        "label_quality": [0.5, float("nan"), -12.25],
        "is_label_issue": [True, False, True],
        "rank": [3, 1, 2],
    }
)


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_symlink_target_is_replaced_and_the_link_kept(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_json({"a": 1}, str(link))
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert _names(tmp_path) == ["link.json", "real.json"]


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "new.csv")
    write_frame(FRAME[["row"]], str(link), "csv")
    assert link.is_symlink() and (tmp_path / "new.csv").read_text() == "row\n0\n1\n2\n"


def test_fifo_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(
        [sys.executable, "-c", f"print(open({str(fifo)!r}).read(), end='')"], stdout=subprocess.PIPE
    )
    write_text("through the fifo\n", str(fifo))
    out, _ = reader.communicate(timeout=30)
    assert out == b"through the fifo\n"
    assert fifo.is_fifo()


def test_character_devices_are_streamed(tmp_path: Path) -> None:
    assert write_target("/dev/null") == (Path("/dev/null"), "stream")
    write_text("discarded\n", "/dev/null")
    assert Path("/dev/null").is_char_device()
    with pytest.raises(OutputError, match=r"^/dev/full: cannot write: No space left on device$"):
        write_frame(FRAME, "/dev/full", "csv")


def test_regular_and_new_files_are_atomic(tmp_path: Path) -> None:
    assert write_target(tmp_path / "new.csv") == (tmp_path / "new.csv", "atomic")
    (tmp_path / "old.csv").write_text("x")
    assert write_target(tmp_path / "old.csv")[1] == "atomic"


def test_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("old")
    path.chmod(0o640)
    write_frame(FRAME[["row"]], str(path), "csv")
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: None, "does not exist"),
    ],
)
def test_unwritable_targets_fail_before_work(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "x"
    make(path)
    target = path if message == "is a directory" else path / "sub" / "r.csv"
    with pytest.raises(OutputError, match=message):
        check_writable(target)


def test_disk_full_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    """A file-size limit makes the temporary file's writes fail as a full disk would (EFBIG)."""
    path = tmp_path / "r.csv"
    path.write_text("previous\n")
    code = (
        "import resource, pandas as pd\n"
        "from labelaudit.io.writers import write_frame\n"
        "from labelaudit.errors import OutputError\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "try:\n"
        f"    write_frame(pd.DataFrame({{'x': range(100000)}}), {str(path)!r}, 'csv')\n"
        "except OutputError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"{path}: cannot write: File too large"
    assert path.read_text() == "previous\n"
    assert _names(tmp_path) == ["r.csv"]


def test_check_paths_compares_files_not_spellings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("label\n")
    (tmp_path / "out").mkdir()
    os.link(tmp_path / "d.csv", tmp_path / "hard.csv")
    (tmp_path / "soft.csv").symlink_to(tmp_path / "d.csv")
    for spelling in ("d.csv", "./d.csv", str(tmp_path / "d.csv"), "out/../d.csv", "hard.csv", "soft.csv"):
        with pytest.raises(UsageError, match="refusing to overwrite an input"):
            check_paths([("DATA", "d.csv")], [("-o", spelling)])
    with pytest.raises(UsageError, match=r"-o out/x.csv and --html ./out//x.csv name the same file"):
        check_paths([("DATA", "d.csv")], [("-o", "out/x.csv"), ("--html", "./out//x.csv")])
    with pytest.raises(UsageError, match="at most one output may"):
        check_paths([("DATA", "d.csv")], [("-o", "-"), ("--summary", "-")])
    check_paths([("DATA", "d.csv")], [("-o", "out/x.csv"), ("--html", "out/x.html"), ("--summary", "-")])
    check_paths(
        [("DATA", "d.csv")], [("-o", os.devnull), ("--html", os.devnull)]
    )  # the null device takes any
    with pytest.raises(UsageError, match=r"--probs p\*.csv"):
        (tmp_path / "p1.csv").write_text("x\n")
        check_paths([("--probs", "p*.csv")], [("-o", "p1.csv")])


def test_plain_table_is_escaped_and_aligned() -> None:
    assert full_table(FRAME) == (
        "row  id    given_label  label_quality  is_label_issue  rank\n"
        "  0  a     x\\x1b[2J            0.5000  yes                3\n"
        "  1  猫猫  [red]b                                         1\n"
        "  2        y                 -12.2500  yes                2\n"
    )


def test_plain_table_streams_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    import labelaudit.report.table as table

    frame = pd.DataFrame({"row": range(10), "given_label": [f"c{i % 3}" for i in range(10)]})
    whole = full_table(frame)
    monkeypatch.setattr(table, "_BLOCK_ROWS", 3)
    writes: list[str] = []

    class Sink(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            return super().write(text)

    sink = Sink()
    write_plain_table(frame, sink)
    assert sink.getvalue() == whole
    assert len(writes) == 1 + 4  # the header, then one write per block of 3 rows
