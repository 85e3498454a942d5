"""Vector retrieval on Chroma (local mode): recall@3 on the labelled set, and query latency p50/p95.

Runs in a temporary store, so the user's ~/.rapport/chroma is never touched.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from .results import Result, result

N_QUERIES = 200
N_MEMORIES = 2000
RECALL_GOAL = 0.9


@contextmanager
def temporary_store() -> Iterator[None]:
    """RAPPORT_CHROMA_PATH in a temporary folder (and no server) for the duration; restored after."""
    from simulator.vectors import close_clients

    names = ("RAPPORT_CHROMA_PATH", "RAPPORT_CHROMA_HOST", "RAPPORT_EMBEDDINGS")
    saved = {name: os.environ.get(name) for name in names}
    with tempfile.TemporaryDirectory() as folder:
        os.environ["RAPPORT_CHROMA_PATH"] = os.path.join(folder, "chroma")
        os.environ.pop("RAPPORT_CHROMA_HOST", None)
        os.environ.pop("RAPPORT_EMBEDDINGS", None)
        try:
            yield
        finally:
            close_clients()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    return statistics.median(samples_ms), statistics.quantiles(samples_ms, n=20)[18]


def timed(call, arguments: list) -> list[float]:
    samples = []
    for argument in arguments:
        started = time.perf_counter()
        call(argument)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run() -> list[Result]:
    from simulator.embeddings import get_embedder
    from simulator.persona import PersonaLibrary
    from simulator.vectors import KnowledgeIndex, MemoryIndex, MemoryItem
    from simulator.vectors.labelled_set import ENTRIES, QUERIES, measure_recall

    get_embedder()  # the model load is the coder benchmark's business, not retrieval's
    with temporary_store():
        started = time.perf_counter()
        recall = measure_recall(k=3)
        first_use = time.perf_counter() - started

        persona = PersonaLibrary().get("procurement-skeptic")
        knowledge = KnowledgeIndex()
        knowledge.retrieve(persona, "warm-up")
        questions = [QUERIES[i % len(QUERIES)][0] + f" ({i})" for i in range(N_QUERIES)]  # distinct texts
        k_p50, k_p95 = percentiles(timed(lambda q: knowledge.retrieve(persona, q), questions))

        memory = MemoryIndex()
        start = datetime(2025, 1, 1, tzinfo=UTC)
        memory.add(
            MemoryItem(learner_id=f"learner-{n % 50}", persona_id="procurement-skeptic", session_id=f"s{n // 10}",
                       kind="fact", text=f"{ENTRIES[n % len(ENTRIES)].content} (note {n})",
                       created_at=start + timedelta(minutes=n))
            for n in range(N_MEMORIES)
        )
        m_p50, m_p95 = percentiles(timed(lambda q: memory.retrieve("learner-7", "procurement-skeptic", q), questions))

    described = f"{len(QUERIES)} questions over {len(ENTRIES)} pooled entries"
    return [
        result("retrieval", "retrieval.recall_at_3", f"Knowledge retrieval recall@3 (MiniLM int8, {described})",
               recall.recall_at_k, "", figure=f"{recall.recall_at_k:.3f} (recall@1 {recall.recall_at_1:.3f}, "
               f"MRR {recall.mrr:.3f})", goal=f"≥ {RECALL_GOAL}", met=recall.recall_at_k >= RECALL_GOAL),
        result("retrieval", "retrieval.knowledge_query",
               "Knowledge retrieval, one question, local Chroma (embed + filtered query, p50 / p95)", k_p50, "ms",
               figure=f"{k_p50:.1f} / {k_p95:.1f} ms"),
        result("retrieval", "retrieval.memory_query",
               f"Memory retrieval among {N_MEMORIES:,} memories of 50 learners, local Chroma (p50 / p95)", m_p50, "ms",
               figure=f"{m_p50:.1f} / {m_p95:.1f} ms"),
        result("retrieval", "retrieval.first_use",
               "First use of a new local store: open Chroma, create and fill a collection, 40 queries", first_use, "s"),
    ]
