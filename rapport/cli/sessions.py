"""`rapport sessions`: list, show, export, import and delete stored sessions."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from .root import app, err, out, table_console

sessions_app = typer.Typer(help="Stored practice sessions: list, show, export, import, delete.", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")


def _store():
    from simulator.store import SessionStore

    return SessionStore()


STATUS = {"learner_ended": "ended", "turn_limit": "turn limit", "persona_ended": "they left",
          "success": "success", "failure": "failure"}


@sessions_app.command("list")
def list_sessions(
    learner: str | None = typer.Option(None, help="Only this learner's sessions."),
    persona: str | None = typer.Option(None, help="Only sessions with this persona."),
    limit: int = typer.Option(50, help="At most this many, newest first."),
) -> None:
    """List stored sessions, newest first; unfinished ones can be resumed with `rapport chat --resume ID`."""
    sessions = _store().list(learner, persona, limit)
    console = table_console()
    # Drop what says least when the terminal is narrow; the id, which you type next, is never cut.
    show_learner = console.width >= 100 or len({s.learner_id for s in sessions}) > 1
    table = Table(box=None, pad_edge=False)
    columns = ["id", "started", *(["learner"] if show_learner else []), "persona", "level", "turns", "status", "overall"]
    for name in columns:
        table.add_column(name, no_wrap=name != "persona", overflow="fold")
    for s in sessions:
        status = STATUS.get(s.end_reason, s.end_reason) if s.end_reason else "[yellow]unfinished[/]"
        overall = f"{s.overall:.1f}" if s.overall is not None else ""
        table.add_row(s.id[:12], s.started_at.strftime("%Y-%m-%d %H:%M"), *([s.learner_id] if show_learner else []),
                      s.persona_id, s.difficulty, str(s.turns), status, overall)
    console.print(table)


@sessions_app.command("show")
def show(session_id: str = typer.Argument(..., help="Session id (a unique prefix is enough).")) -> None:
    """Print a session: the transcript, how trust moved, and its scores."""
    exported = _store().export(session_id)
    meta = exported.session
    out.print(f"[bold]{exported.persona_spec['name']}[/] — {meta['difficulty']} — started {meta['started_at'][:16]}"
              f" — {meta.get('end_detail') or 'unfinished'}")
    trust = {a["turn"]: a["after"]["trust"] for a in exported.trajectory}
    for index, turn in enumerate(exported.turns):
        who = exported.persona_spec["name"] if turn.speaker.value == "persona" else "You"
        suffix = f"  [dim](trust {trust[index]:.0f})[/]" if index in trust else ""
        out.print(f"[bold]{who}:[/] {turn.text}" + suffix, highlight=False)
    for card in exported.scorecards:
        scores = ", ".join(f"{k} {v['score']:.1f}" for k, v in card["data"]["criteria"].items())
        out.print(f"\n[bold]Scorecard ({card['source']})[/]: overall {card['data']['overall']:.1f} — {scores}")


@sessions_app.command("export")
def export(
    session_id: str = typer.Argument(...),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write here instead of stdout."),
) -> None:
    """Export a session as JSON (it is also a transcript file for `rapport judge`)."""
    text = _store().export(session_id).model_dump_json(indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {output}")


@sessions_app.command("import")
def import_(
    path: Path = typer.Argument(..., help="A file written by `rapport sessions export`."),
    force: bool = typer.Option(False, "--force", help="Replace a stored session with the same id."),
) -> None:
    """Import an exported session."""
    from pydantic import ValidationError

    from simulator.errors import DataFileError
    from simulator.store import SessionExport

    try:
        exported = SessionExport.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFileError.single(path, None, "<file>", f"not a session export: {exc}") from None
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        raise DataFileError.single(path, None, ".".join(map(str, error["loc"])) or "<root>", error["msg"]) from None
    typer.echo(_store().import_(exported, replace=force))


@sessions_app.command("delete")
def delete(
    session_id: str = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a stored session, with its scores and the memories it left."""
    store = _store()
    summary = store.export(session_id)
    if not yes and not typer.confirm(f"Delete session {summary.session['id']} with {summary.persona_spec['name']}?",
                                     err=True):
        raise typer.Exit(1)
    sid = store.delete(session_id)
    err.print(f"deleted {sid}")
