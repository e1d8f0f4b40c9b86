"""Configuration files: ``[tool.labelaudit]`` in pyproject.toml, or ``labelaudit.toml``.

Where settings come from, lowest precedence first:

1. labelaudit's defaults;
2. the first configuration found walking up from the current directory: in each directory
   ``labelaudit.toml`` (its top level), else ``pyproject.toml`` if it has a ``[tool.labelaudit]`` table;
3. ``--config FILE`` (either kind of file);
4. the command line's flags.

Top-level keys are ``scan`` settings; the ``aggregate`` table holds ``aggregate``'s. Keys are the long
option names with or without the dashes (``max-issue-rate`` or ``max_issue_rate``). Paths (``baseline``,
``junit``) are relative to the file's directory. An unknown key or a value of the wrong type is a
:class:`~labelaudit.errors.ConfigError` naming the file and the key (exit 2).

.. code-block:: toml

    [tool.labelaudit]
    label-col = "label"
    id-col = "id"
    max-issue-rate = 0.05
    max-class-noise = { cat = 0.1, dog = 0.15 }
    baseline = ".labelaudit-baseline.parquet"

    [tool.labelaudit.aggregate]
    min-consensus-quality = 0.8
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelaudit.errors import ConfigError

CONFIG_NAMES = ("labelaudit.toml", "pyproject.toml")

_STR, _INT, _FLOAT, _BOOL, _PATH, _CLASS_LIMITS = (
    "text",
    "integer",
    "number",
    "true or false",
    "path",
    "table",
)

#: Every setting a file may hold: name -> kind. The names are the commands' parameter names.
SCAN_SETTINGS: dict[str, str] = {
    "label_col": _STR,
    "prob_cols": _STR,
    "id_col": _STR,
    "input_format": _STR,
    "method": _STR,
    "score": _STR,
    "compat": _STR,
    "frac_noise": _FLOAT,
    "normalize": _BOOL,
    "multi_label": _BOOL,
    "label_sep": _STR,
    "label_cols": _STR,
    "pooling": _STR,
    "engine": _STR,
    "chunk_rows": _INT,
    "top": _INT,
    "sort": _STR,
    "issues_only": _BOOL,
    "keep_cols": _STR,
    "logits": _STR,
    "color": _STR,
    "max_issues": _INT,
    "max_issue_rate": _FLOAT,
    "min_health": _FLOAT,
    "max_class_noise": _CLASS_LIMITS,
    "baseline": _PATH,
    "exit_zero": _BOOL,
    "junit": _PATH,
}
AGGREGATE_SETTINGS: dict[str, str] = {
    "item_col": _STR,
    "annotator_col": _STR,
    "label_col": _STR,
    "method": _STR,
    "seed": _INT,
    "top": _INT,
    "color": _STR,
    "min_consensus_quality": _FLOAT,
    "min_annotator_quality": _FLOAT,
    "max_low_agreement_rate": _FLOAT,
    "exit_zero": _BOOL,
    "junit": _PATH,
}
COMMAND_SETTINGS = {"scan": SCAN_SETTINGS, "aggregate": AGGREGATE_SETTINGS}


@dataclass
class Settings:
    """The settings of one command from configuration files, and where each came from."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def find_config(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The first ``labelaudit.toml``, or ``pyproject.toml`` with ``[tool.labelaudit]``, from ``start`` upward."""
    here = Path(start if start is not None else os.getcwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "labelaudit.toml"
        if candidate.is_file():
            return candidate
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and "labelaudit" in _load(candidate).get("tool", {}):
            return candidate
    return None


def _load(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _table(path: Path) -> dict[str, Any]:
    """The labelaudit table of a file: ``[tool.labelaudit]`` of a pyproject.toml, else the whole file."""
    document = _load(path)
    if path.name == "pyproject.toml":
        table = document.get("tool", {}).get("labelaudit")
        if table is None:
            raise ConfigError(f"{path}: no [tool.labelaudit] table")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: tool.labelaudit must be a table")
        return table
    return document


def _prefix(path: Path) -> str:
    return "tool.labelaudit." if path.name == "pyproject.toml" else ""


def _value(path: Path, key: str, kind: str, value: Any) -> Any:
    def bad() -> ConfigError:
        return ConfigError(f"{path}: {key}: expected {'a ' if kind != _INT else 'an '}{kind}, not {value!r}")

    if kind in (_STR, _PATH):
        if not isinstance(value, str):
            raise bad()
        return str(path.parent / value) if kind == _PATH and value not in ("-",) else value
    if kind == _BOOL:
        if not isinstance(value, bool):
            raise bad()
        return value
    if kind == _INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        if value < 0:
            raise ConfigError(f"{path}: {key}: must be at least 0, not {value}")
        return value
    if kind == _FLOAT:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise bad()
        return float(value)
    if kind == _CLASS_LIMITS:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: {key}: expected a table of class = share, not {value!r}")
        out = {}
        for name, share in value.items():
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
                raise ConfigError(f"{path}: {key}.{name}: expected a share in [0, 1], not {share!r}")
            out[str(name)] = float(share)
        return out
    raise AssertionError(kind)  # pragma: no cover


def read_settings(path: Path, command: str) -> dict[str, Any]:
    """The checked settings of ``command`` in one file (unknown keys and wrong types are errors)."""
    table = _table(path)
    prefix = _prefix(path)
    if command == "aggregate":
        table = table.get("aggregate", {})
        prefix += "aggregate."
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {prefix[:-1]} must be a table")
    known = COMMAND_SETTINGS[command]
    out = {}
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        if command == "scan" and key == "aggregate" and isinstance(value, dict):
            continue  # aggregate's own table
        if key not in known:
            raise ConfigError(
                f"{path}: unknown key {prefix}{raw_key} (known: {', '.join(k.replace('_', '-') for k in known)})"
            )
        out[key] = _value(path, f"{prefix}{raw_key}", known[key], value)
    return out


def load_settings(command: str, config: str | None = None, start: str | None = None) -> Settings:
    """The settings of ``command`` from the file found upward from ``start``, then from ``config``."""
    settings = Settings()
    layers: list[tuple[Path, str]] = []
    found = find_config(start)
    if found is not None:
        layers.append((found, str(found)))
    if config is not None:
        path = Path(config)
        if not path.is_file():
            raise ConfigError(f"{config}: configuration file not found")
        layers.append((path, f"--config {config}"))
    for path, source in layers:
        for other in COMMAND_SETTINGS:  # a mistake anywhere in the file is named, whichever command runs
            if other != command:
                read_settings(path, other)
        for key, value in read_settings(path, command).items():
            settings.values[key] = value
            settings.sources[key] = source
        settings.files.append(str(path))
    return settings
