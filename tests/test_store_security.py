"""The store under hostile use: ids matched literally, every query scoped by the learner, imports checked whole.

Issue 14, items 6, 7 and part of 10. Each test here failed on the store as it was: `%` opened any session,
learner B could read A's session by id, `persona_spec: {}` imported and then broke `sessions list`, several
processes opening one fresh database raced on creating the tables, and exporting into a missing folder crashed.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from simulator.errors import RapportError
from simulator.models import ScriptedChatModel
from simulator.session import Session
from simulator.store import InvalidIdError, SessionNotFoundError, SessionStore
from simulator.store.database import dispose_all
from simulator.store.tables import memories, sessions

from .test_store import postgres_url  # noqa: F401 - the fresh-schema PostgreSQL fixture, skipped without a server

ANA_FIRST = "a1" + "0" * 30
ANA_SECOND = "a2" + "0" * 30
BEN_ONLY = "b1" + "0" * 30
CARD = {"overall": 3.5, "criteria": {}}


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path, monkeypatch):
    if request.param == "postgres":
        monkeypatch.setenv("RAPPORT_DATABASE_URL", request.getfixturevalue("postgres_url"))
    else:
        monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    yield SessionStore()
    dispose_all()


def stored_session(store: SessionStore, library, learner: str, session_id: str, lines=("What went wrong?",)) -> Session:
    session = Session(library.get("procurement-skeptic"), ScriptedChatModel(respond=lambda m: "Go on."),
                      session_id=session_id)
    store.record(session, learner)
    for line in lines:
        list(session.send_sync(line))
    return session


def every_read(store: SessionStore, session_id: str, learner: str) -> list:
    """Each store call that takes a session id, as a thunk, so a test can try them all."""
    return [
        lambda: store.load(session_id, ScriptedChatModel(), learner_id=learner),
        lambda: store.export(session_id, learner_id=learner),
        lambda: store.scorecards(session_id, learner_id=learner),
        lambda: store.summary(session_id, learner_id=learner),
        lambda: store.save_scorecard(session_id, "offline", CARD, learner_id=learner),
        lambda: store.delete(session_id, learner_id=learner),
    ]


# -- item 7: ids are matched literally, and only among the learner's own sessions -------------------------------


@pytest.mark.parametrize("hostile", ["%", "_", "%7245", "a%", "a_", "_" * 32, "a1' OR '1'='1", "a1\x00"])
def test_sql_wildcards_in_a_session_id_match_nothing(store, library, hostile):
    stored_session(store, library, "ana", ANA_FIRST)  # alone, so an unescaped `LIKE '%'` would find it
    for call in every_read(store, hostile, "ana"):
        with pytest.raises(InvalidIdError, match="is not a session id"):
            call()
    assert [s.id for s in store.list(learner_id="ana")] == [ANA_FIRST]  # nothing was deleted


def test_a_prefix_matches_literally_and_only_when_unique(store, library):
    stored_session(store, library, "ana", ANA_FIRST)
    stored_session(store, library, "ana", ANA_SECOND)
    assert store.export("a1", learner_id="ana").session.id == ANA_FIRST
    assert store.export("a2", learner_id="ana").session.id == ANA_SECOND
    with pytest.raises(SessionNotFoundError, match="more than one"):
        store.export("a", learner_id="ana")
    with pytest.raises(SessionNotFoundError):
        store.export("a3", learner_id="ana")


def test_a_huge_id_is_one_line_error_not_a_traceback(store, library, tmp_path):
    stored_session(store, library, "ana", ANA_FIRST)
    huge = "a" * 100_000
    for call in every_read(store, huge, "ana"):
        with pytest.raises(InvalidIdError) as caught:
            call()
        assert "\n" not in str(caught.value) and len(str(caught.value)) < 200
    with pytest.raises(InvalidIdError):
        store.list(learner_id="x" * 100_000)


@pytest.mark.parametrize("asked", [ANA_FIRST, "a1"])
def test_another_learners_session_is_not_found_through_any_store_call(store, library, asked):
    session = stored_session(store, library, "ana", ANA_FIRST)
    store.save_scorecard(ANA_FIRST, "offline", CARD, learner_id="ana")
    stored_session(store, library, "ben", BEN_ONLY)
    for call in every_read(store, asked, "ben"):
        with pytest.raises(SessionNotFoundError):
            call()
    assert [s.id for s in store.list(learner_id="ben")] == [BEN_ONLY]
    # A recorder for ben cannot attach to (and so write into) ana's session either.
    with pytest.raises(SessionNotFoundError):
        store.record(session, "ben")
    intact = store.export(ANA_FIRST, learner_id="ana")
    assert len(intact.turns) == len(session.turns) and len(intact.scorecards) == 1
    assert store.scorecards(ANA_FIRST, learner_id="ana") == [CARD]


def test_memories_are_written_only_into_the_learners_own_session(store, library):
    from simulator.recollection import remember

    session = stored_session(store, library, "ana", ANA_FIRST, lines=("I'll send you the case study by Friday.",))
    session.end()
    with pytest.raises(RapportError, match="not stored for learner 'ben'"):
        remember(session, "ben", store)
    assert remember(session, "ana", store)  # the owner can


def test_the_ui_history_opens_only_the_logged_in_learners_sessions(library, tmp_path, monkeypatch):
    """The history tab asks the store as the logged-in user, so a session id sent from elsewhere is not found."""
    from types import SimpleNamespace

    import gradio as gr

    from rapport.ui import history

    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    store = SessionStore()
    stored_session(store, library, "ana", ANA_FIRST)
    from simulator.store import TeamStore, Viewer

    ctx = SimpleNamespace(practice=SimpleNamespace(store=store, teams=TeamStore(sessions_store=store)),
                          holder=SimpleNamespace(library=library), learner=lambda request: request.username,
                          viewer=lambda request: Viewer(name=request.username, role="learner"))
    with gr.Blocks() as demo:
        history.history_tab(ctx)
    [open_session] = [f.fn for f in demo.fns.values() if f.fn.__name__ == "open_session"]
    assert "no stored session" in open_session(ANA_FIRST, SimpleNamespace(username="ben"))
    assert "no scorecard yet" in open_session(ANA_FIRST, SimpleNamespace(username="ana"))
    dispose_all()


# -- item 6: imports are checked whole before anything is written ---------------------------------------------


def run_cli(*args: str, monkeypatch, capsys) -> tuple[int, str, str]:
    """`rapport ARGS` in this process, through the real entry point (one-line errors, exit codes)."""
    from rapport.cli import main

    monkeypatch.setattr(sys, "argv", ["rapport", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def exported(tmp_path, library, monkeypatch):
    """A real export of a finished, scored, remembered session of learner 'ana', as a dict."""
    from simulator.recollection import remember

    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    store = SessionStore()
    session = stored_session(store, library, "ana", ANA_FIRST,
                             lines=("What went wrong with Veritrack?", "I'll send you the case study by Friday."))
    session.end()
    remember(session, "ana", store)
    store.save_scorecard(ANA_FIRST, "offline", {"overall": 3.5, "criteria": {}}, learner_id="ana")
    data = json.loads(store.export(ANA_FIRST, learner_id="ana").model_dump_json())
    store.delete(ANA_FIRST, learner_id="ana")
    assert data["trajectory"] and len(data["memories"]) >= 2
    yield data
    dispose_all()


def _set(data: dict, path: str, value) -> dict:
    data = copy.deepcopy(data)
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return data


DELETE = object()
HOSTILE_IMPORTS = {
    "empty persona spec": ("persona_spec", {}, "persona_spec"),
    "missing id": ("session.id", DELETE, "session.id"),
    "extra session key": ("session.colour", "red", "session.colour"),
    "extra top-level key": ("extra", 1, "extra"),
    "bad date": ("session.started_at", "2024-13-45T99:00:00", "session.started_at"),
    "wildcard id": ("session.id", "%", "session.id"),
    "huge id": ("session.id", "a" * 100_000, "session.id"),
    "unknown difficulty": ("session.difficulty", "nightmare", "session.difficulty"),
    "bad trajectory": ("trajectory.0", {"turn": 1}, "trajectory.0"),
    "appraisal of a missing turn": ("trajectory.0.turn", 99, "trajectory"),
    "persona differs": ("persona", "diabetes-newly-diagnosed", "session"),
    "scorecard without overall": ("scorecards.0.data", {}, "scorecards.0.data"),
    "scorecard of the wrong shape": ("scorecards.0.data", {"overall": 9, "criteria": {}}, "scorecards.0.data.overall"),
    "bad speaker": ("turns.0.speaker", "narrator", "turns.0.speaker"),
    "memory of another session": ("memories.0.session_id", BEN_ONLY, "memories"),
    "NUL in a turn (PostgreSQL refuses it)": ("turns.1.text", "a\x00b", "turns.1.text"),
    "unpaired surrogate": ("persona_spec.name", "\ud800", "persona_spec.name"),
}


@pytest.mark.parametrize("case", list(HOSTILE_IMPORTS))
def test_a_hostile_import_is_one_line_naming_the_field_and_writes_nothing(case, exported, tmp_path, monkeypatch,
                                                                           capsys):
    path, value, field = HOSTILE_IMPORTS[case]
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(_set(exported, path, value)))
    code, _, err = run_cli("sessions", "import", str(hostile), monkeypatch=monkeypatch, capsys=capsys)
    assert code != 0
    [line] = err.strip().splitlines()
    assert line.startswith(f"error: {hostile}: {field}") and "Traceback" not in err, line
    with SessionStore().engine.connect() as db:
        assert db.execute(sa.select(sa.func.count()).select_from(sessions)).scalar() == 0
        assert db.execute(sa.select(sa.func.count()).select_from(memories)).scalar() == 0
    code, _, err = run_cli("sessions", "list", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err


@pytest.mark.parametrize("text", ["[]", "null", '"x"', "{}", "[" * 100_000, '{"format": "rapport-session/2"}'])
def test_a_file_that_is_no_export_at_all_is_one_line(text, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    file = tmp_path / "not.json"
    file.write_text(text)
    code, _, err = run_cli("sessions", "import", str(file), monkeypatch=monkeypatch, capsys=capsys)
    [line] = err.strip().splitlines()
    assert code != 0 and line.startswith(f"error: {file}") and "Traceback" not in err, line
    assert SessionStore().list(learner_id=None) == []
    dispose_all()


def test_a_duplicate_memory_id_is_refused_before_writing(exported, tmp_path, monkeypatch, capsys):
    data = copy.deepcopy(exported)
    data["memories"][1]["id"] = data["memories"][0]["id"]
    hostile = tmp_path / "twice.json"
    hostile.write_text(json.dumps(data))
    code, _, err = run_cli("sessions", "import", str(hostile), monkeypatch=monkeypatch, capsys=capsys)
    assert code != 0 and err.strip() == f"error: {hostile}: memories: Value error, duplicate memory id " \
                                         f"'{data['memories'][0]['id']}'"
    assert SessionStore().list(learner_id=None) == []


def test_an_import_that_fails_in_the_database_is_rolled_back_whole(exported, library, tmp_path, monkeypatch, capsys):
    """A memory id already used by another stored session passes validation and fails on insert: nothing stays."""
    store = SessionStore()
    other = stored_session(store, library, "local", ANA_SECOND)
    with store.engine.begin() as db:
        db.execute(memories.insert().values(id=exported["memories"][-1]["id"], learner_id="local",
                                            persona_id=other.persona.id, session_id=other.id, kind="fact", text="x",
                                            created_at=other.started_at))
    clash = tmp_path / "clash.json"
    clash.write_text(json.dumps(exported))
    code, _, err = run_cli("sessions", "import", str(clash), monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and "conflicts with stored data" in err and len(err.strip().splitlines()) == 1
    assert [s.id for s in store.list(learner_id=None)] == [ANA_SECOND]  # the session row went with the memory


def test_an_imported_session_belongs_to_the_importing_learner(exported, tmp_path, monkeypatch, capsys):
    file = tmp_path / "s.json"
    file.write_text(json.dumps(_set(exported, "session.learner_id", "mallory")))
    code, out, err = run_cli("sessions", "import", str(file), "--learner", "ben", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and out.strip() == ANA_FIRST, err
    store = SessionStore()
    assert [s.learner_id for s in store.list(learner_id=None)] == ["ben"]
    with store.engine.connect() as db:
        assert set(db.execute(sa.select(memories.c.learner_id)).scalars()) == {"ben"}
    # Another learner cannot replace it, even with --force; the owner can.
    code, _, err = run_cli("sessions", "import", str(file), "--force", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and "another learner" in err
    code, _, err = run_cli("sessions", "import", str(file), "--force", "--learner", "ben", monkeypatch=monkeypatch,
                           capsys=capsys)
    assert code == 0, err
    assert [s.learner_id for s in store.list(learner_id=None)] == ["ben"]


def test_sessions_list_survives_a_damaged_row(library, tmp_path, monkeypatch, capsys):
    """Defence in depth: a row written before imports were checked (an empty persona) neither breaks the list
    nor stops the session being deleted."""
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    store = SessionStore()
    stored_session(store, library, "local", ANA_FIRST)
    stored_session(store, library, "local", ANA_SECOND)
    with store.engine.begin() as db:
        db.execute(sessions.update().where(sessions.c.id == ANA_SECOND).values(persona={}))
    code, out, err = run_cli("sessions", "list", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and ANA_FIRST[:12] in out and ANA_SECOND[:12] in out, err
    code, _, err = run_cli("sessions", "show", ANA_SECOND, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and "is damaged" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("sessions", "delete", ANA_SECOND, "--yes", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    assert [s.id for s in store.list(learner_id="local")] == [ANA_FIRST]
    dispose_all()


def test_the_cli_acts_as_the_local_learner_unless_told_otherwise(library, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    store = SessionStore()
    stored_session(store, library, "ana", ANA_FIRST)
    code, _, err = run_cli("sessions", "show", "a1", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and "no stored session 'a1'" in err
    code, _, err = run_cli("sessions", "delete", ANA_FIRST, "--yes", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and store.list(learner_id="ana")
    code, out, _ = run_cli("sessions", "list", monkeypatch=monkeypatch, capsys=capsys)
    assert ANA_FIRST[:12] not in out
    code, out, _ = run_cli("sessions", "list", "--all-learners", monkeypatch=monkeypatch, capsys=capsys)
    assert ANA_FIRST[:12] in out
    code, out, _ = run_cli("sessions", "show", "a1", "--learner", "ana", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and "What went wrong?" in out
    monkeypatch.setenv("RAPPORT_LEARNER", "ana")
    code, _, err = run_cli("sessions", "delete", "a1", "--yes", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and store.list(learner_id="ana") == [], err
    dispose_all()


def test_a_huge_or_wildcard_id_on_the_command_line_is_one_line(library, tmp_path):
    env = {**os.environ, "RAPPORT_HOME": str(tmp_path)}
    for hostile in ("%", "a" * 100_000):
        done = subprocess.run([sys.executable, "-m", "rapport.cli", "sessions", "delete", hostile, "--yes"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("error: ") and "is not a session id" in line and len(line) < 200


# -- item 10: exports into a new folder, and several processes opening one fresh database ---------------------


def test_export_creates_missing_folders_and_reports_unwritable_paths(library, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    stored_session(SessionStore(), library, "local", ANA_FIRST)
    target = tmp_path / "missing" / "dir" / "s.json"
    code, _, err = run_cli("sessions", "export", "a1", "-o", str(target), monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and json.loads(target.read_text())["session"]["id"] == ANA_FIRST, err
    (tmp_path / "taken").mkdir()
    code, _, err = run_cli("sessions", "export", "a1", "-o", str(tmp_path / "taken"), monkeypatch=monkeypatch,
                           capsys=capsys)
    assert code == 1 and err.startswith(f"error: cannot write {tmp_path / 'taken'}") and len(err.strip().splitlines()) == 1
    dispose_all()


OPEN_WHEN_TOLD = """
import sys
from simulator.store.database import engine_for
print("ready", flush=True)
sys.stdin.readline()  # every process starts migrating at the same instant
engine_for()
"""


def test_several_processes_opening_one_fresh_database_all_succeed(tmp_path):
    """Before the migration lock, some of these failed with 'table sessions already exists' (or alembic_version)."""
    env = {**os.environ, "RAPPORT_HOME": str(tmp_path)}
    processes = [subprocess.Popen([sys.executable, "-c", OPEN_WHEN_TOLD], env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
    for process in processes:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    failures = [process.communicate(timeout=180)[1] for process in processes]
    assert [p.returncode for p in processes] == [0] * 8, [f.strip().splitlines()[-1:] for f in failures]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rapport.db'}")
    with engine.connect() as db:
        assert db.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == ["0003"]
        assert {"sessions", "turns", "appraisals", "scorecards", "memories"} <= set(sa.inspect(db).get_table_names())
    engine.dispose()
