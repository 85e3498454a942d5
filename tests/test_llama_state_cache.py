"""The embedded model's state cache: one entry per conversation, and no copy of the logits buffer in each."""

from __future__ import annotations

import numpy as np
from llama_cpp import LlamaState

from simulator.models.llama_state_cache import MAX_ENTRIES, PrefixStateCache


def _state(tokens: tuple[int, ...]) -> LlamaState:
    return LlamaState(input_ids=np.array(tokens, dtype=np.intc), scores=np.ones((512, 1000), dtype=np.single),
                      n_tokens=len(tokens), llama_state=b"x" * 100, llama_state_size=100, seed=1)


def test_a_conversation_keeps_one_entry_without_its_logits():
    cache = PrefixStateCache(capacity_bytes=10_000)
    cache[(1, 2, 3)] = _state((1, 2, 3))  # the warmed instructions
    cache[(1, 2, 3, 4, 5)] = _state((1, 2, 3, 4, 5))  # the first turn supersedes them
    cache[(1, 9)] = _state((1, 9))  # another learner
    assert set(cache.cache_state) == {(1, 2, 3, 4, 5), (1, 9)}
    assert all(s.scores.nbytes <= 4000 for s in cache.cache_state.values())  # not 512 x vocabulary floats
    assert cache[(1, 2, 3, 4, 5, 6)].n_tokens == 5  # found again by its prefix


def test_the_number_of_entries_is_bounded():
    cache = PrefixStateCache(capacity_bytes=10**9)
    for n in range(MAX_ENTRIES + 5):
        cache[(n, n + 1)] = _state((n, n + 1))
    assert len(cache.cache_state) == MAX_ENTRIES and (0, 1) not in cache.cache_state
