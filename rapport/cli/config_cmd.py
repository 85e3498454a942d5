"""`rapport config`: every setting, its value (secrets hidden) and where it came from."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from simulator.errors import ConfigError

from .root import app, out, table_console

SET_OPTION = typer.Option(
    None, "--set", metavar="NAME=VALUE",
    help="Show the settings as they would be with this given on the command line, e.g. --set reader=judge (repeatable).",
)


@app.command("config")
def config(assignments: list[str] | None = SET_OPTION) -> None:
    """Show every setting, its value and its source: command line > environment > rapport.toml > defaults."""
    from simulator.settings import load, setting_for, settings

    overrides: dict[str, str] = {}
    for text in assignments or []:
        name, equals, value = text.partition("=")
        if not equals:
            raise ConfigError(f"--set {text[:60]!r}: use NAME=VALUE, e.g. --set reader=judge")
        overrides[setting_for(name.strip())] = value
    current = load(overrides) if overrides else settings()
    path = current.config_file
    where = str(path) if path else "none found (RAPPORT_CONFIG, ./rapport.toml or <RAPPORT_HOME>/rapport.toml)"
    out.print(f"rapport.toml: {where}", markup=False)
    table = Table("setting", "value", "source", box=None, pad_edge=False)
    for row in current.rows():
        table.add_row(*(Text(cell) for cell in row))  # values and file names are shown literally, never as markup
    table_console().print(table)
