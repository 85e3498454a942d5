"""Load: 20 concurrent sessions through the gradio client, 10 turns each: no cross-talk, no lost turn."""

from __future__ import annotations

from bench.app_load import run_load, serve_app
from simulator.store import SessionStore


def test_twenty_concurrent_sessions_keep_every_turn_and_never_cross(tmp_path, monkeypatch):
    process, url = serve_app(tmp_path)
    try:
        load = run_load(url, learners=20, turns=10)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert load.cross_talk == [] and load.lost == []
    assert len(load.latencies_ms) == 200
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    stored = SessionStore().list(learner_id=None)  # every learner's
    assert len(stored) == 20 and all(s.turns == 21 for s in stored)  # the opening line and 10 exchanges each
