"""The session store: every turn committed as it happens, a crash loses nothing, sessions resume intact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from simulator.models import ScriptedChatModel
from simulator.store import SessionExport, SessionStore
from simulator.store.database import dispose_all

POSTGRES_URL = os.environ.get("RAPPORT_TEST_POSTGRES_URL", "postgresql+psycopg://rapport:rapport@127.0.0.1:5432/rapport_test")


@pytest.fixture
def sqlite_store(tmp_path, monkeypatch):
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    yield SessionStore()
    dispose_all()


@pytest.fixture
def postgres_url():
    """A fresh schema on the local PostgreSQL that `make test` starts; skipped, saying why, when there is none."""
    from bench.cluster import Unavailable, fresh_schema

    schema = fresh_schema(POSTGRES_URL)
    try:
        url = schema.__enter__()
    except Unavailable as exc:
        pytest.skip(str(exc))
    yield url
    dispose_all()
    schema.__exit__(None, None, None)  # drops the schema


def old_database(path, revision: str, persona) -> str:
    """A SQLite store migrated only up to `revision`, holding one session of ana's with `persona` (its URL)."""
    from alembic import command
    from alembic.config import Config

    from simulator.store.database import MIGRATIONS

    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.execute(sa.text(
            "INSERT INTO sessions (id, learner_id, persona_id, persona, difficulty, model, max_turns, started_at,"
            " updated_at) VALUES ('s1', 'ana', :id, :p, 'medium', '', 10, '2026-01-01', '2026-01-01')"),
            {"id": persona.id, "p": persona.model_dump_json()})
        connection.execute(sa.text("INSERT INTO turns (session_id, idx, speaker, text) VALUES ('s1', 0, 'persona', 'Hi')"))
    engine.dispose()
    return url


def converse(store: SessionStore, library, lines: list[str]):
    from simulator.session import Session

    session = Session(library.get("procurement-skeptic"), ScriptedChatModel(respond=lambda m: "Go on."))
    store.record(session, "ana")
    for line in lines:
        list(session.send_sync(line))
    return session


LINES = ["Thanks, Dana. What went wrong with Veritrack?", "That sounds exhausting. What would you need this time?"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_turns_trajectory_and_ending_round_trip(backend, request, library, tmp_path, monkeypatch):
    if backend == "postgres":
        monkeypatch.setenv("RAPPORT_DATABASE_URL", request.getfixturevalue("postgres_url"))
    else:
        monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    store = SessionStore()
    session = converse(store, library, LINES)
    session.undo()
    list(session.send_sync("What matters most to your operations team?"))
    [summary] = store.list(learner_id="ana")
    assert summary.turns == 5 and summary.end_reason is None and summary.persona_name == "Dana Whitfield"
    loaded = store.load(session.id[:8], ScriptedChatModel(), learner_id="ana")  # a unique prefix is enough
    assert [t.text for t in loaded.turns] == [t.text for t in session.turns]
    assert loaded.trajectory == session.trajectory and loaded.state == session.state
    session.end()
    assert store.list(learner_id="ana")[0].end_reason == "learner_ended"
    store.save_scorecard(session.id, "offline", {"overall": 3.5, "criteria": {}}, learner_id="ana")
    exported = store.export(session.id, learner_id="ana")
    assert exported.persona == "procurement-skeptic" and len(exported.turns) == 5 and exported.scorecards
    store.delete(session.id, learner_id="ana")
    assert store.list(learner_id="ana") == []
    assert store.import_(SessionExport.model_validate_json(exported.model_dump_json()), learner_id="ana") == session.id
    assert store.list(learner_id="ana")[0].overall == 3.5
    dispose_all()


def test_migrations_are_numbered_and_idempotent(sqlite_store):
    from simulator.store.database import migrate

    with sqlite_store.engine.connect() as db:
        assert db.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    migrate(sqlite_store.engine)  # running again changes nothing


def rapport(*args: str, env: dict, input: str | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rapport.cli", *args], capture_output=True, text=True, env=env,
                          input=input, timeout=120, **kwargs)


def test_killing_the_process_mid_session_loses_no_committed_turn(tmp_path, monkeypatch):
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    env = {**os.environ, "RAPPORT_PERSONA_MODEL": "fake", "COLUMNS": "200"}
    process = subprocess.Popen([sys.executable, "-m", "rapport.cli", "chat", "procurement-skeptic"], env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in LINES:
        process.stdin.write(line + "\n")
        process.stdin.flush()
    store = SessionStore()
    deadline = time.time() + 60
    while time.time() < deadline:
        sessions = store.list(learner_id="local")
        if sessions and sessions[0].turns == 5:
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)  # no clean shutdown, no chance to flush anything
    process.wait(timeout=10)
    [summary] = store.list(learner_id="local")
    assert summary.turns == 5 and summary.end_reason is None
    listed = rapport("sessions", "list", env=env)
    assert summary.id[:12] in listed.stdout and "unfinished" in listed.stdout

    resumed = rapport("chat", "--resume", summary.id[:12], env=env, input="And what would success look like?\n/end\n")
    assert resumed.returncode == 0, resumed.stderr
    assert LINES[1] in resumed.stdout  # the transcript so far is shown again
    loaded = store.load(summary.id, ScriptedChatModel(), learner_id="local")
    assert len(loaded.turns) == 7 and len(loaded.trajectory) == 3 and loaded.ending is not None
    shown = rapport("sessions", "show", summary.id[:12], env=env)
    assert "Scorecard (offline)" in shown.stdout and "What went wrong with Veritrack?" in shown.stdout
    dispose_all()


def test_sessions_export_import_delete_on_the_command_line(tmp_path, library, monkeypatch):
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    env = {**os.environ, "RAPPORT_PERSONA_MODEL": "fake", "COLUMNS": "200"}
    done = rapport("chat", "disengaged-student", env=env, input="Hey Kayla, how's the term been?\n/end\n")
    assert done.returncode == 0, done.stderr
    session_id = SessionStore().list(learner_id="local")[0].id
    exported = rapport("sessions", "export", session_id, "-o", str(tmp_path / "s.json"), env=env)
    assert exported.returncode == 0
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["persona"] == "disengaged-student" and data["turns"][1]["speaker"] == "learner"
    judged = rapport("judge", str(tmp_path / "s.json"), "--offline", env=env)  # an export is a transcript file too
    assert judged.returncode == 0 and json.loads(judged.stdout)["overall"] >= 1
    assert rapport("sessions", "import", str(tmp_path / "s.json"), env=env).returncode == 1  # no silent overwrite
    assert rapport("sessions", "delete", session_id, "--yes", env=env).returncode == 0
    assert rapport("sessions", "import", str(tmp_path / "s.json"), env=env).stdout.strip() == session_id
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "rapport-session/1"}')
    bad = rapport("sessions", "import", str(broken), env=env)
    assert bad.returncode != 0 and f"error: {broken}: persona: Field required" in bad.stderr
    dispose_all()
