"""The stored session apart from the live one (issue 15, items 3 and 5).

A `SessionRecord` is what the store loads and saves; a live `Session` wraps one with a model and a reader.
Showing a stored session builds no model; the app keeps its own state in a `PracticeRun`, never on the session;
the store's commits run off the event loop, in order, the learner's turn before the model is called.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from rapport.service import Practice
from simulator.models import ScriptedChatModel
from simulator.record import SessionRecord
from simulator.session import Session
from simulator.store import SessionStore
from simulator.store.database import dispose_all

LINES = ["What went wrong with Veritrack, from where you sat?", "That sounds exhausting. What would you need this time?"]
CARD = {"overall": 3.5, "criteria": {}}


@pytest.fixture
def store():
    yield SessionStore()
    dispose_all()


def conversation(store: SessionStore, library, learner: str = "ana") -> Session:
    session = Session(library.get("procurement-skeptic"), ScriptedChatModel(respond=lambda m: "Go on."))
    store.record(session, learner)
    for line in LINES:
        list(session.send_sync(line))
    return session


def refuse_models(monkeypatch) -> None:
    """From here on, building any model, reader model or live session fails the test."""
    import simulator.model_reading
    import simulator.models

    def refuse(*args, **kwargs):
        raise AssertionError("a model or a live session was built to show a stored session")

    monkeypatch.setattr(simulator.models, "build_chat_model", refuse)
    monkeypatch.setattr(simulator.model_reading, "live_reader", refuse)
    monkeypatch.setattr(ScriptedChatModel, "__init__", refuse)
    monkeypatch.setattr(Session, "__init__", refuse)
    monkeypatch.setattr(Session, "from_record", refuse)


def test_a_record_round_trips_through_the_store(store, library):
    session = conversation(store, library)
    session.end()
    store.save_scorecard(session.id, "offline", CARD, learner_id="ana")
    loaded = store.load_record(session.id[:8], learner_id="ana")
    assert isinstance(loaded, SessionRecord)
    live = session.record
    assert loaded.id == live.id and loaded.learner_id == live.learner_id == "ana"
    assert loaded.persona == live.persona and loaded.difficulty == live.difficulty
    assert loaded.turns == live.turns and loaded.trajectory == live.trajectory and len(loaded.trajectory) == 2
    assert loaded.ending == live.ending and loaded.started_at == live.started_at
    assert [(c.source, c.data) for c in loaded.scorecards] == [("offline", CARD)]
    assert loaded.trajectory_points() == session.trajectory_points() and loaded.unlocked == session.unlocked


def test_history_and_export_of_a_stored_session_build_no_model(store, library, monkeypatch):
    from evals.scorecard import Scorecard
    from rapport.ui.history import stored_graded
    from rapport.ui.scorecard_view import download_files, scorecard_html

    session = conversation(store, library)
    session.end()
    card = Scorecard.model_validate({**CARD, "source": "offline"}).contract()
    store.save_scorecard(session.id, "offline", card, learner_id="ana")
    refuse_models(monkeypatch)
    record = store.load_record(session.id, learner_id="ana")  # what the history tab reads
    graded = stored_graded([c.data for c in record.scorecards])
    html = scorecard_html(record, graded)
    assert "Scorecard" in html and "What went wrong with Veritrack" in html
    assert len(download_files(record, graded)) == 3
    assert store.export(session.id, learner_id="ana").turns == record.turns


def test_history_tab_source_builds_no_model():
    from pathlib import Path

    import rapport.ui.history as history

    source = Path(history.__file__).read_text(encoding="utf-8")
    assert "ScriptedChatModel" not in source and ".store.load(" not in source


def test_resuming_wraps_the_stored_record(store, library):
    session = conversation(store, library)
    resumed = store.load(session.id, ScriptedChatModel(respond=lambda m: "Fine."), learner_id="ana")
    assert isinstance(resumed.record, SessionRecord) and resumed.record.id == session.id
    assert resumed.dynamics.trajectory is resumed.record.trajectory  # one state: the record's
    assert resumed.state == session.state
    store.record(resumed, "ana")
    list(resumed.send_sync("What matters most to your operations team?"))
    assert len(resumed.record.turns) == 7 and len(resumed.record.trajectory) == 3
    again = store.load_record(session.id, learner_id="ana")
    assert again.turns == resumed.record.turns and again.trajectory == resumed.record.trajectory


def test_restart_and_undo_change_the_record_in_place(store, library):
    session = conversation(store, library)
    record = session.record
    session.undo()
    assert len(record.turns) == 3 and len(record.trajectory) == 1
    session.restart()
    assert session.record is record and len(record.turns) == 1 and record.trajectory == []
    assert store.load_record(session.id, learner_id="ana").turns == record.turns


def test_the_app_keeps_its_state_in_a_practice_run_not_on_the_session(store, library):
    from rapport.ui.context import OFFLINE_JUDGE, AppContext

    practice = Practice(store)
    run = practice.start(library.get("procurement-skeptic"), ScriptedChatModel(respond=lambda m: "Go on."),
                         learner="ana", judge_choice=OFFLINE_JUDGE)
    session = run.session
    assert practice.run_of(session).state is run.state and run.learner == "ana"
    with pytest.raises(AttributeError):
        session.judge_choice = OFFLINE_JUDGE  # slots: nothing can be patched onto the engine
    own = set(Session.__slots__)
    for line in LINES:
        list(session.send_sync(line))
    session.end()
    ctx = AppContext(holder=None, persona_model=None, practice=practice)  # the UI's finish, as the chat panel calls it
    html, files = asyncio.run(ctx.finish(session, None))
    assert run.graded is not None and run.graded.scorecard.source == "offline" and "Scorecard" in html and files
    assert asyncio.run(ctx.finish(session, None))[0] == html  # graded once
    assert not hasattr(session, "__dict__") and set(Session.__slots__) == own
    assert [c.source for c in store.load_record(session.id, learner_id="ana").scorecards] == ["offline"]
    resumed = practice.resume(session.id, ScriptedChatModel(), learner="ana", judge_choice=None)
    assert resumed.session.record.id == session.id and resumed.graded is None


def test_store_commits_run_off_the_event_loop_in_order(library):
    events: list[tuple[str, int | None, bool]] = []

    class Listener:
        def __init__(self, loop_thread: int):
            self.loop_thread = loop_thread

        def turn_added(self, session, index):
            events.append(("turn", index, threading.get_ident() == self.loop_thread))

        def turns_removed(self, session, first_removed):
            events.append(("removed", first_removed, threading.get_ident() == self.loop_thread))

        def ended(self, session):
            events.append(("ended", None, threading.get_ident() == self.loop_thread))

    def reply(messages):
        assert events[-1][:2] == ("turn", len(session.turns) - 1)  # the learner's turn is committed first
        return "Go on. [END]"

    session = Session(library.get("procurement-skeptic"), ScriptedChatModel(respond=reply))

    async def talk():
        session.listeners.append(Listener(threading.get_ident()))
        async for _ in session.send(LINES[0]):
            pass

    asyncio.run(talk())
    assert [e[:2] for e in events] == [("turn", 1), ("turn", 2), ("ended", None)]
    assert not any(on_loop for *_, on_loop in events)


def test_the_context_is_built_once_per_reply(library, monkeypatch):
    session = Session(library.get("procurement-skeptic"), ScriptedChatModel(respond=lambda m: "Go on."))
    built = []
    knowledge = session.dynamics.knowledge
    monkeypatch.setattr(session.dynamics, "knowledge", lambda turns: built.append(1) or knowledge(turns))
    list(session.send_sync(LINES[0]))
    assert len(built) == 1


def test_the_knowledge_index_is_made_once_per_configuration(tmp_path, monkeypatch):
    from simulator.vectors.knowledge import shared_index

    first = shared_index()
    assert shared_index() is first
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path / "elsewhere"))
    assert shared_index() is not first


def test_ending_twice_grades_once_and_finished_sessions_are_not_kept(tmp_path, monkeypatch, library):
    """Double-clicking End used to store two scorecards; the service's map used to keep every session alive."""
    import asyncio
    import gc

    from rapport.service import Practice
    from simulator.store import SessionStore

    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    store = SessionStore()
    practice = Practice(store)
    run = practice.start(library.get("procurement-skeptic"), ScriptedChatModel(respond=lambda m: "Go on."),
                         learner="ana")
    list(run.session.send_sync("What went wrong with Veritrack?"))
    run.session.end()

    async def end_twice():
        return await asyncio.gather(practice.finish(run), practice.finish(run))

    first, second = asyncio.run(end_twice())
    assert first is second and len(store.scorecards(run.session.id, learner_id="ana")) == 1
    assert practice.run_of(run.session).graded is first
    for _ in range(3):
        practice.start(library.get("procurement-skeptic"), ScriptedChatModel(), learner="ana")
    gc.collect()
    assert len(practice._runs) == 1  # only the run still held here
