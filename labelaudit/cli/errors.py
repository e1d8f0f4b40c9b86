"""The one place where exceptions become messages and exit codes (the entry point, :func:`labelaudit.cli.app.run`,
catches what gets past this: parser errors and bugs)."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from labelaudit.cli.console import error, note, warn
from labelaudit.errors import EXIT_USAGE, LabelauditError, LabelauditWarning

F = TypeVar("F", bound=Callable[..., Any])

# numba compiles these modules' kernels on first use and caches them (in __pycache__ beside them)
_KERNEL_MODULES = frozenset(
    {"labelaudit.core.kernels", "labelaudit.core.multilabel_kernels", "labelaudit.core.aggregate._kernels"}
)
_compile_notice = {"armed": False, "said": False}


def _say_compiling() -> None:
    if not _compile_notice["said"]:
        _compile_notice["said"] = True
        note(
            "compiling the numba kernels on first use (about half a minute, once; later runs load them from the cache)"
        )


def _watch_kernel_imports(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: when a kernels module is first imported, listen for numba compiling (a cold cache)."""
    if event != "import" or not _compile_notice["armed"] or args[0] not in _KERNEL_MODULES:
        return
    _compile_notice["armed"] = False
    from numba.core import event as numba_event

    class _FirstCompile(numba_event.Listener):
        def on_start(self, event: Any) -> None:
            _say_compiling()

        def on_end(self, event: Any) -> None:
            pass

    numba_event.register("numba:compile", _FirstCompile())


def announce_kernel_compilation() -> None:
    """Say once on stderr (a terminal only) when numba compiles kernels: a cold cache costs about 25 s.

    numba raises its "numba:compile" event only when a kernel is not in its cache, so nothing is said
    on a warm cache, nor before the kernels are used (a usage error stays one line).
    """
    if sys.stderr is None or not sys.stderr.isatty() or _compile_notice["armed"] or _compile_notice["said"]:
        return
    if "labelaudit.core.kernels" in sys.modules and "numba" in sys.modules:
        return  # in-process use with kernels already loaded (tests, notebooks)
    _compile_notice["armed"] = True
    sys.addaudithook(_watch_kernel_imports)


def handle_errors(func: F) -> F:
    """Run a command: LabelauditError -> one line and its exit code; warnings -> one line each."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        quiet = bool(kwargs.get("quiet", False))
        if not quiet:
            announce_kernel_compilation()

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
            os.dup2(devnull, 1)
            raise typer.Exit(0) from None
        except MemoryError:
            error("out of memory; try a smaller input")
            raise typer.Exit(EXIT_USAGE) from None
        finally:
            warnings.showwarning = previous

    return wrapper  # type: ignore[return-value]
