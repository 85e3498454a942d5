"""Suite throughput against a local mock OpenAI-compatible server (fixed 200 ms per call), and the same
workload through LangChain's openevals as the peer to beat, in the same run.

The workload: 5-turn conversations with a simulated learner (one learner call and one persona call per turn).
The ideal time is what it would take if every call took exactly the latency and nothing else:
calls x latency / concurrency. Reported: ideal / actual (1.0 = no overhead at all).

Every reply is distinct (`distinct_reply` numbers them), so no case repeats another's texts and a cache keyed by
content saves only what it would save in real use.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path

from .results import Result, result

LATENCY = 0.2
TURNS = 5
CONCURRENCY = (1, 8, 32, 64)
GOALS = {8: 0.9, 32: 0.8, 64: 0.6}
PEER_ANCHOR = {1: 0.86, 8: 0.83, 32: 0.60, 64: 0.39}  # openevals in issue 16's run (Intel Xeon, 2 cores)


def cases_for(concurrency: int) -> int:
    return max(4, 2 * concurrency)


_replies = iter(range(1, 10**9))


def distinct_reply(body: dict) -> str:
    """The mock's echo reply, numbered, so that no two conversations share a text (JSON replies are left whole)."""
    import json

    from simulator.testing.mock_replies import default_responder

    reply = default_responder(body)
    try:
        json.loads(reply)
        return reply
    except ValueError:
        return f"{reply} ({next(_replies)})"


class MockServer:
    """The mock server in its own process, so its CPU is not counted inside the client's event loop."""

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulator.testing.openai_server", "--port", "0", "--latency", str(LATENCY),
             "--print-port", "--responder", "bench.throughput:distinct_reply"], stdout=subprocess.PIPE, text=True)
        port = int(self.process.stdout.readline().strip())
        return f"http://127.0.0.1:{port}/v1"

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


async def rapport_run(base_url: str, concurrency: int, n: int, reader: str = "coder") -> tuple[float, int]:
    """Our suite runner: n simulated-learner cases of 5 turns; (seconds, model calls)."""
    from evals.suite.runner import LoadedSuite, SuiteRunner
    from evals.suite.spec import SuiteSpec
    from simulator.persona import PersonaLibrary

    spec = SuiteSpec.model_validate({
        "schema_version": 1, "name": "throughput",
        "defaults": {"models": {"persona": f"openai:mock@{base_url}", "learner": f"openai:mock@{base_url}",
                                "judge": None}, "max_turns": TURNS, "reader": reader},
        "cases": [{"id": f"case-{i}", "persona": "procurement-skeptic",
                   "learner": {"simulated": {"profile": "warm-curious-listener", "max_turns": TURNS,
                                             "stop": {"outcome": False}}}} for i in range(n)],
    })
    library = PersonaLibrary()
    runner = SuiteRunner([LoadedSuite(Path("throughput.yaml"), spec)], library=library, concurrency=concurrency,
                         grade=False)
    started = time.perf_counter()
    report = await runner.run()
    seconds = time.perf_counter() - started
    errors = [r.error for r in report.runs if r.error]
    if errors:
        raise RuntimeError(f"{len(errors)} case(s) failed: {errors[0]}")
    calls = sum(2 * sum(t.speaker.value == "learner" for t in r.transcript.turns) for r in report.runs)
    return seconds, calls


async def openevals_run(base_url: str, concurrency: int, n: int) -> tuple[float, int]:
    """The same workload through openevals: its LLM simulated user against a ChatOpenAI app."""
    import openai
    from langchain_openai import ChatOpenAI
    from openevals.simulators import create_async_llm_simulated_user, run_multiturn_simulation_async

    def client():
        return ChatOpenAI(model="mock", base_url=base_url, api_key="not-needed", timeout=60,
                          http_client=openai.DefaultHttpxClient(), http_async_client=openai.DefaultAsyncHttpxClient())

    app_model, user_model = client(), client()
    histories: dict[str, list] = {}
    gate = asyncio.Semaphore(concurrency)

    async def app(inputs, *, thread_id: str, **kwargs):
        history = histories.setdefault(thread_id, [{"role": "system", "content": "You are Dana, a procurement head."}])
        history.append(inputs)
        reply = await app_model.ainvoke(history)
        message = {"role": "assistant", "content": reply.content}
        history.append(message)
        return message

    user = create_async_llm_simulated_user(system="You are a sales rep trying to build rapport.", client=user_model)

    async def one() -> None:
        async with gate:
            await run_multiturn_simulation_async(app=app, user=user, max_turns=TURNS, thread_id=str(uuid.uuid4()))

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return time.perf_counter() - started, n * TURNS * 2


