"""The one place where exceptions become messages and exit codes."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from labelaudit.cli.console import error, warn
from labelaudit.errors import EXIT_USAGE, LabelauditError, LabelauditWarning

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Run a command: LabelauditError -> one line and its exit code; warnings -> one line each."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        quiet = bool(kwargs.get("quiet", False))

        seen: set[str] = set()

        def show_warning(message, category, filename, lineno, file=None, line=None):
            # each API call validates its inputs again: say each thing once, in the CLI's words
            text = str(message).replace("normalize=True", "--normalize")
            if not quiet and issubclass(category, LabelauditWarning) and text not in seen:
                seen.add(text)
                warn(text)

        previous = warnings.showwarning
        warnings.showwarning = show_warning
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", LabelauditWarning)
                warnings.showwarning = show_warning
                return func(*args, **kwargs)
        except LabelauditError as exc:
            error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            # the reader of our stdout went away (`| head`): not an error of ours
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None
        except MemoryError:
            error("out of memory; try a smaller input")
            raise typer.Exit(EXIT_USAGE) from None
        finally:
            warnings.showwarning = previous

    return wrapper  # type: ignore[return-value]
