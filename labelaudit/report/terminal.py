"""What may reach a terminal: user strings (labels, ids, column and file names) with control characters shown.

A label such as ``ESC ]0;title BEL`` or ``ESC [2J`` would retitle or clear the user's terminal, a newline
would break a one-line message, and bidirectional overrides would reorder what is shown. Each such
character is shown as its Python escape (``\\x1b``, ``\\n``, ``\\u202e``) instead. Rich markup is the
other half: the tables hold :class:`rich.text.Text` cells and the CLI's console parses no markup or
emoji codes, so ``[red]b`` and ``[link=...]`` are shown as written.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``str(text)`` with every control character (C0, DEL, C1, line separators, bidi controls) escaped."""
    value = str(text)
    if _CONTROL.search(value) is None:
        return value
    return _CONTROL.sub(_escape, value)