RUNS = 3  # whole sweeps; each figure is the median of its runs, with the spread (min-max)
PEER_FACTOR = 1.25  # the goal: the default reader at least this much faster than openevals, same run


def _sweep(base_url: str) -> dict[tuple[str, int], tuple[float, float, int]]:
    """One sweep over every concurrency: (who, concurrency) -> (ratio of ideal, seconds, calls)."""
    found = {}
    for concurrency in CONCURRENCY:
        n = cases_for(concurrency)
        for who, go in (("rules", lambda: rapport_run(base_url, concurrency, n, reader="rules")),
                        ("coder", lambda: rapport_run(base_url, concurrency, n)),
                        ("openevals", lambda: openevals_run(base_url, concurrency, n))):
            try:
                seconds, calls = asyncio.run(go())
            except ImportError:  # openevals not installed
                continue
            found[(who, concurrency)] = (calls * LATENCY / concurrency / seconds, seconds, calls)
    return found


def _median(values: list[float]) -> str:
    import statistics

    return f"{statistics.median(values):.2f} (spread {min(values):.2f}-{max(values):.2f})"


def run() -> list[Result]:
    import os
    import statistics

    os.environ.setdefault("LANGSMITH_TRACING", "false")  # openevals must not try to send traces anywhere
    sweeps = []
    with MockServer() as base_url:
        # Warm both up once (imports, first connections), so neither pays one-off costs inside a measurement.
        asyncio.run(rapport_run(base_url, 2, 2, reader="rules"))
        try:
            asyncio.run(openevals_run(base_url, 2, 2))
        except ImportError:
            pass
        for _ in range(RUNS):
            sweeps.append(_sweep(base_url))
    results = []
    labels = {"rules": "every turn read by phrase rules", "coder": "every turn read by the learned coder (default)"}
    for concurrency in CONCURRENCY:
        n = cases_for(concurrency)
        ratios = {who: [s[(who, concurrency)][0] for s in sweeps if (who, concurrency) in s]
                  for who in ("rules", "coder", "openevals")}
        peer = ratios["openevals"]
        peer_text = (f"openevals {_median(peer)} in the same runs" if peer
                     else "openevals not installed (pip install openevals)")
        for who in ("rules", "coder"):
            goal = GOALS.get(concurrency)
            median = statistics.median(ratios[who])
            results.append(result(
                "throughput", f"throughput.{who}.c{concurrency}",
                f"Suite throughput, {n} simulated 5-turn cases, concurrency {concurrency}, 200 ms/call, {labels[who]} "
                f"(ratio of ideal, median of {len(ratios[who])} runs)",
                median, "of ideal", figure=_median(ratios[who]), anchor=peer_text,
                goal=f"≥ {goal}" if goal else "", met=(median >= goal) if goal else None,
            ))
        if peer:
            results.append(result(
                "throughput", f"throughput.openevals.c{concurrency}",
                f"Peer: openevals, same workload, concurrency {concurrency} (ratio of ideal, median of {len(peer)} runs)",
                statistics.median(peer), "of ideal", figure=_median(peer),
                anchor=f"issue 16's figure {PEER_ANCHOR[concurrency]}" if concurrency in PEER_ANCHOR else "",
            ))
            versus = [c / o for c, o in zip(ratios["coder"], peer)]
            wanted = concurrency in (8, 32, 64)
            results.append(result(
                "throughput", f"throughput.versus.c{concurrency}",
                f"Default reader against openevals, concurrency {concurrency} (speed-up in each run, median)",
                statistics.median(versus), "×", figure=_median(versus).replace(" (", "× ("),
                goal=f"≥ {PEER_FACTOR}×" if wanted else "",
                met=(statistics.median(versus) >= PEER_FACTOR) if wanted else None,
            ))
    return results
