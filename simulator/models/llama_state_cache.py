"""llama.cpp's state cache, keeping one small entry per conversation instead of one large one per turn."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from llama_cpp import LlamaRAMCache, LlamaState

MAX_ENTRIES = 24  # conversations whose prefix is kept; the oldest unused one goes first


class PrefixStateCache(LlamaRAMCache):
    """A turn's saved state supersedes the states saved for its own prefix (the same conversation's earlier turns
    or its warmed instructions), so those are dropped: each learner keeps one entry and learners sharing the
    model evict each other only when the capacity is really used.

    llama-cpp-python copies the whole logits buffer (n_batch x vocabulary, ~300 MB for Qwen) into every state and
    does not count it; it is never read back usefully (generation re-evaluates the last prompt token after a load),
    so one zero row is kept instead."""

    def __setitem__(self, key: Sequence[int], value: LlamaState) -> None:
        key = tuple(key)
        for older in [k for k in self.cache_state if len(k) < len(key) and key[: len(k)] == k]:
            del self.cache_state[older]
        value.scores = np.zeros((1, value.scores.shape[-1]), dtype=np.single)
        super().__setitem__(key, value)
        while len(self.cache_state) > MAX_ENTRIES:
            self.cache_state.popitem(last=False)
