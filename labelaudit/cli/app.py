"""The `labelaudit` command. Heavy imports (numpy, numba, pandas) happen inside the commands."""

from __future__ import annotations

import typer

from labelaudit import __version__
from labelaudit.cli import aggregate as aggregate_command
from labelaudit.cli import oof as oof_command
from labelaudit.cli import render as render_command
from labelaudit.cli import scan as scan_command

app = typer.Typer(
    name="labelaudit",
    help="Find wrong labels in datasets from out-of-fold predicted probabilities.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"labelaudit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Find wrong labels in datasets from out-of-fold predicted probabilities."""


app.command("scan")(scan_command.scan)
app.command("aggregate")(aggregate_command.aggregate)
app.command("oof")(oof_command.oof)
app.command("render")(render_command.render)


def main() -> None:
    app()
