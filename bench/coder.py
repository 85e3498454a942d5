"""The offline behavioural coder: responses per second in batch, single-call latency, load time."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from .results import Result, result

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "datasets"
N_BATCH, N_SINGLE = 1000, 100


def distinct_pairs(n: int) -> tuple[list[tuple[str, str]], str]:
    """n (context, response) pairs with every text distinct: real ESConv turns when the corpus is here."""
    if (DATA / "esconv" / "test.json").exists():
        from simulator.coder import datasets

        seen: set[str] = set()
        pairs = []
        for _, turn in datasets.iter_support_turns(datasets.read_esconv(DATA)):
            if turn.context and turn.context not in seen and turn.response not in seen:
                seen |= {turn.context, turn.response}
                pairs.append((turn.context, turn.response))
                if len(pairs) == n:
                    return pairs, "ESConv supporter turns"
    stems = ["I keep forgetting my meds and I'm scared of side effects", "Our budget got cut again this quarter",
             "I don't see the point of this homework", "My manager keeps piling work on me"]
    return [(f"{stems[i % 4]} (day {i}).", f"What has been hardest about that, case {i}?") for i in range(n)], "generated"


def run() -> list[Result]:
    started = time.perf_counter()
    from simulator.coder import load_coder

    coder = load_coder()
    load = time.perf_counter() - started
    pairs, source = distinct_pairs(N_BATCH + N_SINGLE + 10)
    coder.code_batch(pairs[-10:])  # warm-up
    started = time.perf_counter()
    coder.code_batch(pairs[:N_BATCH])
    per_second = N_BATCH / (time.perf_counter() - started)
    singles = []
    for context, response in pairs[N_BATCH : N_BATCH + N_SINGLE]:
        started = time.perf_counter()
        coder.code(context, response)
        singles.append((time.perf_counter() - started) * 1000)
    p50, p95 = statistics.median(singles), statistics.quantiles(singles, n=20)[18]
    return [
        result("coder", "coder.batch", f"Behavioural coder, batch of {N_BATCH} distinct {source}", per_second,
               "responses/s", goal="≥ 200 responses/s", met=per_second >= 200),
        result("coder", "coder.single", "Behavioural coder, one call (p50 / p95)", p50, "ms",
               figure=f"{p50:.1f} / {p95:.1f} ms"),
        result("coder", "coder.load", "Behavioural coder, load (embedder + heads)", load, "s"),
    ]
