"""The stderr console: messages and tables go here, stdout carries data only.

Everything printed here may hold user strings (labels, ids, column and file names): the console parses
no rich markup and no emoji codes, and every message has its control characters escaped, so a label
can neither restyle, hide, nor retitle or clear the user's terminal.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from typing import Any

from rich.console import Console
from rich.text import Text

from labelaudit.report.terminal import printable


class SafeConsole(Console):
    """A rich console for text that holds user strings: no markup, no emoji codes, control characters shown.

    Every plain string it renders (a message, a table cell or title given as ``str``) has its control
    characters escaped first, newlines included (labelaudit prints one line at a time); :class:`rich.text.Text` objects are the caller's to escape
    (:func:`labelaudit.report.terminal.printable`).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(highlight=False, soft_wrap=False, markup=False, emoji=False, **options)

    def render_str(self, text: str, **kwargs: Any) -> Text:  # type: ignore[override]
        kwargs["markup"] = False
        kwargs["emoji"] = False
        return super().render_str(printable(text), **kwargs)


@lru_cache(maxsize=1)
def stderr_console() -> Console:
    console = SafeConsole(stderr=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # logs and CI artifacts: no terminal width to respect, so do not fold rows at 80 columns
        console = SafeConsole(stderr=True, width=160)
    return console


def _line(prefix: str, message: str) -> None:
    stream = sys.stderr
    if stream is None:  # started with stderr closed: the exit code is all that is left
        return
    try:
        stream.write(f"labelaudit: {prefix}{printable(message)}\n")
        stream.flush()
    except (OSError, ValueError):
        pass


def error(message: str) -> None:
    """One line on stderr, no traceback; control characters (newlines included) are escaped."""
    _line("error: ", message)


def warn(message: str) -> None:
    _line("warning: ", message)


def note(message: str) -> None:
    _line("", message)
