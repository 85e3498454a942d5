"""Engine overhead per turn with a zero-latency fake model (turns 1, 50, 200), and prompt size per turn against the
naive full-history prompt."""

from __future__ import annotations

import statistics
import time

from .results import Result, result

TURNS = 200
SAMPLES_AT = (1, 50, 200)
RUNS = 20  # conversations, for percentiles at each sampled turn
LEARNER = [
    "What went wrong with Veritrack, from where you sat?",
    "That sounds exhausting, especially since you championed it. What would you need this time?",
    "It makes sense you'd want proof. What matters most to your operations team?",
    "You mentioned the CFO earlier. What would make this easy to defend?",
    "I can set up a reference call with a customer running SAP, so you can check for yourself.",
]
REPLIES = [
    "Fair enough. *makes a note* We need all three sites live within a year.",
    "Proof, mostly. Not promises. Our last vendor had plenty of those.",
    "That it works on a Monday morning in Venlo, with real drivers and real delays.",
    "Something I can put in front of the CFO without blushing.",
    "A reference call would help. Someone running SAP, ideally.",
]


def tokens(text: str) -> int:
    """A model-independent estimate: about four characters per token (no tokenizer download needed)."""
    return max(1, round(len(text) / 4))


_numbers = iter(range(1, 10**9))


async def conversation(persona, timings: dict[int, list[float]], prompt_tokens: list[int] | None,
                       naive_tokens: list[int] | None) -> None:
    """One 200-turn conversation on the async path the app and the suite runner use. Every text is distinct (numbered
    across conversations), so the reader's memo of embedded texts saves only what it saves in real use."""
    from simulator.models import ScriptedChatModel
    from simulator.session import Session

    model = ScriptedChatModel(respond=lambda messages: f"{REPLIES[len(messages) % len(REPLIES)]} (#{next(_numbers)})")
    session = Session(persona, model, max_turns=TURNS + 1)
    for turn in range(1, TURNS + 1):
        started = time.perf_counter()
        async for _ in session.send(f"{LEARNER[turn % len(LEARNER)]} (#{next(_numbers)})"):
            pass
        if turn in timings:
            timings[turn].append((time.perf_counter() - started) * 1000)
        if prompt_tokens is not None:
            prompt = model.prompts[-1]
            prompt_tokens.append(sum(tokens(str(m.content)) for m in prompt))
            naive_tokens.append(tokens(str(prompt[0].content)) + sum(tokens(t.text) for t in session.turns[:-1]))


def run() -> list[Result]:
    import asyncio

    from simulator.persona import PersonaLibrary

    persona = PersonaLibrary().get("procurement-skeptic")
    timings: dict[int, list[float]] = {n: [] for n in SAMPLES_AT}
    prompt_tokens: list[int] = []
    naive_tokens: list[int] = []
    async def all_conversations() -> None:
        # One event loop, as in the app and the suite runner; a first conversation warms the process up.
        await conversation(persona, {n: [] for n in SAMPLES_AT}, None, None)
        for run_index in range(RUNS):
            first = run_index == 0
            await conversation(persona, timings, prompt_tokens if first else None, naive_tokens if first else None)

    asyncio.run(all_conversations())
    results = []
    for turn in SAMPLES_AT:
        p50 = statistics.median(timings[turn])
        p95 = statistics.quantiles(timings[turn], n=20)[18]
        results.append(result("engine", f"engine.turn{turn}", f"Engine overhead per turn at turn {turn}, zero-latency "
                              f"fake model, learned coder reading every turn ({RUNS} conversations; p50 / p95)", p95, "ms",
                              figure=f"{p50:.1f} / {p95:.1f} ms", goal="p95 < 20 ms, flat as the conversation grows",
                              met=p95 < 20))
    flat = max(statistics.quantiles(timings[t], n=20)[18] for t in SAMPLES_AT) < 1.5 * statistics.quantiles(
        timings[1], n=20)[18] + 2
    results.append(result("engine", "engine.flat", "Engine overhead stays flat from turn 1 to turn 200", float(flat), "",
                          figure="yes" if flat else "no", met=flat))
    results.append(result(
        "engine", "prompt.tokens", "Prompt tokens per turn (turn 1 / 50 / 200; ≈ characters / 4)", prompt_tokens[-1],
        "tokens", figure=f"{prompt_tokens[0]} / {prompt_tokens[49]} / {prompt_tokens[-1]} tokens (max {max(prompt_tokens)})",
        anchor=f"naive full history: {naive_tokens[0]} / {naive_tokens[49]} / {naive_tokens[-1]} tokens",
        goal="bounded", met=max(prompt_tokens) < 2 * prompt_tokens[10],
    ))
    return results
