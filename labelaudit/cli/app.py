"""The `labelaudit` command. Heavy imports (numpy, numba, pandas) happen inside the commands.

:func:`main` is the entry point and the last line of defence: whatever happens, the user gets one line
on stderr and an exit code from the documented table, never a traceback and never 1 for anything but
a failed gate.

==== ===========================================================================================
code meaning
==== ===========================================================================================
0    ran; the gate (if any) passed
1    ran, but the gate failed
2    usage, input, configuration or output error (:mod:`labelaudit.errors`), or a parser error
70   internal error: a bug in labelaudit (``EX_SOFTWARE`` of sysexits.h)
130  interrupted (Ctrl-C)
==== ===========================================================================================
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

import typer

from labelaudit import __version__
from labelaudit.cli import aggregate as aggregate_command
from labelaudit.cli import baseline as baseline_command
from labelaudit.cli import config as config_command
from labelaudit.cli import oof as oof_command
from labelaudit.cli import render as render_command
from labelaudit.cli import scan as scan_command
from labelaudit.cli.console import error
from labelaudit.cli.help import GroupedCommand
from labelaudit.errors import EXIT_INTERNAL, EXIT_USAGE, LabelauditError, OutputError

EXIT_INTERRUPTED = 130
REPORT_BUGS = (
    "please report it to the labelaudit maintainers with the command line and `labelaudit --version`"
)

app = typer.Typer(
    name="labelaudit",
    help="Find wrong labels in datasets from out-of-fold predicted probabilities.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"labelaudit {__version__}")
        except BrokenPipeError:
            raise
        except (OSError, AttributeError, ValueError) as exc:  # full, or closed (sys.stdout is None)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it is closed"
            raise OutputError(f"standard output: cannot write: {reason}") from None
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Find wrong labels in datasets from out-of-fold predicted probabilities."""


app.command("scan", cls=GroupedCommand)(scan_command.scan)
app.command("aggregate")(aggregate_command.aggregate)
app.command("oof")(oof_command.oof)
app.command("render")(render_command.render)
app.command("baseline")(baseline_command.baseline)
app.add_typer(config_command.config_app, name="config")


def _usage_message(exc: typer.TyperException) -> str:
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        return f"{message} (see '{ctx.command_path} --help')"
    return message


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return its exit code."""
    try:
        result = app(
            args=list(argv) if argv is not None else None, prog_name="labelaudit", standalone_mode=False
        )
    except typer.TyperException as exc:  # typer's parser: unknown options, missing values, wrong types
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # `labelaudit` alone: the help is the answer
            return EXIT_USAGE
        error(_usage_message(exc))
        return EXIT_USAGE
    except LabelauditError as exc:  # raised outside a command (an option callback)
        _discard_stdout()
        error(str(exc))
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout went away (`| head`): not an error of ours
        _discard_stdout()
        return 0
    except OSError as exc:  # the system refused a read or write the code did not expect to fail
        _discard_stdout()
        where = f"{exc.filename}: " if exc.filename else ""
        error(f"{where}{exc.strerror or exc}")
        return EXIT_USAGE
    except Exception as exc:  # a bug: one line and a code CI cannot mistake for a failed gate
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        error_internal(detail)
        return EXIT_INTERNAL
    code = result if isinstance(result, int) else 0
    try:  # what is still buffered for stdout: a full or closed stdout is an error, not a traceback at exit
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()
    except (OSError, ValueError) as exc:
        _discard_stdout()
        error(f"standard output: cannot write: {getattr(exc, 'strerror', None) or exc}")
        return EXIT_USAGE
    return code


def _discard_stdout() -> None:
    """Point fd 1 at the null device, so that the interpreter's last flush cannot fail again."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)


def error_internal(detail: str) -> None:
    """The one line of an unexpected exception."""
    from labelaudit.cli.console import note

    note(f"internal error: {detail}; {REPORT_BUGS}")


def main() -> None:
    sys.exit(run())
