"""Many learners at once through the gradio client: each starts a session and talks; nothing may cross or get lost.
Over one app process, or over several sharing PostgreSQL and a Chroma server (`serve_apps`, scale-out).

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
from collections.abc import Sequence
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


def one_learner(url: str, index: int, turns: int,
                auth: tuple[str, str] | None = None) -> tuple[list[float], list[str], list[str]]:
    """One browser session's worth of traffic; (latencies, cross-talk found, lost turns found)."""
    from gradio_client import Client

    # httpx's 5 s default would turn a slow reply under load into a failure; the latency is what is measured.
    client = Client(url, auth=auth, verbose=False, httpx_kwargs={"timeout": 120})
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


def run_load(url: str | Sequence[str], learners: int = 20, turns: int = 10,
             auth: tuple[str, str] | None = None) -> LoadResult:
    """`learners` concurrent sessions of `turns` turns; given several app addresses, learner i uses url i mod n."""
    urls = [url] if isinstance(url, str) else list(url)
    result = LoadResult()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=learners) as pool:
        for latencies, cross, lost in pool.map(lambda i: one_learner(urls[i % len(urls)], i, turns, auth), range(learners)):
            result.latencies_ms += latencies
            result.cross_talk += cross
            result.lost += lost
    result.seconds = time.perf_counter() - started
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_app(home: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """`rapport ui` on a free port with a zero-latency fake persona model; waits until it answers."""
    return serve_apps([home], env)[0]


def serve_apps(homes: Sequence[Path], env: dict[str, str] | None = None) -> list[tuple[subprocess.Popen, str]]:
    """One app process per home, started together (each takes seconds to import and warm up), each on its own free
    port; `env` adds variables, e.g. the PostgreSQL and Chroma server they share. Waits until all answer."""
    started = [_start(home, env or {}) for home in homes]
    try:
        for process, url, log in started:
            _wait_until_up(process, url, log)
    except BaseException:
        for process, _, _ in started:
            process.kill()
            process.wait()
        raise
    return [(process, url) for process, url, _ in started]


def _start(home: Path, extra: dict[str, str]) -> tuple[subprocess.Popen, str, Path]:
    replies = home / "replies.json"
    replies.write_text(json.dumps(["Fair enough. Tell me what you would do differently.",
                                   "Go on. *makes a note* What else?"]))
    port = _free_port()
    # Configured only by what is passed: a developer's own RAPPORT_* variables must not change what is measured.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env = {**inherited, "RAPPORT_HOME": str(home), "RAPPORT_PERSONA_MODEL": f"fake:{replies}", **extra}
    # `-m rapport.cli` runs the same `main` as the `rapport` console script, without relying on PATH.
    command = [sys.executable, "-m", "rapport.cli", "ui", "--host", "127.0.0.1", "--port", str(port)]
    log_path = home / f"app-{port}.log"  # what went wrong, when it does
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}/", log_path


def _wait_until_up(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app at {url} exited with {process.returncode} before it answered; "
                               f"{log.read_text(errors='replace')[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the app at {url} did not start within 120 s: {log.read_text(errors='replace')[-2000:]}")


def stop_apps(apps: Sequence[tuple[subprocess.Popen, str]]) -> None:
    for process, _ in apps:
        process.terminate()
    for process, _ in apps:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
