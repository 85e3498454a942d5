"""Counts the prompt tokens llama.cpp really evaluates, to show what the cached prefix saves (tests and bench)."""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class PromptMeter:
    """(prompt tokens, tokens evaluated) for every generation while active, in call order."""

    calls: list[tuple[int, int]] = field(default_factory=list)


@contextmanager
def metered() -> Iterator[PromptMeter]:
    """Within this block, every llama.cpp generation records how much of its prompt it had to read."""
    from llama_cpp import Llama

    meter, original = PromptMeter(), Llama.generate

    def generate(llama, tokens, *args, **kwargs):
        tokens = list(tokens)
        # What llama.cpp keeps: the longest prefix shared with what it last evaluated (after any state it loaded
        # from the cache); it always re-reads at least the last token.
        reused = Llama.longest_token_prefix(llama._input_ids.tolist(), tokens) if llama.n_tokens else 0
        meter.calls.append((len(tokens), len(tokens) - min(reused, len(tokens) - 1)))
        return original(llama, tokens, *args, **kwargs)

    Llama.generate = generate
    try:
        yield meter
    finally:
        Llama.generate = original
