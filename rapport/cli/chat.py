"""`rapport chat`: role-play with a persona in the terminal."""

from __future__ import annotations

import typer
from rich.live import Live
from rich.text import Text

from simulator.errors import ModelError, SessionError
from simulator.models import chat_model_for
from simulator.persona import Difficulty, PersonaLibrary
from simulator.session import Delta, ReplyDone, Reset, Session

from .root import app, err, out

HELP = "Commands: /undo (take back your last message), /retry (after an error), /restart, /end, /help"


@app.command("chat")
def chat(
    persona_id: str | None = typer.Argument(None, help="Persona id (see `rapport personas list`)."),
    difficulty: Difficulty = typer.Option(Difficulty.MEDIUM, help="easy, medium or hard."),
    model: str | None = typer.Option(None, help="Persona model, e.g. openai:gpt-4o-mini or embedded (default: configured)."),
    max_turns: int = typer.Option(40, min=1, help="End after this many of your messages."),
    resume: str | None = typer.Option(None, "--resume", help="Continue a stored, unfinished session (see `rapport sessions list`)."),
    learner: str | None = typer.Option(None, "--learner", help="Your name, for history and memory (default: RAPPORT_LEARNER or 'local')."),
    save: bool = typer.Option(True, "--save/--no-save", help="Store the session as it happens (default) or not."),
) -> None:
    """Role-play with PERSONA_ID in the terminal; every turn is stored as it happens."""
    import asyncio

    from rapport.service import Practice, default_learner

    learner = learner or default_learner()
    spec, chat_model = chat_model_for("persona", model)
    practice = Practice() if save else None
    run = None  # the stored practice run; None with --no-save
    if resume:
        if practice is None:
            raise SessionError("--resume needs the session store; drop --no-save")
        if model is not None and practice.is_attempt(resume, learner):
            raise SessionError("an assessed attempt is played by the configured persona model; drop --model")
        run = practice.resume(resume, chat_model, learner=learner, model_spec=spec)
        session = run.session
    elif persona_id is None:
        raise SessionError("name a persona (see `rapport personas list`) or --resume a session")
    else:
        persona = PersonaLibrary().get(persona_id)
        if practice is None:
            session = Session(persona, chat_model, difficulty=difficulty, max_turns=max_turns, model_spec=spec)
        else:
            run = practice.start(persona, chat_model, learner=learner, difficulty=difficulty.value,
                                 model_spec=spec, max_turns=max_turns)
            session = run.session
    persona = session.persona
    difficulty = session.difficulty
    s = persona.scenario
    out.print(f"[bold]{persona.name}[/] — {persona.role}  ([dim]{difficulty.value}, model {spec.label}[/])")
    out.print(f"[bold]Your role:[/] {s.learner_role}", markup=True)
    out.print(f"[bold]Brief:[/] {s.learner_brief}")
    out.print(f"[bold]Goal:[/] {s.learner_goal}")
    out.print(f"[dim]{HELP}[/]")
    if run is not None:
        remembered = run.remembered
        note = f"; {persona.short_name} remembers {remembered} thing(s) from earlier sessions" if remembered else ""
        out.print(f"[dim]Session {session.id[:12]} is saved as you go{note}.[/]")
    out.print()
    for turn in session.turns:
        _say(persona.name if turn.speaker.value == "persona" else s.learner_label, turn.text)
    if session.awaiting_reply:
        out.print("[dim](your last message has no reply yet: type /retry)[/]")
    while not session.ended:
        try:
            line = out.input(f"[bold cyan]{s.learner_label}:[/] ")
        except EOFError:
            session.end()
            break
        command = line.strip().lower()
        if command in ("/end", "/quit", "/exit"):
            session.end()
        elif command == "/help":
            out.print(f"[dim]{HELP}[/]")
        elif command in ("/undo", "/restart") and (refused := session.why_cannot_rewind()) is not None:
            err.print(refused, markup=False)  # an assessed attempt: the conversation goes on as it stands
        elif command == "/undo":
            out.print("[dim](last exchange removed)[/]" if session.undo() else "[dim](nothing to undo)[/]")
        elif command == "/restart":
            session.restart()
            _say(persona.name, session.turns[0].text)
        elif command == "/retry":
            _stream(session, None)
        else:
            _stream(session, line)
    out.print(f"\n[dim]Conversation over: {session.ending.detail}.[/]")
    if run is not None:
        graded = asyncio.run(practice.finish(run))
        card = graded.scorecard
        scores = ", ".join(f"{k.replace('_', ' ')} {v.score:.1f}" for k, v in card.criteria.items())
        out.print(f"[bold]Scorecard ({card.source})[/]: overall {card.overall:.1f} — {scores}")
        for item in card.improvements:
            out.print(f"[dim]Turn {item.turn}: instead of “{item.original}”, try “{item.better}”[/]")
        out.print(f"[dim]Saved: rapport sessions show {session.id[:12]}[/]")
    if session.trajectory:
        from rich.markdown import Markdown

        from simulator.trajectory import trajectory_markdown

        out.print(Markdown("## How the relationship moved\n" + trajectory_markdown(session.trajectory_points(), persona)))


def _say(name: str, text: str) -> None:
    out.print(Text.assemble((f"{name}: ", "bold magenta"), text))


def _stream(session: Session, text: str | None) -> None:
    """Show the reply as it streams, then the committed version; errors keep your message for /retry."""
    name = session.persona.name
    shown = Text.assemble((f"{name}: ", "bold magenta"))
    try:
        events = session.send_sync(text) if text is not None else session.retry_sync()
        with Live(shown, console=out, refresh_per_second=20, transient=True) as live:
            for event in events:
                if isinstance(event, Delta):
                    shown.append(event.text)
                elif isinstance(event, Reset):
                    shown = Text.assemble((f"{name}: ", "bold magenta"))
                elif isinstance(event, ReplyDone):
                    shown = Text.assemble((f"{name}: ", "bold magenta"), event.turn.text)
                live.update(shown)
        out.print(shown)
    except ModelError as exc:
        err.print(f"error: {exc}", markup=False)
        err.print("Your message is kept. Type /retry to try again, or /undo to take it back.")
    except SessionError as exc:
        err.print(f"{exc}", markup=False)
