"""`rapport users add NAME --role ...` and `rapport users list`: the optional login of the browser app
(RAPPORT_AUTH names the users file)."""

from __future__ import annotations

from pathlib import Path

import typer

from simulator.roles import UserRole

from .root import app, err

users_app = typer.Typer(help="Users of the browser app's optional login.", no_args_is_help=True)
app.add_typer(users_app, name="users")

FILE_OPTION = typer.Option(None, "--file", help="Users file (default: RAPPORT_AUTH).")


def _users_file(file: Path | None) -> Path:
    from simulator.errors import ConfigError

    from simulator.settings import settings

    path = file or settings().auth
    if path is None:
        raise ConfigError("name the users file with --file or RAPPORT_AUTH")
    return path.expanduser()


@users_app.command("add")
def add(
    name: str = typer.Argument(..., help="The user's login name: letters, digits, '.', '_', '@' or '-'."),
    role: UserRole | None = typer.Option(
        None, "--role", help="learner (the default for a new user), trainer or admin; an existing user keeps theirs."
    ),
    file: Path | None = FILE_OPTION,
) -> None:
    """Add a user (or change their password and role); the password is stored only as a salted hash."""
    from rapport.ui.auth import validate_user_name, write_user

    path = _users_file(file)
    validate_user_name(name)  # before asking for a password
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    record = write_user(path, name, password, role)
    err.print(f"{name} ({record.role.value}) can now log in; start the app with RAPPORT_AUTH={path}", markup=False)


@users_app.command("list")
def list_users(file: Path | None = FILE_OPTION) -> None:
    """The users and their roles (never their password hashes)."""
    from rapport.ui.auth import read_users

    users = read_users(_users_file(file))
    if not users:
        err.print("No users yet: add one with `rapport users add NAME`.", markup=False)
    for name, record in sorted(users.items()):
        typer.echo(f"{name}\t{record.role.value}")  # tab-separated, for cut and awk
