"""Plain-text ``--help`` with the options in groups (input, method, output, gate), as typer's rich help does.

The CLI's help is click's plain text (no rich markup is parsed anywhere in labelaudit's terminal output),
which ignores typer's ``rich_help_panel``; :class:`GroupedCommand` honours it.
"""

from __future__ import annotations

import click
from typer.core import TyperCommand


class GroupedCommand(TyperCommand):
    """A command whose options are listed under their ``rich_help_panel`` ("Input options", ...)."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        args: list[tuple[str, str]] = []
        groups: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                args.append(record)
            else:
                panel = getattr(param, "rich_help_panel", None) or "Other"
                groups.setdefault(panel, []).append(record)
        if args:
            with formatter.section("Arguments"):
                formatter.write_dl(args)
        for panel, records in groups.items():
            with formatter.section(f"{panel} options"):
                formatter.write_dl(records)
