"""The root `rapport` typer app and the subcommand groups hung on it."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="rapport",
    help="Practise building rapport with realistic personas, and get graded on how you did.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # messages stay one line each, whatever the width


def table_console() -> Console:
    """Where tables go: the terminal at its width, or, when piped, one unwrapped line per row (for grep and cut)."""
    return out if out.is_terminal else Console(highlight=False, width=1000)


@app.callback()
def root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-line errors.")) -> None:
    """Rapport: conversational practice with personas that react to how you talk."""


# Subcommand modules register themselves on `app` when imported.
from . import chat, config_cmd, eval_cmd, evaluate, models, personas, sessions, ui, users  # noqa: E402,F401
from . import cards  # noqa: E402,F401  (registers `personas import` / `personas export`)
from . import voice_cmd  # noqa: E402,F401  (registers `transcribe` and `say`)
from . import cohorts  # noqa: E402,F401  (registers `cohorts` and `assign`)
