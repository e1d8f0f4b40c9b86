"""Hostile and unusual inputs through the real CLI, asserting what a user and a CI job rely on.

For every case: the exit code; for errors exactly one line on stderr (``labelaudit: error: ...``) and no
traceback; no raw control character on stderr; every input byte-identical afterwards and no temporary
file left behind. Malformed files, bad options, hostile strings in labels, ids, column and file names,
outputs onto inputs and onto special files, closed and full streams, shuffled rows.

Speed: each case runs in its own process with its own file descriptors, through the entry point
``labelaudit.cli.app.run`` exactly as the ``labelaudit`` script calls it. Cases are forked from one
driver process that has already imported Python, pandas and the command (``python
tests/cli/test_hostile.py CASES RESULTS``), so a case costs tens of milliseconds instead of a second
of interpreter start-up. Cases marked ``spawn`` (closed and full standard streams) run as a fresh
``python -m labelaudit`` under ``sh`` with the descriptors really closed; set
``LABELAUDIT_HOSTILE_SPAWN=1`` to run every case that way.

Test data: small synthetic tables written by the cases themselves.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

GOOD = b"label,p_a,p_b\na,0.9,0.1\nb,0.2,0.8\na,0.6,0.4\nb,0.3,0.7\na,0.2,0.8\nb,0.45,0.55\n"
WITH_IDS = b"id,label,p_a,p_b\nr0,a,0.9,0.1\nr1,b,0.2,0.8\nr2,a,0.6,0.4\nr3,b,0.3,0.7\nr4,a,0.2,0.8\nr5,b,0.45,0.55\n"
LABELS_ONLY = b"id,label\nr0,a\nr1,b\nr2,a\nr3,b\n"
PROBS_TABLE = b"id,p_a,p_b\nr0,0.9,0.1\nr1,0.2,0.8\nr2,0.6,0.4\nr3,0.3,0.7\n"
ANNOTATIONS = (
    b"item,annotator,label\n1,w1,a\n1,w2,a\n1,w3,b\n2,w1,b\n2,w2,b\n2,w3,b\n3,w1,a\n3,w2,b\n3,w3,a\n"
)
ITEM_PROBS = b"item,p_a,p_b\n1,0.8,0.2\n2,0.1,0.9\n3,0.6,0.4\n"
# a .npy file: NumPy's header for a little-endian float64 (4, 2) array, then the numbers
NPY = (
    b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (4, 2), }"
    + b" " * 57
    + b"\n"
    + b"".join(
        __import__("struct").pack("<2d", *row) for row in ((0.9, 0.1), (0.2, 0.8), (0.6, 0.4), (0.3, 0.7))
    )
)
ESC = "\x1b"
HOSTILE = {
    "close-tag": "[/x]",
    "style": "[red]b",
    "link": "[link=https://evil.example]click[/link]",
    "osc-title": f"{ESC}]0;pwned\x07",
    "clear-screen": f"{ESC}[2J",
    "emoji-code": ":smile:",
    "bidi-override": "abc\u202edef",
    "newline": "two\nlines",
    "tab": "a\tb",
    "backspace": "ab\x08\x08cd",
    "c1-csi": "x\x9b2Jy",
    "long": "L" * 5000,
}


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    files: dict[str, bytes] = field(default_factory=dict)
    code: int = 2
    needles: tuple[str, ...] = ()  # each must appear in the one error line
    written: tuple[str, ...] = ()  # files the run is expected to create or replace
    stdin: bytes | str | None = None  # bytes fed on stdin, "closed", or None (empty)
    stdout: str = "pipe"  # "pipe", "closed" or "full"
    spawn: bool = False  # run as a fresh `python -m labelaudit` (real closed descriptors)
    setup: Callable[[Path], None] | None = None
    check: Callable[[dict, Path], None] | None = None
    xfail: str | None = None


def _csv(rows: list[list[str]]) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def _labelled(label: str) -> bytes:
    """GOOD with ``label`` as the name of class a: in the label column and as the column p_<label>."""
    rows = [["label", f"p_{label}", "p_b"]]
    for given, pa, pb in (
        ("A", 0.9, 0.1),
        ("b", 0.2, 0.8),
        ("A", 0.6, 0.4),
        ("b", 0.3, 0.7),
        ("A", 0.2, 0.8),
    ):
        rows.append([label if given == "A" else given, str(pa), str(pb)])
    return _csv(rows)


def _with_ids(ident: str) -> bytes:
    rows = [["id", "label", "p_a", "p_b"]]
    for k, (given, pa, pb) in enumerate((("a", 0.9, 0.1), ("b", 0.2, 0.8), ("a", 0.2, 0.8), ("b", 0.3, 0.7))):
        rows.append([ident if k == 2 else f"r{k}", given, str(pa), str(pb)])
    return _csv(rows)


def _annotations(label: str) -> bytes:
    """ANNOTATIONS with ``label`` in place of class a."""
    rows = [line.split(",") for line in ANNOTATIONS.decode().splitlines()]
    return _csv([rows[0], *([i, w, label if x == "a" else x] for i, w, x in rows[1:])])


def _same_report_as_unshuffled(result: dict, directory: Path) -> None:
    """The shuffled file's report, sorted by id, equals the original file's (row positions aside)."""
    import pandas as pd

    from tests.conftest import run_cli

    assert run_cli("scan", "d.csv", "--id-col", "id", "-o", "rd.csv", "-q", cwd=directory).returncode == 0
    shuffled = pd.read_csv(directory / "rs.csv", dtype=str).drop(columns=["row"]).sort_values("id")
    original = pd.read_csv(directory / "rd.csv", dtype=str).drop(columns=["row"]).sort_values("id")
    pd.testing.assert_frame_equal(shuffled.reset_index(drop=True), original.reset_index(drop=True))


def _shown(text: str) -> str:
    """How the CLI shows a user string on a terminal (control characters escaped)."""
    from labelaudit.report.terminal import printable

    return printable(text)


def _stderr_shows(*needles: str) -> Callable[[dict, Path], None]:
    def check(result: dict, _: Path) -> None:
        for needle in needles:
            assert needle in result["stderr"], (needle, result["stderr"][-2000:])

    return check


def _report_has(path: str, column: str, values: list[str]) -> Callable[[dict, Path], None]:
    def check(result: dict, directory: Path) -> None:
        import pandas as pd

        report = pd.read_csv(directory / path, dtype=str, keep_default_na=False)
        assert sorted(set(report[column])) == sorted(set(values)), report[column].tolist()

    return check


def _stdout_is(expected_start: bytes) -> Callable[[dict, Path], None]:
    def check(result: dict, _: Path) -> None:
        assert base64.b64decode(result["stdout"]).startswith(expected_start), result["stdout"][:200]

    return check


def _symlink(name: str, target: str) -> Callable[[Path], None]:
    return lambda directory: (directory / name).symlink_to(target)


def _hardlink(name: str, target: str) -> Callable[[Path], None]:
    return lambda directory: os.link(directory / target, directory / name)


def _mkdir(name: str) -> Callable[[Path], None]:
    return lambda directory: (directory / name).mkdir()


def _cases() -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    d = {"d.csv": GOOD}

    # --- malformed or unusable data files (scan)
    for name, content, needles in [
        ("empty", b"", ("d.csv", "empty")),
        ("header-only", b"label,p_a,p_b\n", ("d.csv", "no data rows")),
        ("whitespace-only", b"  \n\n \n", ("d.csv",)),
        ("binary-garbage", bytes(range(256)) * 8, ("d.csv",)),
        ("nul-bytes", b"label,p_a,p_b\na,0.9,0.1\x00\x00\nb,0.2,0.8\n", ("d.csv",)),
        ("semicolon-delimiter", b"label;p_a;p_b\na;0.9;0.1\nb;0.2;0.8\n", ("d.csv",)),
        ("unterminated-quote", b'label,p_a,p_b\n"a,0.9,0.1\nb,0.2,0.8\n', ("d.csv",)),
        ("too-many-fields", b"label,p_a,p_b\na,0.9,0.1,7,8\nb,0.2,0.8\n", ("d.csv",)),
        ("invalid-utf8", b"label,p_a,p_b\n\xff\xfe\xfa,0.9,0.1\nb,0.2,0.8\n", ("d.csv",)),
        ("utf16", "label,p_a,p_b\na,0.9,0.1\nb,0.2,0.8\n".encode("utf-16"), ("d.csv",)),
        ("text-probabilities", b"label,p_a,p_b\na,high,low\nb,0.2,0.8\n", ("d.csv", "p_a")),
        ("nan-probabilities", b"label,p_a,p_b\na,nan,0.1\nb,0.2,0.8\n", ("d.csv",)),
        ("inf-probabilities", b"label,p_a,p_b\na,inf,0.1\nb,0.2,0.8\n", ("d.csv",)),
        ("negative-probabilities", b"label,p_a,p_b\na,-0.5,1.5\nb,0.2,0.8\n", ("d.csv",)),
        ("probabilities-above-one", b"label,p_a,p_b\na,3.5,0.1\nb,0.2,0.8\n", ("d.csv",)),
        ("unknown-label", b"label,p_a,p_b\na,0.9,0.1\nzebra,0.2,0.8\n", ("d.csv", "zebra")),
        ("blank-label", b"label,p_a,p_b\na,0.9,0.1\n,0.2,0.8\n", ("d.csv", "label")),
        ("no-probability-columns", b"label,x,y\na,0.9,0.1\nb,0.2,0.8\n", ("d.csv", "p_*")),
        ("one-class", b"label,p_a\na,1.0\na,1.0\n", ("d.csv",)),
        ("no-label-column", b"y,p_a,p_b\na,0.9,0.1\nb,0.2,0.8\n", ("d.csv", "label")),
        ("huge-field", b"label,p_a,p_b\n" + b"x" * 3_000_000 + b",0.9,0.1\nb,0.2,0.8\n", ("d.csv",)),
    ]:
        add(Case(f"data-{name}", ("scan", "d.csv", "-q"), {"d.csv": content}, needles=needles))
    add(
        Case(
            "data-duplicate-probability-header",
            ("scan", "d.csv", "-q"),
            {"d.csv": b"label,p_a,p_b,p_a\na,0.9,0.1,0.9\nb,0.2,0.8,0.2\n"},
            needles=("d.csv", "p_a"),
        )
    )
    add(
        Case(
            "data-duplicate-label-header",
            ("scan", "d.csv", "-q"),
            {"d.csv": b"label,p_a,p_b,label\na,0.9,0.1,b\nb,0.2,0.8,a\n"},
            needles=("d.csv", "label"),
        )
    )
    for name, filename, content in [
        ("garbage-parquet", "d.parquet", b"PAR1 but not really parquet"),
        ("csv-named-parquet", "d.parquet", GOOD),
        ("garbage-jsonl", "d.jsonl", b'{"label": "a", "p_a": 0.9\n{{{\n'),
        ("json-array-as-jsonl", "d.jsonl", b'[{"label": "a", "p_a": 0.9, "p_b": 0.1}]\n'),
        ("plain-text-gz", "d.csv.gz", GOOD),
        ("empty-tsv", "d.tsv", b""),
        ("unknown-extension", "d.xlsx", GOOD),
        ("no-extension", "data", GOOD),
    ]:
        add(Case(f"data-{name}", ("scan", filename, "-q"), {filename: content}, needles=(filename,)))
    add(Case("data-missing-file", ("scan", "nothere.csv"), needles=("nothere.csv", "no such file")))
    add(
        Case("data-directory", ("scan", "sub.csv"), setup=_mkdir("sub.csv"), needles=("sub.csv", "directory"))
    )
    add(Case("data-dev-null", ("scan", "/dev/null", "--input-format", "csv"), needles=("/dev/null",)))
    add(Case("stdin-empty", ("scan", "-"), stdin=b"", needles=("<stdin>",)))
    add(Case("stdin-garbage", ("scan", "-"), stdin=bytes(range(256)) * 4, needles=("<stdin>",)))
    add(Case("stdin-header-only", ("scan", "-"), stdin=b"label,p_a,p_b\n", needles=("<stdin>",)))

    # --- unusual but valid files: exit 0
    add(Case("ok-bom", ("scan", "d.csv", "-q"), {"d.csv": b"\xef\xbb\xbf" + GOOD}, code=0))
    add(Case("ok-crlf", ("scan", "d.csv", "-q"), {"d.csv": GOOD.replace(b"\n", b"\r\n")}, code=0))
    add(Case("ok-no-final-newline", ("scan", "d.csv", "-q"), {"d.csv": GOOD.rstrip(b"\n")}, code=0))
    add(Case("ok-blank-lines", ("scan", "d.csv", "-q"), {"d.csv": GOOD.replace(b"\n", b"\n\n")}, code=0))
    add(
        Case("ok-quoted-fields", ("scan", "d.csv", "-q"), {"d.csv": GOOD.replace(b"\na,", b'\n"a",')}, code=0)
    )
    add(Case("ok-stdin", ("scan", "-", "-q"), stdin=GOOD, code=0))
    add(Case("ok-tsv", ("scan", "d.tsv", "-q"), {"d.tsv": GOOD.replace(b",", b"\t")}, code=0))
    add(
        Case(
            "ok-forced-format",
            ("scan", "d.data", "--input-format", "csv", "-q"),
            {"d.data": GOOD},
            code=0,
        )
    )
    add(
        Case(
            "ok-unicode-labels",
            ("scan", "d.csv", "-o", "r.csv", "-q"),
            {"d.csv": _labelled("猫")},
            code=0,
            written=("r.csv",),
            check=_report_has("r.csv", "given_label", ["猫", "b"]),
        )
    )
    shuffled = b"id,label,p_a,p_b\n" + b"\n".join(reversed(WITH_IDS.splitlines()[1:])) + b"\n"
    add(
        Case(
            "ok-shuffled-rows",
            ("scan", "s.csv", "--id-col", "id", "-o", "rs.csv", "-q"),
            {"s.csv": shuffled, "d.csv": WITH_IDS},
            code=0,
            written=("rs.csv", "rd.csv"),
            check=_same_report_as_unshuffled,
        )
    )

    # --- bad options (scan)
    for name, extra, needles in [
        ("top-negative", ("--top", "-1"), ("--top",)),
        ("top-text", ("--top", "many"), ("--top",)),
        ("top-nan", ("--top", "nan"), ("--top",)),
        ("frac-noise-nan", ("--frac-noise", "nan"), ("--frac-noise",)),
        ("frac-noise-inf", ("--frac-noise", "inf"), ("--frac-noise",)),
        ("frac-noise-negative", ("--frac-noise", "-1"), ("--frac-noise",)),
        ("frac-noise-zero", ("--frac-noise", "0"), ("--frac-noise",)),
        ("frac-noise-above-one", ("--frac-noise", "2"), ("--frac-noise",)),
        ("frac-noise-text", ("--frac-noise", "half"), ("--frac-noise",)),
        ("max-issues-text", ("--max-issues", "few"), ("--max-issues",)),
        ("max-issue-rate-text", ("--max-issue-rate", "low"), ("--max-issue-rate",)),
        ("method-unknown", ("--method", "vibes"), ("--method", "vibes")),
        ("score-unknown", ("--score", "vibes"), ("--score", "vibes")),
        ("compat-unknown", ("--compat", "vibes"), ("--compat", "vibes")),
        ("format-unknown", ("--format", "xml"), ("--format", "xml")),
        ("sort-unknown", ("--sort", "random"), ("--sort", "random")),
        ("engine-unknown", ("--engine", "quantum"), ("--engine", "quantum")),
        ("input-format-unknown", ("--input-format", "xls"), ("--input-format", "xls")),
        ("output-extension-unknown", ("-o", "r.xyz"), ("r.xyz",)),
        ("label-col-missing", ("--label-col", "nope"), ("nope",)),
        ("id-col-missing", ("--id-col", "nope"), ("nope",)),
        ("prob-cols-match-nothing", ("--prob-cols", "q_*"), ("q_*",)),
        ("chunk-rows-zero", ("--chunk-rows", "0"), ("--chunk-rows",)),
        ("chunk-rows-negative", ("--chunk-rows", "-5"), ("--chunk-rows",)),
        ("chunk-rows-text", ("--chunk-rows", "lots"), ("--chunk-rows",)),
        ("label-cols-without-multi-label", ("--label-cols", "t_*"), ("--label-cols",)),
        ("dask-scheduler-without-dask", ("--dask-scheduler", "tcp://x:1"), ("scheduler",)),
        ("unknown-option", ("--frobnicate",), ("--frobnicate",)),
        ("output-missing-value", ("-o",), ("-o",)),
        ("probs-missing-value", ("--probs",), ("--probs",)),
        ("probs-missing-file", ("--probs", "nothere.npy"), ("nothere.npy",)),
        ("baseline-missing-file", ("--baseline", "nothere.txt"), ("nothere.txt",)),
        ("two-data-arguments", ("d.csv",), ("d.csv",)),
        ("classes-without-npy", ("--classes", "a,b"), ("--classes",)),
        (
            "multi-label-aggregate-unknown",
            ("--multi-label", "--aggregate", "vibes"),
            ("vibes",),
        ),
    ]:
        add(Case(f"option-{name}", ("scan", "d.csv", *extra), d, needles=needles))
    for name, extra in [
        ("max-issue-rate-nan", ("--max-issue-rate", "nan")),
        ("max-issue-rate-negative", ("--max-issue-rate", "-0.1")),
        ("max-issue-rate-above-one", ("--max-issue-rate", "1.5")),
        ("min-health-nan", ("--min-health", "nan")),
        ("min-health-inf", ("--min-health", "inf")),
        ("max-issues-negative", ("--max-issues", "-1")),
    ]:
        add(
            Case(
                f"option-gate-{name}",
                ("scan", "d.csv", *extra),
                d,
                needles=(extra[0],),
            )
        )
    add(Case("command-unknown", ("frobnicate",), needles=("frobnicate",)))
    add(Case("command-missing-data", ("scan",), needles=("data",)))
    add(
        Case(
            "npy-text-file",
            ("scan", "l.csv", "--probs", "p.npy"),
            {"l.csv": LABELS_ONLY, "p.npy": b"0.9,0.1\n"},
            needles=("p.npy", "not a .npy file"),
        )
    )
    add(
        Case(
            "npy-empty-file",
            ("scan", "l.csv", "--probs", "p.npy"),
            {"l.csv": LABELS_ONLY, "p.npy": b""},
            needles=("p.npy",),
        )
    )
    add(
        Case(
            "npy-truncated",
            ("scan", "l.csv", "--probs", "p.npy"),
            {"l.csv": LABELS_ONLY, "p.npy": NPY[:100]},
            needles=("p.npy",),
        )
    )
    add(
        Case(
            "npy-wrong-rows",
            ("scan", "d.csv", "--probs", "p.npy", "--classes", "a,b"),
            {"d.csv": GOOD, "p.npy": NPY},
            needles=("p.npy",),
        )
    )

    # --- bad options (aggregate)
    a = {"a.csv": ANNOTATIONS}
    for name, extra, needles in [
        ("method-unknown", ("--method", "vibes"), ("method", "vibes")),
        ("smoothing-negative", ("--smoothing", "-1"), ("smoothing", "-1")),
        ("smoothing-nan", ("--smoothing", "nan"), ("smoothing", "nan")),
        ("diagonal-nan", ("--diagonal", "nan"), ("diagonal", "nan")),
        ("diagonal-inf", ("--diagonal", "inf"), ("diagonal", "inf")),
        ("max-iter-zero", ("--max-iter", "0"), ("max", "iter")),
        ("max-iter-negative", ("--max-iter", "-3"), ("max", "iter", "-3")),
        ("tol-nan", ("--tol", "nan"), ("tol", "nan")),
        ("tol-negative", ("--tol", "-1"), ("tol", "-1")),
        ("seed-text", ("--seed", "lucky"), ("--seed",)),
        ("top-negative", ("--top", "-3"), ("--top",)),
        ("item-col-missing", ("--item-col", "nope"), ("nope",)),
        ("annotator-col-missing", ("--annotator-col", "nope"), ("nope",)),
        ("label-col-missing", ("--label-col", "nope"), ("nope",)),
        (
            "annotators-out-and-report-stdout",
            ("--annotators-out", "-", "--format", "csv"),
            ("--annotators-out",),
        ),
        ("audit-out-extension", ("--audit-out", "x.xyz"), ("x.xyz",)),
        ("probs-missing-file", ("--probs", "nothere.csv"), ("nothere.csv",)),
        ("format-unknown", ("--format", "xml"), ("--format",)),
        ("input-format-unknown", ("--input-format", "xls"), ("--input-format",)),
    ]:
        add(Case(f"aggregate-option-{name}", ("aggregate", "a.csv", *extra), a, needles=needles))
    for name, content in [
        ("empty", b""),
        ("header-only", b"item,annotator,label\n"),
        ("garbage", bytes(range(256)) * 4),
        ("semicolons", b"item;annotator;label\n1;w1;a\n"),
        ("unterminated-quote", b'item,annotator,label\n1,"w1,a\n2,w2,b\n'),
    ]:
        add(
            Case(
                f"aggregate-data-{name}", ("aggregate", "a.csv", "-q"), {"a.csv": content}, needles=("a.csv",)
            )
        )
    add(
        Case(
            "aggregate-probs-npy",
            ("aggregate", "a.csv", "--probs", "p.npy"),
            {"a.csv": ANNOTATIONS, "p.npy": NPY},
            needles=("p.npy",),
        )
    )

    # --- hostile strings: labels and class names are shown escaped, never interpreted
    for name, value in HOSTILE.items():
        add(
            Case(
                f"label-{name}",
                ("scan", "d.csv", "--top", "5", "-o", "r.csv"),
                {"d.csv": _labelled(value)},
                code=0,
                written=("r.csv",),
                check=_stderr_shows(_shown(value)[:12], "Most suspicious rows"),
            )
        )
        add(
            Case(
                f"id-{name}",
                ("scan", "d.csv", "--id-col", "id", "--top", "5", "-o", "r.csv"),
                {"d.csv": _with_ids(value)},
                code=0,
                written=("r.csv",),
                check=_stderr_shows(_shown(value)[:12]),
            )
        )
        add(
            Case(
                f"column-name-{name}",
                ("scan", "d.csv", "--label-col", value),
                d,
                needles=(_shown(value)[:12],),
            )
        )
        add(
            Case(
                f"aggregate-label-{name}",
                ("aggregate", "a.csv", "--top", "5"),
                {"a.csv": _annotations(value)},
                code=0,
                check=_stderr_shows(_shown(value)[:12]),
            )
        )
    for name, value in [
        ("style", "[red]d.csv"),
        ("escape", f"d{ESC}[2J.csv"),
        ("newline", "d\nx.csv"),
        ("bidi", "d\u202ex.csv"),
    ]:
        add(Case(f"file-name-missing-{name}", ("scan", value), needles=(_shown(value),)))
        add(
            Case(
                f"file-name-output-{name}",
                ("scan", "d.csv", "-o", value, "--top", "3"),
                d,
                code=0,
                written=(value,),
                check=_stderr_shows(_shown(value)),
            )
        )
    add(Case("file-name-dash-prefixed", ("scan", "-q", "--", "-d.csv"), {"-d.csv": GOOD}, code=0))
    add(Case("file-name-spaces", ("scan", "my data.csv", "-q"), {"my data.csv": GOOD}, code=0))

    # --- outputs onto inputs, onto each other, onto stdout twice
    for name, extra, needles in [
        ("o-data", ("-o", "d.csv"), ("-o d.csv", "DATA d.csv")),
        ("o-dot-data", ("-o", "./d.csv"), ("./d.csv",)),
        ("o-parent-data", ("-o", "sub/../d.csv"), ("sub/../d.csv",)),
        ("html-data", ("--html", "d.csv"), ("--html d.csv",)),
        ("summary-data", ("--summary", "d.csv"), ("--summary d.csv",)),
        ("o-hardlink", ("-o", "hard.csv"), ("hard.csv",)),
        ("o-symlink", ("-o", "soft.csv"), ("soft.csv",)),
        ("o-out-html-same", ("-o", "sub/x.csv", "--html", "./sub//x.csv"), ("name the same file",)),
        ("o-summary-same", ("-o", "r.json", "--summary", "r.json"), ("name the same file",)),
        ("stdout-twice", ("-o", "-", "--summary", "-"), ("standard output",)),
        ("stdout-thrice", ("-o", "-", "--summary", "-", "--html", "-"), ("standard output",)),
        ("format-and-summary-stdout", ("--format", "csv", "--summary", "-"), ("standard output",)),
        (
            "o-dev-stdout-and-summary-stdout",
            ("-o", "/dev/stdout", "--format", "csv", "--summary", "-"),
            ("standard output",),
        ),
        ("o-directory", ("-o", "sub.csv"), ("sub.csv", "directory")),
        ("o-missing-directory", ("-o", "nowhere/r.csv"), ("nowhere",)),
        ("html-dev-full", ("--html", "/dev/full", "-q"), ("/dev/full", "No space left")),
        ("summary-dev-full", ("--summary", "/dev/full", "-q"), ("/dev/full", "No space left")),
        ("o-dev-full", ("-o", "/dev/full", "--format", "csv", "-q"), ("/dev/full", "No space left")),
    ]:
        setup = None
        if name == "o-hardlink":
            setup = _hardlink("hard.csv", "d.csv")
        elif name == "o-symlink":
            setup = _symlink("soft.csv", "d.csv")
        elif name in ("o-parent-data", "o-out-html-same"):
            setup = _mkdir("sub")
        elif name == "o-directory":
            setup = _mkdir("sub.csv")
        add(Case(f"output-{name}", ("scan", "d.csv", *extra), d, needles=needles, setup=setup))
    add(
        Case(
            "output-html-probs",
            ("scan", "l.csv", "--probs", "p.csv", "--id-col", "id", "--html", "p.csv"),
            {"l.csv": LABELS_ONLY, "p.csv": PROBS_TABLE},
            needles=("--html p.csv", "--probs p.csv"),
        )
    )
    add(
        Case(
            "output-summary-npy-probs",
            ("scan", "l.csv", "--probs", "p.npy", "--classes", "a,b", "--summary", "p.npy"),
            {"l.csv": LABELS_ONLY, "p.npy": NPY},
            needles=("--summary p.npy", "--probs p.npy"),
        )
    )
    add(
        Case(
            "output-baseline",
            ("scan", "d.csv", "--baseline", "b.txt", "-o", "b.txt"),
            {"d.csv": GOOD, "b.txt": b"1\n"},
            needles=("--baseline b.txt",),
        )
    )
    add(Case("output-stdin-file", ("scan", "-", "-o", "d.csv"), d, stdin="file:d.csv", needles=("d.csv",)))
    add(
        Case(
            "output-null-device-twice",
            ("scan", "d.csv", "-o", "/dev/null", "--format", "csv", "--html", "/dev/null", "-q"),
            d,
            code=0,
        )
    )
    add(
        Case(
            "output-through-symlink",
            ("scan", "d.csv", "-o", "link.csv", "-q"),
            d,
            code=0,
            setup=_symlink("link.csv", "real.csv"),
            written=("real.csv",),
            check=lambda r, directory: (
                (
                    (directory / "link.csv").is_symlink()
                    and (directory / "real.csv").read_bytes().startswith(b"row,")
                )
                or pytest.fail("the link was replaced or its target not written")
            ),
        )
    )
    for name, extra, needles in [
        ("o-data", ("-o", "./a.csv"), ("./a.csv",)),
        ("annotators-out-data", ("--annotators-out", "a.csv"), ("--annotators-out a.csv",)),
        ("audit-out-data", ("--audit-out", "a.csv"), ("--audit-out a.csv",)),
        ("summary-data", ("--summary", "a.csv"), ("--summary a.csv",)),
        ("o-probs", ("--probs", "p.csv", "-o", "p.csv"), ("-o p.csv", "--probs p.csv")),
        ("o-annotators-same", ("-o", "x.csv", "--annotators-out", "./x.csv"), ("name the same file",)),
        ("stdout-twice", ("-o", "-", "--summary", "-"), ("standard output",)),
        ("summary-dev-full", ("--summary", "/dev/full", "-q"), ("/dev/full",)),
    ]:
        add(
            Case(
                f"aggregate-output-{name}",
                ("aggregate", "a.csv", *extra),
                {"a.csv": ANNOTATIONS, "p.csv": ITEM_PROBS},
                needles=needles,
            )
        )

    for name, extra, start in [
        ("summary-dev-stdout-pipe", ("--summary", "/dev/stdout"), b"{"),
        ("report-dev-stdout-pipe", ("-o", "/dev/stdout", "--format", "csv"), b"row,"),
    ]:
        add(
            Case(
                f"output-{name}",
                ("scan", "d.csv", "-q", *extra),
                d,
                code=0,
                spawn=True,
                check=_stdout_is(start),
            )
        )

    # --- the other commands check their outputs the same way
    for name, argv in [
        ("render-o-report", ("render", "r.csv", "-o", "./r.csv")),
        ("render-o-data", ("render", "r.csv", "--data", "d.csv", "-o", "sub/../d.csv")),
        ("oof-o-data", ("oof", "d.csv", "-o", "./d.csv")),
    ]:
        add(
            Case(
                f"output-{name}",
                argv,
                {"r.csv": b"row,given_label\n0,a\n", "d.csv": GOOD},
                setup=_mkdir("sub"),
                needles=("refusing to overwrite an input",),
            )
        )

    # --- closed and full standard streams (really closed: a fresh process under sh)
    add(
        Case(
            "stream-stdout-full",
            ("scan", "d.csv", "--format", "csv"),
            d,
            stdout="full",
            spawn=True,
            needles=("standard output", "No space left"),
        )
    )
    add(
        Case(
            "stream-stdout-closed",
            ("scan", "d.csv", "--format", "csv"),
            d,
            stdout="closed",
            spawn=True,
            needles=("standard output",),
        )
    )
    add(
        Case(
            "stream-stdout-full-json",
            ("scan", "d.csv", "-o", "-", "--format", "json"),
            d,
            stdout="full",
            spawn=True,
            needles=("standard output",),
        )
    )
    add(
        Case(
            "stream-stdout-full-parquet",
            ("scan", "d.csv", "-o", "-", "--format", "parquet"),
            d,
            stdout="full",
            spawn=True,
            needles=("standard output",),
        )
    )
    add(
        Case(
            "stream-summary-stdout-full",
            ("scan", "d.csv", "--summary", "-", "-q"),
            d,
            stdout="full",
            spawn=True,
            needles=("standard output",),
        )
    )
    add(
        Case(
            "stream-aggregate-stdout-full",
            ("aggregate", "a.csv", "--format", "csv"),
            a,
            stdout="full",
            spawn=True,
            needles=("standard output",),
        )
    )
    add(Case("stream-stdin-closed", ("scan", "-"), stdin="closed", spawn=True, needles=("<stdin>", "closed")))
    add(
        Case(
            "stream-aggregate-stdin-closed",
            ("aggregate", "-"),
            stdin="closed",
            spawn=True,
            needles=("<stdin>",),
        )
    )
    add(
        Case(
            "stream-stdout-closed-unused",
            ("scan", "d.csv", "-o", "r.csv", "-q"),
            d,
            stdout="closed",
            spawn=True,
            code=0,
            written=("r.csv",),
        )
    )
    add(
        Case(
            "stream-version-stdout-full",
            ("--version",),
            stdout="full",
            spawn=True,
            needles=("standard output",),
        )
    )
    add(
        Case(
            "stream-table-stdout-full",
            ("scan", "d.csv", "-o", "-", "-q"),
            d,
            stdout="full",
            spawn=True,
            needles=("standard output",),
        )
    )
    return cases


CASES = _cases()
_RESULTS: dict[str, dict] = {}
_GROUP_SIZE = 32
_SETUP_NAMES = {"sub", "sub.csv", "hard.csv", "soft.csv", "link.csv"}
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _prepare(case: Case, root: Path) -> Path:
    directory = root / case.id
    directory.mkdir(parents=True)
    for name, content in case.files.items():
        (directory / name).write_bytes(content)
    if case.setup is not None:
        case.setup(directory)
    return directory


def _spawn(case: Case, directory: Path) -> dict:
    redirect = {"pipe": "", "closed": ">&-", "full": ">/dev/full"}[case.stdout]
    if case.stdin == "closed":
        redirect += " <&-"
    elif isinstance(case.stdin, str) and case.stdin.startswith("file:"):
        redirect += f" <{shlex.quote(case.stdin[5:])}"
    command = f'exec "$@" {redirect}'
    proc = subprocess.run(
        ["sh", "-c", command, "sh", sys.executable, "-m", "labelaudit", *case.argv],
        input=case.stdin if isinstance(case.stdin, bytes) else b"",
        stdout=subprocess.PIPE if case.stdout == "pipe" else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=directory,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"},
    )
    return {
        "code": proc.returncode,
        "stdout": base64.b64encode(proc.stdout or b"").decode(),
        "stderr": (proc.stderr or b"").decode("utf-8", "replace"),
    }


def _run_group(index: int, root: Path) -> None:
    """Run group ``index`` once per test session, whichever xdist worker asks first; load its results."""
    import fcntl

    results = root / f"group-{index}.results.json"
    with open(root / f"group-{index}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not results.exists():
            _execute_group(index, root)
            tmp = results.with_suffix(".partial")
            tmp.write_text(json.dumps({case.id: _RESULTS[case.id] for case in _group(index)}))
            tmp.rename(results)
    _RESULTS.update(json.loads(results.read_text()))


def _group(index: int) -> list[Case]:
    return CASES[index * _GROUP_SIZE : (index + 1) * _GROUP_SIZE]


def _execute_group(index: int, root: Path) -> None:
    group = _group(index)
    spawn_all = os.environ.get("LABELAUDIT_HOSTILE_SPAWN") == "1"
    forked = []
    for case in group:
        directory = _prepare(case, root)
        if case.spawn or spawn_all:
            _RESULTS[case.id] = _spawn(case, directory)
            continue
        stdin = None
        if isinstance(case.stdin, bytes):
            stdin = root / f"{case.id}.stdin"
            stdin.write_bytes(case.stdin)
        elif isinstance(case.stdin, str) and case.stdin.startswith("file:"):
            stdin = directory / case.stdin[5:]
        forked.append(
            {
                "id": case.id,
                "argv": list(case.argv),
                "cwd": str(directory),
                "stdin": str(stdin) if stdin else os.devnull,
                "stdout": str(root / f"{case.id}.out"),
                "stderr": str(root / f"{case.id}.err"),
            }
        )
    if not forked:
        return
    spec = root / f"group-{index}.json"
    spec.write_text(json.dumps(forked))
    subprocess.run(
        [sys.executable, __file__, str(spec)],
        check=True,
        timeout=600,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"},
    )
    for entry in forked:
        _RESULTS[entry["id"]] = {
            "code": json.loads((root / f"{entry['id']}.code").read_text()),
            "stdout": base64.b64encode(Path(entry["stdout"]).read_bytes()).decode(),
            "stderr": Path(entry["stderr"]).read_bytes().decode("utf-8", "replace"),
        }


@pytest.fixture(scope="module")
def cases_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for the session: under xdist, shared by the workers (each group runs once)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:
        return tmp_path_factory.mktemp("hostile")
    root = tmp_path_factory.getbasetemp().parent / f"hostile-{run}"
    root.mkdir(exist_ok=True)
    return root


def _param(index: int, case: Case):
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(index, case, id=case.id, marks=marks)


def test_enough_cases() -> None:
    assert len(CASES) >= 150
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize(("index", "case"), [_param(i, c) for i, c in enumerate(CASES)])
def test_hostile(index: int, case: Case, cases_root: Path) -> None:
    if case.id not in _RESULTS:
        _run_group(index // _GROUP_SIZE, cases_root)
    result = _RESULTS[case.id]
    directory = cases_root / case.id
    stderr = result["stderr"]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "Exception ignored" not in stderr, stderr[-3000:]
    assert result["code"] == case.code, (result["code"], stderr[-3000:])
    assert not _CONTROL.search(stderr), repr(stderr[:2000])  # raw control characters never reach stderr
    if case.code != 0:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1, stderr[-3000:]
        assert lines[0].startswith("labelaudit: error: "), lines[0]
        for needle in case.needles:
            assert needle in lines[0], (needle, lines[0])
        assert result["stdout"] == "" or case.stdout != "pipe", result["stdout"][:200]
    # inputs are byte-identical, nothing half-written is left
    for name, before in case.files.items():
        if name not in case.written:
            assert (directory / name).read_bytes() == before, f"{name} was modified"
    leftovers = [p.name for p in directory.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers, leftovers
    if case.code != 0:
        created = {p.name for p in directory.iterdir()} - set(case.files) - _SETUP_NAMES
        assert not created, f"a failed run wrote {created}"
    if case.check is not None:
        case.check(result, directory)


# --- the driver: run each case of a group in a forked child, through the real entry point ---------------


def _child(entry: dict) -> None:
    code = 99
    try:
        import signal

        signal.alarm(120)  # a case that hangs is killed, and fails
        os.chdir(entry["cwd"])
        err = os.open(entry["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(err, 2)
        out = os.open(entry["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        inp = os.open(entry["stdin"], os.O_RDONLY)
        os.dup2(inp, 0)
        for fd in (err, out, inp):
            os.close(fd)
        sys.argv = ["labelaudit", *entry["argv"]]
        from labelaudit.cli.app import run

        code = run(entry["argv"])
        for stream in (sys.stdout, sys.stderr):  # what the interpreter does at exit
            try:
                stream.flush()
            except Exception:
                os.write(2, b"Exception ignored while flushing at exit\n")
                code = 120
    except BaseException:
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        code = 98
    finally:
        os._exit(code)


_PRELOAD = (
    "labelaudit.cli.app",
    "pandas",
    "pyarrow.parquet",
    "numba",
    "rich.table",
    "labelaudit.io.readers",
    "labelaudit.io.writers",
    "labelaudit.report.table",
    "labelaudit.core.filter",
    "labelaudit.core.scores",
    "labelaudit.core.summary",
)


def _warm_up(directory: Path) -> None:
    """One small scan and aggregation in the driver: the children inherit the loaded numba kernels."""
    from labelaudit.cli.app import run

    warm = directory / "warm-up"
    warm.mkdir(exist_ok=True)
    (warm / "d.csv").write_bytes(GOOD)
    (warm / "a.csv").write_bytes(ANNOTATIONS)
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        run(["scan", str(warm / "d.csv"), "-q"])
        run(["aggregate", str(warm / "a.csv"), "-q"])
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)


def _drive(spec: Path) -> None:
    import importlib

    for name in _PRELOAD:  # imported once, before forking: a case pays only for its own work
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    _warm_up(spec.parent)

    for entry in json.loads(spec.read_text()):
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(entry)
        _, status = os.waitpid(pid, 0)
        Path(entry["stdout"]).with_suffix(".code").write_text(str(os.waitstatus_to_exitcode(status)))


if __name__ == "__main__":
    _drive(Path(sys.argv[1]))
