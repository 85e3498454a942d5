"""The UI's seams: every tab builder returns `TabParts`; the chat panel refuses a message for the session's reason."""

from __future__ import annotations

import asyncio
import inspect
import re
import threading

import gradio as gr
import pytest

from simulator.config import ModelSpec
from simulator.errors import ModelError, SessionError
from simulator.models import ScriptedChatModel
from simulator.session import Session


def fake_persona_model(**kwargs):
    from rapport.ui import PersonaModel

    persona_model = PersonaModel(ModelSpec(provider="fake"))
    persona_model.model = ScriptedChatModel(**({"replies": ["Go on."]} | kwargs))
    return persona_model


def test_every_tab_builder_returns_tab_parts(library):
    from rapport.ui.app import TABS, build_app
    from rapport.ui.context import AppContext, LibraryHolder
    from rapport.ui.tabs import AppStates, TabParts

    assert [spec.id for spec in TABS] == ["practice", "history", "studio", "trainer", "reports", "settings"]
    ctx = AppContext(LibraryHolder(library), fake_persona_model())
    with gr.Blocks():
        states = AppStates(gr.State(0), gr.State(None), gr.State(None))
        for spec in TABS:
            with gr.Tab(spec.label, id=spec.id):
                parts = spec.build(ctx, states)
            assert isinstance(parts, TabParts), spec.id
            assert (parts.on_select is None) == (not parts.select_outputs), spec.id
    # And the app wires each tab's `on_select` to its tab's select event.
    demo = build_app(library, fake_persona_model())
    selected = {f.fn.__name__ for f in demo.fns.values() if any(event == "select" for _, event in f.targets)}
    assert {"load", "source_choices", "listing"} <= selected


def test_a_builder_that_returns_something_else_fails_when_the_app_is_built(library):
    from rapport.ui.context import AppContext, LibraryHolder
    from rapport.ui.tabs import AppStates, TabSpec, build_tab

    ctx = AppContext(LibraryHolder(library), fake_persona_model())
    with gr.Blocks(), gr.Tabs():
        states = AppStates(gr.State(0), gr.State(None), gr.State(None))
        with pytest.raises(TypeError, match="'odd' tab builder returned tuple, not TabParts"):
            build_tab(TabSpec("odd", "Odd", lambda ctx, s: (gr.Button(), gr.Button())), ctx, states)


def _send_refusal(session: Session, text: str) -> str | None:
    try:
        _run(_drain(session.send(text)))
    except SessionError as exc:
        return str(exc)
    return None


