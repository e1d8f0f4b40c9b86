"""Every command and option is documented, and --help is fast (no heavy imports)."""

from __future__ import annotations

import subprocess
import sys

import typer.main

from labelaudit.cli.app import app
from tests.conftest import run_cli


def test_every_command_and_option_has_help() -> None:
    group = typer.main.get_command(app)
    assert set(group.commands) >= {"scan", "aggregate"}
    for name, command in group.commands.items():
        assert (command.help or "").strip(), f"command {name} has no help"
        for param in command.params:
            if param.param_type_name == "option":
                assert (getattr(param, "help", "") or "").strip(), f"{name} {param.opts} has no help"


def test_help_does_not_import_numba_or_pandas() -> None:
    code = (
        "import sys\n"
        "from labelaudit.cli.app import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('numba', 'pandas', 'pyarrow', 'sklearn') if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "HEAVY:"


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("labelaudit ")
