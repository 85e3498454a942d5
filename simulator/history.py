"""Keep the persona prompt bounded: recent turns verbatim, older ones as a short running summary."""

from __future__ import annotations

import re

from .transcript import Speaker, Turn

RECENT_TURNS = 12  # about six exchanges verbatim: enough for tone and follow-ups, bounded in cost
# Chat prompts move their window in steps of this many turns: between steps the prompt only grows at its end,
# so a local model reuses what it already read instead of re-reading everything each turn.
HISTORY_STEP = 8
SUMMARY_CHARS = 900
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def split_history(turns: list[Turn], recent: int = RECENT_TURNS, step: int = 1) -> tuple[list[Turn], list[Turn]]:
    """(older, recent) turns; `recent` keeps at least `recent` turns (all when fewer) and fewer than `recent + step`,
    the split moving only in whole steps."""
    if len(turns) <= recent:
        return [], list(turns)
    cut = (len(turns) - recent) // step * step
    return list(turns[:cut]), list(turns[cut:])


def gist(text: str, max_words: int = 22) -> str:
    """The first sentence of `text`, cut to `max_words` words."""
    first = _SENTENCE.split(" ".join(text.split()), maxsplit=1)[0]
    words = first.split()
    return " ".join(words[:max_words]) + ("…" if len(words) > max_words else "")


def summarise(older: list[Turn], persona_name: str, learner_label: str, max_chars: int = SUMMARY_CHARS) -> str:
    """A deterministic, extractive summary of `older` turns, newest kept first when space runs out."""
    lines: list[str] = []
    used = 0
    for turn in reversed(older):
        who = persona_name if turn.speaker is Speaker.PERSONA else learner_label
        line = f"- {who}: {gist(turn.text)}"
        if used + len(line) + 1 > max_chars:
            break
        lines.append(line)
        used += len(line) + 1
    lines.reverse()
    omitted = len(older) - len(lines)
    head = f"(and {omitted} earlier turns)\n" if omitted else ""
    return head + "\n".join(lines)
