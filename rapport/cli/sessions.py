"""`rapport sessions`: list, show, export, import and delete stored sessions."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .root import app, err, out, table_console

sessions_app = typer.Typer(help="Stored practice sessions: list, show, export, import, delete, and kept recordings.",
                           no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")


def _store():
    from simulator.store import SessionStore

    return SessionStore()


# The CLI acts as the machine's learner; an operator names another one explicitly. The store answers only for
# that learner's sessions.
LEARNER_HELP = "Act on this learner's sessions (default: RAPPORT_LEARNER or 'local')."


def _learner(name: str | None) -> str:
    from rapport.service import default_learner

    return name or default_learner()


MAX_EXPORT_BYTES = 20 * 1024 * 1024  # a long session with its persona and every appraisal; far above any real one


@sessions_app.command("list")
def list_sessions(
    learner: str | None = typer.Option(None, help=LEARNER_HELP),
    all_learners: bool = typer.Option(False, "--all-learners", help="Every learner's sessions (for the operator)."),
    persona: str | None = typer.Option(None, help="Only sessions with this persona."),
    limit: int = typer.Option(50, help="At most this many, newest first."),
) -> None:
    """List stored sessions, newest first; unfinished ones can be resumed with `rapport chat --resume ID`."""
    from simulator.record import END_WORDS

    sessions = _store().list(learner_id=None if all_learners else _learner(learner), persona_id=persona, limit=limit)
    console = table_console()
    # Drop what says least when the terminal is narrow; the id, which you type next, is never cut.
    show_learner = console.width >= 100 or len({s.learner_id for s in sessions}) > 1
    table = Table(box=None, pad_edge=False)
    columns = ["id", "started", *(["learner"] if show_learner else []), "persona", "level", "turns", "status", "overall"]
    for name in columns:
        table.add_column(name, no_wrap=name != "persona", overflow="fold")
    for s in sessions:
        status = END_WORDS.get(s.end_reason, s.end_reason) if s.end_reason else "[yellow]unfinished[/]"
        overall = f"{s.overall:.1f}" if s.overall is not None else ""
        table.add_row(s.id[:12], s.started_at.strftime("%Y-%m-%d %H:%M"), *([s.learner_id] if show_learner else []),
                      s.persona_id, s.difficulty, str(s.turns), status, overall)
    console.print(table)


@sessions_app.command("show")
def show(
    session_id: str = typer.Argument(..., help="Session id (a unique prefix is enough)."),
    learner: str | None = typer.Option(None, help=LEARNER_HELP),
) -> None:
    """Print a session: the transcript, how trust moved, and its scores."""
    from rich.markup import escape

    exported = _store().export(session_id, learner_id=_learner(learner))
    meta = exported.session
    out.print(f"[bold]{exported.persona_spec.name}[/] — {meta.difficulty.value} — started {meta.started_at:%Y-%m-%d %H:%M}"
              f" — {meta.end_detail or 'unfinished'}")
    trust = {a.turn: a.after.trust for a in exported.trajectory}
    for index, turn in enumerate(exported.turns):
        who = exported.persona_spec.name if turn.speaker.value == "persona" else "You"
        suffix = f"  [dim](trust {trust[index]:.0f})[/]" if index in trust else ""
        if turn.delivery is not None:
            kept = ", recording kept" if turn.delivery.audio_kept else ""
            suffix += f"  [dim](spoken, {turn.delivery.words_per_minute or 0:.0f} words/min{kept})[/]"
        out.print(f"[dim]{index:>3}[/] [bold]{who}:[/] {escape(turn.text)}" + suffix, highlight=False)
    for card in exported.scorecards:
        scores = ", ".join(f"{k} {v['score']:.1f}" for k, v in card.data["criteria"].items())
        out.print(f"\n[bold]Scorecard ({card.source})[/]: overall {card.data['overall']:.1f} — {scores}")


@sessions_app.command("export")
def export(
    session_id: str = typer.Argument(...),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write here instead of stdout (folders are created)."),
    learner: str | None = typer.Option(None, help=LEARNER_HELP),
) -> None:
    """Export a session as JSON (it is also a transcript file for `rapport judge`)."""
    from simulator.errors import RapportError

    text = _store().export(session_id, learner_id=_learner(learner)).model_dump_json(indent=2)
    if output is None:
        typer.echo(text)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise RapportError(f"cannot write {output}: {exc.strerror or exc}") from None
    err.print(f"wrote {output}")


@sessions_app.command("recording")
def recording(
    session_id: str = typer.Argument(...),
    turn: int = typer.Argument(..., min=0, max=100_000, help="The turn's number, as `rapport sessions show` numbers them."),
    output: Path = typer.Option(..., "-o", "--output", help="The WAV file to write."),
    learner: str | None = typer.Option(None, help=LEARNER_HELP),
) -> None:
    """Write a spoken turn's recording to a WAV file (kept only when the learner ticked Keep my recordings)."""
    from simulator.errors import RapportError

    wav = _store().audio(session_id, turn, learner_id=_learner(learner))
    if wav is None:
        raise RapportError(f"turn {turn} of session {session_id} has no kept recording")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(wav)
    except OSError as exc:
        raise RapportError(f"cannot write {output}: {exc.strerror or exc}") from None
    err.print(f"wrote {output}")


@sessions_app.command("import")
def import_(
    path: Path = typer.Argument(..., help="A file written by `rapport sessions export`."),
    force: bool = typer.Option(False, "--force", help="Replace a stored session with the same id."),
    learner: str | None = typer.Option(None, help="Import as this learner's session (default: RAPPORT_LEARNER or 'local')."),
) -> None:
    """Import an exported session as your own; the whole file is checked before anything is stored."""
    from pydantic import ValidationError

    from evals.scorecard import Scorecard
    from simulator.data_files import read_json_file
    from simulator.errors import DataFileError
    from simulator.store import SessionExport
    from simulator.store.exports import UnstorableTextError

    def refuse(exc: ValidationError, prefix: tuple = ()) -> DataFileError:
        error = exc.errors(include_url=False)[0]
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, UnstorableTextError):  # found by a walk over the whole file: it knows the field
            return DataFileError.single(path, None, cause.field, str(cause))
        field = ".".join(map(str, (*prefix, *error["loc"]))) or "<root>"
        return DataFileError.single(path, None, field, " ".join(error["msg"].split()))

    data = read_json_file(path, limit=MAX_EXPORT_BYTES)
    try:
        exported = SessionExport.model_validate(data)
    except ValidationError as exc:
        raise refuse(exc) from None
    for index, card in enumerate(exported.scorecards):  # the shape every scorecard view reads back
        try:
            Scorecard.model_validate({**card.data, "source": card.source})
        except ValidationError as exc:
            raise refuse(exc, ("scorecards", index, "data")) from None
    typer.echo(_store().import_(exported, learner_id=_learner(learner), replace=force))


@sessions_app.command("delete")
def delete(
    session_id: str = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    learner: str | None = typer.Option(None, help=LEARNER_HELP),
) -> None:
    """Delete a stored session, with its scores and the memories it left."""
    store = _store()
    learner_id = _learner(learner)
    summary = store.summary(session_id, learner_id=learner_id)  # not an export: a damaged session can be deleted
    if not yes and not typer.confirm(f"Delete session {summary.id} with {summary.persona_name}?", err=True):
        raise typer.Exit(1)
    sid = store.delete(summary.id, learner_id=learner_id)
    err.print(f"deleted {sid}")
