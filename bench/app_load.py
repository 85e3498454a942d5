"""Many learners at once through the gradio client: each starts a session and talks; nothing may cross or get lost.

The app is started as installed (`python -m rapport.cli ui`, the `rapport ui` entry point), never from a source
checkout's `app.py`, so this harness works against a wheel too. Used by `bench/load.py` and the load tests.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

PERSONAS = ("procurement-skeptic", "diabetes-newly-diagnosed", "disengaged-student", "grieving-friend")


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    cross_talk: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=20)[18]


def _texts(history: list[dict], role: str) -> list[str]:
    out = []
    for message in history:
        if message["role"] != role:
            continue
        content = message["content"]
        out.append(content if isinstance(content, str) else " ".join(part.get("text", "") for part in content))
    return out


def one_learner(url: str, index: int, turns: int) -> tuple[list[float], list[str], list[str]]:
    """One browser session's worth of traffic; (latencies, cross-talk found, lost turns found)."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    client.predict(PERSONAS[index % len(PERSONAS)], "medium", api_name="/start")
    latencies, history = [], []
    for turn in range(turns):
        started = time.perf_counter()
        output = client.predict(f"learner {index} turn {turn}: what matters most to you here?", api_name="/send")
        latencies.append((time.perf_counter() - started) * 1000)
        history = output[1]
    said = _texts(history, "user")
    expected = [f"learner {index} turn {turn}: what matters most to you here?" for turn in range(turns)]
    cross = [text for text in said if not text.startswith(f"learner {index} ")]
    lost = [text for text in expected if text not in said]
    if len(_texts(history, "assistant")) < turns:
        lost.append(f"learner {index}: {turns - len(_texts(history, 'assistant')) + 1} replies missing")
    return latencies, cross, lost


def run_load(url: str, learners: int = 20, turns: int = 10) -> LoadResult:
    result = LoadResult()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=learners) as pool:
        for latencies, cross, lost in pool.map(lambda i: one_learner(url, i, turns), range(learners)):
            result.latencies_ms += latencies
            result.cross_talk += cross
            result.lost += lost
    result.seconds = time.perf_counter() - started
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_app(home: Path) -> tuple[subprocess.Popen, str]:
    """`rapport ui` on a free port with a zero-latency fake persona model; waits until it answers."""
    replies = home / "replies.json"
    replies.write_text(json.dumps(["Fair enough. Tell me what you would do differently.",
                                   "Go on. *makes a note* What else?"]))
    port = _free_port()
    env = {**os.environ, "RAPPORT_HOME": str(home), "RAPPORT_PERSONA_MODEL": f"fake:{replies}"}
    # `-m rapport.cli` runs the same `main` as the `rapport` console script, without relying on PATH.
    command = [sys.executable, "-m", "rapport.cli", "ui", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the app did not start within 120 s")
