"""What every scan engine receives, what it returns, and the one table of what each engine supports.

An engine runs the single-label confident-learning passes (thresholds, confident joint, scoring, pruning)
over the data and returns per-row arrays; the pipeline turns them into the report. The engines differ only
in how they iterate over the data:

=========  =====================================================================================
memory     the whole table and probability matrix in memory (every capability)
stream     a CSV/TSV/Parquet file read ``chunk_rows`` rows at a time, once per pass
dask       Parquet partitions (a file's row groups, a directory or a glob) mapped with dask
=========  =====================================================================================

:data:`CAPABILITIES` says which options each engine supports; :func:`check_supported` is the only place
that refuses an unsupported combination, with one message naming the engine and the option.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from labelaudit.errors import LabelauditError, LabelauditWarning, UsageError

ENGINES = ("auto", "memory", "stream", "dask")
ENGINE_ALIASES = {"local": "memory", "streaming": "stream"}
COMPAT_MODES = ("paper", "cleanlab")
#: stands for the rules the streaming passes implement (``labelaudit.core.streaming.STREAMING_FILTERS``;
#: the low_* rules need a global sort of the scores)
STREAMING_METHODS = "streaming"


@dataclass(frozen=True)
class Capabilities:
    """What an engine supports; ``None`` means every value."""

    multi_label: bool
    probs_file: bool
    stdin: bool
    methods: tuple[str, ...] | str | None
    compat: tuple[str, ...]
    formats: tuple[str, ...] | None


CAPABILITIES: dict[str, Capabilities] = {
    "memory": Capabilities(
        multi_label=True, probs_file=True, stdin=True, methods=None, compat=COMPAT_MODES, formats=None
    ),
    "stream": Capabilities(
        multi_label=False,
        probs_file=False,
        stdin=False,
        methods=STREAMING_METHODS,
        compat=("paper",),
        formats=("csv", "tsv", "parquet"),
    ),
    "dask": Capabilities(
        multi_label=False,
        probs_file=False,
        stdin=False,
        methods=STREAMING_METHODS,
        compat=("paper",),
        formats=("parquet",),
    ),
}


def capability_rows() -> list[tuple[str, ...]]:
    """The capability table as rows of text (docs/engines.md holds the same table; a test compares them)."""

    def cell(caps: Capabilities, field: str) -> str:
        value = getattr(caps, field)
        if field == "methods":
            return "every rule" if value is None else "the streaming rules"
        if field == "formats":
            return "every format" if value is None else ", ".join(value)
        if field == "compat":
            return ", ".join(value)
        return "yes" if value else "no"

    names = (
        ("multi-label", "multi_label"),
        ("`--probs` file", "probs_file"),
        ("standard input", "stdin"),
        ("`--method`", "methods"),
        ("`--compat`", "compat"),
        ("input formats", "formats"),
    )
    return [
        (label, *(cell(CAPABILITIES[e], field) for e in ("memory", "stream", "dask")))
        for label, field in names
    ]


def canonical_engine(name: str) -> str:
    """The engine's name (``local`` and ``streaming`` are accepted spellings of ``memory`` and ``stream``)."""
    engine = ENGINE_ALIASES.get(name, name)
    if engine not in ENGINES:
        raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, not {name!r}")
    return engine


@dataclass(frozen=True)
class ScanOptions:
    """Every setting of a scan; the CLI and :func:`labelaudit.scan` build one, the engines read it."""

    data: str
    label_col: str = "label"
    prob_cols: str = "p_*"
    probs: Any = None  # a path, or an N x K array given to the API
    id_col: str | None = None
    classes: list[str] | None = None
    input_format: str | None = None
    method: str = ""  # the pipeline puts the default rule of the core here
    score: str = ""  # the pipeline puts the default score of the core here
    compat: str = "paper"
    frac_noise: float = 1.0
    normalize: bool = False
    multi_label: bool = False
    label_sep: str = ","
    label_cols: str | None = None
    pooling: str = "ema"


@dataclass
class RowResults:
    """Per-row arrays of a single-label scan (row order of the input) and the data set summary."""

    labels: Any  # int64 (N,)
    suggested: Any  # int64 (N,)
    quality: Any  # float (N,)
    issues: Any  # bool (N,)
    class_names: list[str]
    ids: Any | None
    summary: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    error_probability: Any = None  # float64 (N,): p(the given label is wrong), labelaudit.core.posterior


@contextlib.contextmanager
def located(source: str, *, errors: tuple[type[Exception], ...] = (ValueError,)) -> Iterator[None]:
    """Run core code on one input: its warnings are said once, naming ``source``; so are its errors (the
    source becomes the error's ``source`` field, the rest of the error is kept)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LabelauditWarning)
        try:
            yield
        except errors as exc:
            if isinstance(exc, LabelauditError) and exc.source is None:
                raise exc.at(source=source) from None
            raise type(exc)(f"{source}: {exc}") from None
    for warning in caught:
        if issubclass(warning.category, LabelauditWarning):
            warnings.warn(f"{source}: {warning.message}", LabelauditWarning, stacklevel=3)


def check_supported(engine: str, opts: ScanOptions, fmt: str | None) -> None:
    """Refuse, from :data:`CAPABILITIES`, an option the engine does not support."""
    caps = CAPABILITIES[engine]
    flag = {"stream": "--engine stream (--chunk-rows)", "dask": "--engine dask"}.get(
        engine, f"--engine {engine}"
    )

    def refuse(what: str) -> None:
        raise UsageError(f"{flag} does not support {what}; use --engine memory")

    if opts.multi_label and not caps.multi_label:
        refuse("--multi-label")
    if opts.probs is not None and not caps.probs_file:
        refuse("--probs (it reads the probabilities from the table's columns)")
    if opts.data == "-" and not caps.stdin:
        refuse("standard input (every pass re-reads the file)")
    methods = caps.methods
    if methods == STREAMING_METHODS:
        from labelaudit.core.streaming import STREAMING_FILTERS

        methods = STREAMING_FILTERS
    if methods is not None and not opts.multi_label and opts.method not in methods:
        refuse(f"--method {opts.method}")
    if opts.compat not in caps.compat:
        refuse(f"--compat {opts.compat}")
    if caps.formats is not None and fmt is not None and fmt not in caps.formats:
        refuse(f"{fmt} input (it reads {', '.join(caps.formats)})")
