"""The stderr console: messages and tables go here, stdout carries data only."""

from __future__ import annotations

import os
import sys
from functools import lru_cache

from rich.console import Console


@lru_cache(maxsize=1)
def stderr_console() -> Console:
    console = Console(stderr=True, highlight=False, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # logs and CI artifacts: no terminal width to respect, so do not fold rows at 80 columns
        console = Console(stderr=True, highlight=False, soft_wrap=False, width=160)
    return console


def error(message: str) -> None:
    """One line on stderr, no traceback."""
    sys.stderr.write(f"labelaudit: error: {message}\n")
    sys.stderr.flush()


def warn(message: str) -> None:
    sys.stderr.write(f"labelaudit: warning: {message}\n")
    sys.stderr.flush()
