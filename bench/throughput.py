"""Suite throughput against a local mock OpenAI-compatible server (fixed 200 ms per call), and the same
workload through LangChain's openevals as the peer to beat, in the same run.

The workload: 5-turn conversations with a simulated learner (one learner call and one persona call per turn).
The ideal time is what it would take if every call took exactly the latency and nothing else:
calls x latency / concurrency. Reported: ideal / actual (1.0 = no overhead at all).
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
PEER_ANCHOR = {8: 0.81, 32: 0.61, 64: 0.32}  # openevals on this machine, per the issue


def cases_for(concurrency: int) -> int:
    return max(4, 2 * concurrency)


class MockServer:
    """The mock server in its own process, so its CPU is not counted inside the client's event loop."""

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulator.testing.openai_server", "--port", "0", "--latency", str(LATENCY),
             "--print-port"], stdout=subprocess.PIPE, text=True)
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


def run() -> list[Result]:
    import os

    os.environ.setdefault("LANGSMITH_TRACING", "false")  # openevals must not try to send traces anywhere
    results = []
    with MockServer() as base_url:
        # Warm both up once (imports, first connections), so neither pays one-off costs inside a measurement.
        asyncio.run(rapport_run(base_url, 2, 2, reader="rules"))
        try:
            asyncio.run(openevals_run(base_url, 2, 2))
        except ImportError:
            pass
        for concurrency in CONCURRENCY:
            n = cases_for(concurrency)
            rules_seconds, rules_calls = asyncio.run(rapport_run(base_url, concurrency, n, reader="rules"))
            rules = rules_calls * LATENCY / concurrency / rules_seconds
            ours_seconds, ours_calls = asyncio.run(rapport_run(base_url, concurrency, n))
            ours = ours_calls * LATENCY / concurrency / ours_seconds
            try:
                peer_seconds, peer_calls = asyncio.run(openevals_run(base_url, concurrency, n))
                peer = peer_calls * LATENCY / concurrency / peer_seconds
                peer_text = f"openevals {peer:.2f} in the same run"
            except ImportError:
                peer, peer_text = None, "openevals not installed (pip install openevals)"
            anchor = "; ".join(filter(None, [peer_text, f"issue's openevals figure {PEER_ANCHOR[concurrency]}"
                                             if concurrency in PEER_ANCHOR else ""]))
            goal = GOALS.get(concurrency)
            results.append(result(
                "throughput", f"throughput.rules.c{concurrency}",
                f"Suite throughput, {n} simulated 5-turn cases, concurrency {concurrency}, 200 ms/call, turns read by "
                "phrase rules (ratio of ideal)",
                rules, "of ideal", figure=f"{rules:.2f} ({rules_seconds:.1f} s for {rules_calls} calls)", anchor=anchor,
                goal=f"≥ {goal}" if goal else "", met=(rules >= goal) if goal else None,
            ))
            results.append(result(
                "throughput", f"throughput.coder.c{concurrency}",
                f"Suite throughput, same, every turn read by the learned coder (ratio of ideal)",
                ours, "of ideal", figure=f"{ours:.2f} ({ours_seconds:.1f} s for {ours_calls} calls)", anchor=anchor,
                goal=f"≥ {goal}" if goal else "", met=(ours >= goal) if goal else None,
            ))
            if peer is not None:
                results.append(result(
                    "throughput", f"throughput.openevals.c{concurrency}",
                    f"Peer: openevals, same workload, concurrency {concurrency} (ratio of ideal)",
                    peer, "of ideal", figure=f"{peer:.2f} ({peer_seconds:.1f} s for {peer_calls} calls)",
                    anchor=f"issue's figure {PEER_ANCHOR[concurrency]}" if concurrency in PEER_ANCHOR else "",
                ))
    return results
