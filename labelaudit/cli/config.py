"""`labelaudit config show`, and what scan and aggregate share: configuration under the flags, the gate's outputs.

Precedence, lowest first: defaults, the configuration found upward from the current directory,
``--config FILE``, the flags (:mod:`labelaudit.pipeline.config`).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import typer

from labelaudit.cli.errors import handle_errors

EXIT_CODES_HELP = (
    "Exit codes: 0 passed, 1 gate failed, 2 usage, input or configuration error, 70 internal error."
)

config_app = typer.Typer(
    help="Show the configuration labelaudit would use here.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def configured(ctx: typer.Context, command: str, config: str | None) -> dict[str, Any]:
    """The configuration's values for the parameters the command line left at their defaults."""
    from labelaudit.pipeline.config import load_settings

    settings = load_settings(command, config)
    out = {}
    for key, value in settings.values.items():
        source = ctx.get_parameter_source(key)
        # compared by name: typer may bring its own copy of click's ParameterSource
        if source is None or getattr(source, "name", "") in ("DEFAULT", "DEFAULT_MAP"):
            out[key] = value
    return out


COLOR_CHOICES = ("auto", "always", "never")


def apply_color(color: str) -> None:
    """``--color``: auto (colour on a terminal unless NO_COLOR is set), always, never.

    Set before the stderr console is first made (rich reads NO_COLOR and FORCE_COLOR when it is).
    """
    from labelaudit.errors import UsageError

    if color not in COLOR_CHOICES:
        raise UsageError(f"--color must be one of {', '.join(COLOR_CHOICES)}, not {color!r}")
    if color == "never":
        os.environ["NO_COLOR"] = "1"
        os.environ.pop("FORCE_COLOR", None)
    elif color == "always":
        os.environ.pop("NO_COLOR", None)
        os.environ["FORCE_COLOR"] = "1"


@contextlib.contextmanager
def working(what: str, *, quiet: bool) -> Iterator[None]:
    """A spinner with the elapsed time on stderr while ``what`` runs: on a terminal only, never with --quiet."""
    import sys

    if quiet or sys.stderr is None or not sys.stderr.isatty():
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from labelaudit.cli.console import stderr_console
    from labelaudit.report.terminal import printable

    columns = (SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn())
    with Progress(*columns, console=stderr_console(), transient=True) as progress:
        progress.add_task(printable(what), total=None)
        yield


def finish_gate(
    gate: Any,
    *,
    command: str,
    quiet: bool,
    github: bool,
    junit: str | None,
    source: str | None,
    started: float,
) -> None:
    """Show the gate (table on stderr, GitHub annotations on stdout, step summary, JUnit) and raise on failure."""
    from labelaudit.errors import GateFailed

    block = gate.as_dict() if gate is not None else {"passed": True, "checks": [], "failures": []}
    if junit is not None:
        from labelaudit.io.writers import write_text
        from labelaudit.report.ci import junit_xml

        write_text(junit_xml(block, command=command, elapsed=time.perf_counter() - started), junit)
    if github:
        from labelaudit.report.ci import github_annotations, step_summary

        typer.echo(github_annotations(block, file=source if source and source != "-" else None), nl=False)
        summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary_file and gate is not None:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(step_summary(block, command=command, source=source))
    if gate is not None and not quiet:
        from labelaudit.cli.console import stderr_console
        from labelaudit.report.ci import baseline_lines, gate_table

        console = stderr_console()
        console.print(gate_table(block))
        for line in baseline_lines(block):
            console.print(line)
    if gate is not None and gate.fails_the_run:
        raise GateFailed("gate failed: " + "; ".join(gate.failures))


def _defaults(command: str) -> dict[str, Any]:
    """The command's own defaults, from its parameters."""
    import typer.main

    from labelaudit.cli.app import app

    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    out = {}
    for param in click_command.params:
        default = param.default
        if isinstance(default, list | tuple) and not default:
            default = None
        out[param.name] = None if callable(default) else default
    return out


@config_app.command("show")
@handle_errors
def show(
    config: str | None = typer.Option(
        None, "--config", help="A configuration file read after the one found."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (setting -> value and source)."),
) -> None:
    """Print the settings from configuration files for scan and aggregate, and where each came from."""
    from labelaudit.pipeline.config import COMMAND_SETTINGS, find_config, load_settings

    found = find_config()
    document: dict[str, Any] = {"found": str(found) if found else None, "config": config, "commands": {}}
    for command, known in COMMAND_SETTINGS.items():
        settings = load_settings(command, config)
        defaults = _defaults(command)
        document["commands"][command] = {
            key: (
                {"value": settings.values[key], "source": settings.sources[key]}
                if key in settings.values
                else {"value": defaults.get(key), "source": "default"}
            )
            for key in sorted(known)
        }
    if as_json:
        typer.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    lines = [f"# configuration found: {document['found'] or 'none'}"]
    if config:
        lines.append(f"# --config: {config}")
    for command, values in document["commands"].items():
        lines.append(f"[{command}]")
        for key, entry in values.items():
            lines.append(f"{key.replace('_', '-')} = {json.dumps(entry['value'])}   # {entry['source']}")
    typer.echo("\n".join(lines))
