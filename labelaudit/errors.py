"""The labelaudit exception tree and the exit code each maps to.

    LabelauditError                 exit 2   base class; never raised itself
    ├── InputError (ValueError)     exit 2   the data is unusable: a file, column, row or value is wrong
    │   ├── InputFileError          exit 2   a file is missing, a directory, empty or unreadable
    │   ├── ColumnError             exit 2   a required column is missing or has the wrong type
    │   └── InvalidProbabilitiesError  exit 2  probabilities are NaN/inf, negative, logits, out of [0, 1]
    ├── UsageError                  exit 2   options contradict each other or name unknown values
    ├── ConfigError                 exit 2   a configuration or baseline file is wrong
    ├── OutputError                 exit 2   an output cannot be written: disk full, closed stream, unwritable
    └── GateFailed                  exit 1   the data was read fine, but findings exceed a threshold

    LabelauditWarning (UserWarning)          something looks off but a result is still produced

The library raises these; only ``labelaudit.cli`` turns them into messages and exit codes.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = (
    70  # a bug in labelaudit (sysexits' EX_SOFTWARE): never 1, which CI reads as "the gate failed"
)


class LabelauditError(Exception):
    """Base class of every error labelaudit raises on purpose.

    Errors about data carry where the problem is as attributes, not only in the text: ``source`` (a file name,
    ``<stdin>``, ``<DataFrame>``), ``column`` and ``row`` (0-based, in the whole input). ``detail`` is what is
    wrong there. ``str(error)`` puts them together in one line: ``source: column 'c' row 7: detail``.
    """

    exit_code: int = EXIT_USAGE

    def __init__(
        self,
        detail: str = "",
        *,
        source: str | None = None,
        column: str | None = None,
        row: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail, self.source, self.column, self.row = detail, source, column, row

    def __str__(self) -> str:
        where = []
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        prefix = f"{self.source}: " if self.source is not None else ""
        location = f"{' '.join(where)}: " if where else ""
        return f"{prefix}{location}{self.detail}"

    def at(self, *, source: str | None = None, row_offset: int = 0) -> LabelauditError:
        """The same error located in a larger input: another source, or rows counted from ``row_offset``."""
        moved = type(self)(
            self.detail,
            source=self.source if source is None else source,
            column=self.column,
            row=None if self.row is None else self.row + row_offset,
        )
        moved.__dict__.update({k: v for k, v in self.__dict__.items() if k not in ("source", "row")})
        return moved


class InputError(LabelauditError, ValueError):
    """The input data cannot be used as given."""


class InputFileError(InputError):
    """A file is missing, is a directory, is empty, or cannot be parsed."""


class ColumnError(InputError):
    """A required column is missing, or holds values of the wrong kind."""


class InvalidProbabilitiesError(InputError):
    """Predicted probabilities are not probabilities (NaN, inf, negative, logits, outside [0, 1])."""


class UsageError(LabelauditError, ValueError):
    """Options or parameters that contradict each other or name unknown values."""


class ConfigError(LabelauditError):
    """A configuration or baseline file is invalid."""


class OutputError(LabelauditError):
    """An output cannot be written (disk full, closed stream, unwritable target); the old file is kept."""


class GateFailed(LabelauditError):
    """The quality gate failed: the data was read, but findings exceed the configured thresholds."""

    exit_code = EXIT_GATE_FAILED


class LabelauditWarning(UserWarning):
    """Something looks off (for example rows that do not sum to 1), but a result is still produced."""
