"""Scale-out load: 50 concurrent learners split over two app processes that share PostgreSQL and a Chroma server,
beside the same 50 on one process with the same PostgreSQL and Chroma; gradio client, fake model, 10 turns each.

Everything runs on this machine: both app processes, the 50 clients, PostgreSQL and Chroma share its cores, so
this measures that scaling out loses and mixes nothing, and what a second process costs or gains here; on
separate machines each process would have its own cores. Without PostgreSQL (`make postgres`) or the `chroma` CLI
nothing is measured and the last rows are kept.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from .results import Result, result

LEARNERS, TURNS = 50, 10


def measure(processes: int, chroma_env: dict[str, str], root: Path) -> dict:
    """The load over `processes` app processes on a fresh schema: latencies, problems, turns stored, CPU."""
    from simulator.store import SessionStore
    from simulator.store.database import dispose_all

    from .app_load import run_load, serve_apps, stop_apps
    from .cluster import fresh_schema
    from .load import cpu_seconds

    home = root / f"{processes}-process"
    home.mkdir()
    with fresh_schema() as database_url:
        apps = serve_apps([home] * processes, {"RAPPORT_DATABASE_URL": database_url, **chroma_env})
        urls = [url for _, url in apps]
        try:
            warm = run_load(urls, processes, 2)  # one learner per process first: models and readers loaded
            cpu = sum(cpu_seconds(p.pid) for p, _ in apps)
            load = run_load(urls, LEARNERS, TURNS)
            cpu = sum(cpu_seconds(p.pid) for p, _ in apps) - cpu
        finally:
            stop_apps(apps)
        stored = SessionStore(database_url).list(learner_id=None)
        dispose_all()
    return {"load": load, "cpu": cpu, "problems": warm.cross_talk + warm.lost,
            "stored": sum(s.turns for s in stored) - processes * (2 * 2 + 1)}


def run() -> list[Result]:
    from .cluster import Unavailable, chroma_server, fresh_schema

    root = Path(tempfile.mkdtemp(prefix="rapport-scale-out-"))
    try:
        with fresh_schema():
            pass  # is PostgreSQL there at all?
        with chroma_server(root / "chroma") as chroma:
            two = measure(2, chroma.env, root)
            time.sleep(2)  # let the machine settle between the runs
            one = measure(1, chroma.env, root)
    except Unavailable as exc:
        print(f"scale_out: not measured: {exc}", file=sys.stderr)
        return []
    expected = LEARNERS * (2 * TURNS + 1)
    a, b = two["load"], one["load"]
    replies = len(a.latencies_ms)
    problems = {n: len(m["load"].cross_talk) + len(m["load"].lost) + len(m["problems"]) for n, m in ((2, two), (1, one))}
    return [
        result("scale_out", "scale_out.latency",
               f"{LEARNERS} concurrent sessions x {TURNS} turns split over two app processes sharing PostgreSQL and a "
               "Chroma server, gradio client, fake model: reply latency (p50 / p95)", a.p95, "ms",
               figure=f"{a.p50:.0f} / {a.p95:.0f} ms",
               anchor=f"one process, same {LEARNERS} learners, PostgreSQL and Chroma: {b.p50:.0f} / {b.p95:.0f} ms; "
                      f"{replies} replies in {a.seconds:.1f} s (one process: {b.seconds:.1f} s); app CPU per reply "
                      f"{two['cpu'] / replies * 1000:.0f} ms (one process: {one['cpu'] / replies * 1000:.0f} ms); "
                      "apps, clients and databases on the same 2 cores"),
        result("scale_out", "scale_out.integrity", "Same load over two processes: cross-talk between sessions, lost turns",
               float(problems[2]), "problems",
               figure=f"{len(a.cross_talk)} cross-talk, {len(a.lost)} lost; {two['stored']}/{expected} turns stored "
                      f"(one process: {problems[1]} problems, {one['stored']}/{expected} stored)",
               goal="none", met=problems[2] == 0 and two["stored"] == expected),
    ]
