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
    """Base class of every error labelaudit raises on purpose."""

    exit_code: int = EXIT_USAGE


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
