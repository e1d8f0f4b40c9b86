"""`labelaudit aggregate` (being built: issue 5)."""

from __future__ import annotations

import typer


def aggregate(data: str = typer.Argument(..., help="Annotations file.")) -> None:
    """Consensus labels and annotator quality from several annotators."""
    raise typer.Exit(2)
