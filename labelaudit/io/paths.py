"""Which files a command reads and writes: outputs never overwrite an input, each other, or share stdout.

Every command calls :func:`check_paths` with all of its inputs and outputs before it reads any data.
Files are compared by what they are, not by how they are spelled: an existing file by its device and
inode (so ``./a.csv``, ``a.csv``, a hard link and a symlink to it are one file), a new file by its
normalised real path (so ``out/x.csv`` and ``./out//x.csv`` are one file). ``-`` is standard input or
output; a path that names the same file as standard output (``/dev/stdout``, or the file stdout is
redirected to) counts as standard output. The null device may take any number of outputs.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from labelaudit.errors import OutputError, UsageError

STDIO = "-"
_GLOB_CHARS = ("*", "?", "[")


@dataclass(frozen=True)
class _File:
    """What a path names: ("inode", dev, ino) for an existing file, ("path", real path) for a new one."""

    key: tuple[object, ...]
    kind: str  # "file", "new", "fifo", "char", "stdout", "null", "other"


def _stat_identity(st: os.stat_result) -> tuple[object, ...]:
    return ("inode", st.st_dev, st.st_ino)


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode):
        return "char"
    return "other"


def _null_identity() -> tuple[object, ...] | None:
    try:
        return _stat_identity(os.stat(os.devnull))
    except OSError:
        return None


def _stdout_identity() -> tuple[object, ...]:
    try:
        return _stat_identity(os.fstat(1))
    except OSError:  # stdout is closed: still one destination
        return ("stdout",)


def _output_file(path: str) -> _File:
    """The file an output path names (following symlinks); standard output for ``-``."""
    null = _null_identity()
    stdout = _stdout_identity()
    if path == STDIO:
        return _File(stdout, "null" if stdout == null else "stdout")
    try:
        st = os.stat(path)
    except OSError:
        real = os.path.normpath(os.path.realpath(os.path.abspath(path)))
        return _File(("path", real), "new")
    key = _stat_identity(st)
    if key == null:
        return _File(key, "null")
    if key == stdout:
        return _File(key, "stdout")
    return _File(key, _kind(st.st_mode))


def _input_files(path: str) -> list[tuple[object, ...]]:
    """The identities of every existing file an input reads (a glob or a directory reads several)."""
    if path == STDIO:
        try:
            st = os.fstat(0)
        except OSError:
            return []
        # a terminal or pipe on stdin is no file an output could overwrite; a redirected file is
        return [_stat_identity(st)] if stat.S_ISREG(st.st_mode) else []
    paths: list[str]
    if os.path.isdir(path):
        paths = [os.path.join(root, name) for root, _, names in os.walk(path) for name in names]
    elif not os.path.exists(path) and any(c in path for c in _GLOB_CHARS):
        paths = glob.glob(path, recursive=True)
    else:
        paths = [path]
    identities = []
    for name in paths:
        try:
            st = os.stat(name)
        except OSError:
            continue  # missing inputs are the reader's error, with its own message
        if not stat.S_ISCHR(st.st_mode):  # /dev/stdin on a terminal is not a file outputs could clobber
            identities.append(_stat_identity(st))
    return identities


def _spell(option: str, path: str) -> str:
    return f"{option} {'- (standard output)' if path == STDIO else path}"


def check_paths(
    inputs: Sequence[tuple[str, str | None]],
    outputs: Sequence[tuple[str, str | None]],
) -> None:
    """Refuse, before any work, outputs that would overwrite an input or another output.

    ``inputs`` and ``outputs`` are ``(option, path)`` pairs such as ``("DATA", "d.csv")`` or
    ``("--html", "report.html")``; ``None`` paths are skipped, ``-`` is standard input or output.
    Raises :class:`UsageError` naming both options, or :class:`OutputError` when an output cannot be
    written (missing directory, a directory, a block device, no permission).
    """
    read: dict[tuple[object, ...], tuple[str, str]] = {}
    for option, path in inputs:
        if path is None:
            continue
        for identity in _input_files(path):
            read.setdefault(identity, (option, path))
    written: dict[tuple[object, ...], tuple[str, str, _File]] = {}
    for option, path in outputs:
        if path is None:
            continue
        target = _output_file(path)
        if target.kind == "null":
            continue
        if target.key in read:
            in_option, in_path = read[target.key]
            raise UsageError(
                f"{_spell(option, path)} is the same file as {_spell(in_option, in_path)}: "
                "refusing to overwrite an input"
            )
        if target.key in written:
            first_option, first_path, first = written[target.key]
            if target.kind == "stdout" or first.kind == "stdout":
                raise UsageError(
                    f"{_spell(first_option, first_path)} and {_spell(option, path)} both go to standard "
                    "output: at most one output may"
                )
            raise UsageError(
                f"{_spell(first_option, first_path)} and {_spell(option, path)} name the same file"
            )
        written[target.key] = (option, path, target)
        if path != STDIO:
            check_writable(path)


def write_target(path: str | os.PathLike[str]) -> tuple[Path, str]:
    """Where writing ``path`` really goes and how: ``(target, "atomic" | "stream")``.

    A symlink is followed to its final target, which is replaced atomically (the link stays). Regular
    files and new paths are written atomically; a FIFO or a character device (a terminal, ``/dev/null``,
    ``/dev/full``) is written straight into, since it cannot be replaced. Anything else is refused.
    """
    given = Path(path)
    try:
        st = os.stat(given)  # follows symlinks, /dev/stdout and /proc/self/fd/N included
    except FileNotFoundError:
        # a new file, or a dangling symlink: create what it points to
        return (Path(os.path.realpath(given)) if given.is_symlink() else given), "atomic"
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path}: is a directory, expected a file name")
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
        return given, "stream"  # opened through the link: a pipe behind /dev/stdout has no other name
    if stat.S_ISREG(st.st_mode):
        if not given.is_symlink():
            return given, "atomic"
        real = Path(os.path.realpath(given))
        try:
            same = os.path.samestat(os.stat(real), st)
        except OSError:
            same = False
        # a link to a named file: replace that file; to an unnamed one (a deleted file open on a descriptor): write into it
        return (real, "atomic") if same else (given, "stream")
    kind = "a block device" if stat.S_ISBLK(st.st_mode) else "a socket or other special file"
    raise OutputError(f"{path}: is {kind}; reports go to regular files, FIFOs or character devices")


def check_writable(path: str | os.PathLike[str]) -> None:
    """Fail early, before any work, when ``path`` cannot be written (missing directory, a directory ...)."""
    target, how = write_target(path)
    if how == "stream":
        if not os.access(target, os.W_OK):
            raise OutputError(f"{path}: is not writable")
        return
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: directory {parent} is not writable")
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(f"{path}: is read-only; refusing to replace it")
