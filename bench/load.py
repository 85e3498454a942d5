"""Load: 20 concurrent browser sessions through the gradio client on 127.0.0.1, 10 turns each, fake model.

The app runs in its own process (as in production), so the 20 clients do not share its interpreter.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from .results import Result, result

LEARNERS, TURNS = 20, 10


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run() -> list[Result]:
    from .app_load import run_load, serve_app

    home = Path(tempfile.mkdtemp(prefix="rapport-load-"))
    process, url = serve_app(home)
    try:
        alone = run_load(url, 1, TURNS)  # the same turns with nobody else on the server, as the anchor
        server_cpu, client_cpu = cpu_seconds(process.pid), time.process_time()
        load = run_load(url, LEARNERS, TURNS)
        server_cpu, client_cpu = cpu_seconds(process.pid) - server_cpu, time.process_time() - client_cpu
    finally:
        process.terminate()
        process.wait(timeout=30)
    os.environ["RAPPORT_HOME"] = str(home)
    from simulator.store import SessionStore

    stored = SessionStore().list(learner_id=None)  # every learner's
    turns_stored = sum(s.turns for s in stored)
    expected = (LEARNERS + 1) * (2 * TURNS + 1)
    replies = len(load.latencies_ms)
    return [
        result("load", "load.latency", f"{LEARNERS} concurrent sessions x {TURNS} turns through the gradio client, "
               "fake model, app in its own process: reply latency (p50 / p95)", load.p95, "ms",
               figure=f"{load.p50:.0f} / {load.p95:.0f} ms",
               anchor=f"one session alone: {alone.p50:.0f} / {alone.p95:.0f} ms; {replies} replies in {load.seconds:.1f} s; "
                      f"CPU per reply: app {server_cpu / replies * 1000:.0f} ms, gradio clients {client_cpu / replies * 1000:.0f} ms "
                      f"(same 2 cores)"),
        result("load", "load.integrity", "Same load: cross-talk between sessions, lost turns", float(
            len(load.cross_talk) + len(load.lost)), "problems",
               figure=f"{len(load.cross_talk)} cross-talk, {len(load.lost)} lost; {turns_stored}/{expected} turns stored",
               goal="none", met=not load.cross_talk and not load.lost and turns_stored == expected),
    ]
