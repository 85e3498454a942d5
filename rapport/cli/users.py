"""`rapport users add NAME`: the optional login of the browser app (RAPPORT_AUTH names the users file)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from .root import app, err

users_app = typer.Typer(help="Users of the browser app's optional login.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def add(
    name: str = typer.Argument(..., help="The user's login name."),
    file: Path | None = typer.Option(None, "--file", help="Users file (default: RAPPORT_AUTH)."),
) -> None:
    """Add a user (or change their password); the password is stored only as a salted hash."""
    from rapport.ui.auth import write_user
    from simulator.errors import ConfigError

    path = file or (Path(os.environ["RAPPORT_AUTH"]) if os.environ.get("RAPPORT_AUTH") else None)
    if path is None:
        raise ConfigError("name the users file with --file or RAPPORT_AUTH")
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    write_user(path.expanduser(), name, password)
    err.print(f"{name} can now log in; start the app with RAPPORT_AUTH={path}")