def _run(coroutine):
    """Run a coroutine on its own loop in a thread: the browser tests' Playwright keeps a loop on this thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _drain(events) -> None:
    async for _ in events:
        pass


def _shown(status: str) -> str:
    """A Markdown status line as the learner reads it (escapes removed)."""
    return re.sub(r"\\(.)", r"\1", status)


def test_the_chat_panel_refuses_a_message_for_the_sessions_reason(library):
    from rapport.ui import build_app
    from rapport.ui.chat_panel import outbox

    demo = build_app(library, fake_persona_model())
    on_accept = next(f.fn for f in demo.fns.values() if f.fn.__name__ == "on_accept")
    persona = library.get("procurement-skeptic")

    def panel_status(session: Session, text: str) -> tuple[bool, str]:
        taken, _chat, status, *_ = _run(on_accept(text, session, False))
        return taken == "", _shown(status)

    def same_reason(session: Session, text: str) -> None:
        reason = session.why_cannot_send(text)
        assert reason is not None
        taken, status = panel_status(session, text)
        assert not taken and status == reason[:1].upper() + reason[1:] + "."
        assert _send_refusal(session, text) == reason

    empty = Session(persona, ScriptedChatModel(replies=["Ok."]), dynamics=False)
    same_reason(empty, "   ")

    ended = Session(persona, ScriptedChatModel(replies=["Ok."]), dynamics=False)
    ended.end()
    same_reason(ended, "hello again")
    outbox(ended).replying = True  # a reply streaming does not make an ended session take messages
    same_reason(ended, "hello again")

    failed = Session(persona, ScriptedChatModel(replies=["Ok."], fail_with=[RuntimeError("connection reset")]),
                     dynamics=False)
    with pytest.raises(ModelError, match="connection reset"):
        _run(_drain(failed.send("What matters most to you?")))
    assert failed.awaiting_reply
    same_reason(failed, "another message")

    # While a reply streams the last message has no reply yet either, but the panel queues the new one behind it:
    # the session's rule, asked for a queued message, agrees.
    streaming = Session(persona, ScriptedChatModel(replies=["Ok."], fail_with=[RuntimeError("x")]), dynamics=False)
    with pytest.raises(ModelError):
        _run(_drain(streaming.send("first")))
    outbox(streaming).replying = True
    assert streaming.why_cannot_send("second", queued=True) is None
    taken, _status = panel_status(streaming, "second")
    assert taken and outbox(streaming).queued == ["second"]

    fresh = Session(persona, ScriptedChatModel(replies=["Ok."]), dynamics=False)
    assert fresh.why_cannot_send("hello") is None and panel_status(fresh, "hello")[0]


class _SlowStore:
    """A session listener whose commits take a while, as a store on a slow disk does."""

    def __init__(self, gate: threading.Event):
        self.gate = gate
        self.threads: list[str] = []

    def _commit(self) -> None:
        self.threads.append(threading.current_thread().name)
        assert self.gate.wait(5), "the test never released the commit"

    def turn_added(self, session, index):
        self._commit()

    def turns_removed(self, session, first_removed):
        self._commit()

    def ended(self, session):
        self._commit()


@pytest.mark.parametrize("button, waiting", [("undo", "Wait for the undo to finish first."),
                                             ("restart", "Wait for the restart to finish first."),
                                             ("end", "Wait until the session has ended.")])
def test_undo_restart_and_end_commit_off_the_event_loop_and_refuse_messages_meanwhile(library, button, waiting):
    """While the store commits an undo, restart or end, other learners' replies keep streaming (the loop is free),
    and a message typed meanwhile is refused with the text left in the box, never queued and then dropped."""
    from rapport.ui import build_app
    from rapport.ui.chat_panel import outbox

    demo = build_app(library, fake_persona_model())
    handlers = {f.fn.__name__: f.fn for f in demo.fns.values() if f.fn is not None}
    # The studio's "try it" chat: the same panel as practice, without grading at the end.
    command = next(f.fn for f in demo.fns.values() if f.api_name == f"studio_{button}")
    persona = library.get("procurement-skeptic")
    session = Session(persona, ScriptedChatModel(replies=["Fair enough."]), dynamics=False)
    _run(_drain(session.send("What went wrong last time?")))
    gate = threading.Event()
    store = _SlowStore(gate)
    session.listeners.append(store)

    async def scenario():
        loop_thread = threading.current_thread().name
        extra = (None,) if button == "end" else ()  # End also takes the request (for the learner's name)
        running = asyncio.ensure_future(_finish(command(session, False, *extra)))
        ticks = 0
        while not store.threads:  # the commit has started...
            await asyncio.sleep(0.001)
        for _ in range(5):  # ...and the loop still runs other work while it waits on the disk
            await asyncio.sleep(0.001)
            ticks += 1
        taken, _chat, status, *_ = await handlers["on_accept"]("are you still there?", session, False)
        queued = list(outbox(session).queued)
        gate.set()
        await running
        return loop_thread, ticks, taken, _shown(status), queued

    loop_thread, ticks, taken, status, queued = _run(scenario())
    assert ticks == 5 and store.threads and loop_thread not in store.threads
    assert taken != "" and status == waiting and queued == []
    assert outbox(session).busy is None
    if button == "end":
        assert session.ended
    elif button == "undo":
        assert [t.text for t in session.turns] == [persona.opening_line.strip()]
    else:
        assert len(session.turns) == 1 and not session.ended
    if not session.ended:  # once committed, messages are taken again
        assert _run(handlers["on_accept"]("hello again", session, False))[0] == ""


async def _finish(result):
    """A handler's last update, whether it is a coroutine or an async generator."""
    if inspect.isasyncgen(result):
        last = None
        async for last in result:
            pass
        return last
    return await result
