"""Repetition: the same formula, stem or question reused across a learner's turns earns less each time.

A learner who answers every line with "I understand how you feel" or asks "Tell me more" turn after
turn is reciting, not listening. Both the persona's reaction (appraisal) and the scorecard (evals.offline)
discount a turn by its `freshness`: 1.0 for a turn whose sentences are new, lower for each sentence said
before in nearly the same words (strong decay) or opened with a stem already used (mild decay).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9']+")
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
# Openers people teach as formulas; reused with new content they wear thin, but far more slowly than a copy.
_OPENER = r"^(?:(?:so|and|but|well|okay|ok|right|yeah|yes|yep|hmm+|look|honestly|sure|mm+|ah|oh)\b[,.!]?\s+)*"
# Reflection openers are one family: "It sounds like" and "What I'm hearing is" wear thin together.
_REFLECTION_STEM = (
    r"it (?:sounds|seems|feels) (?:like|as if|as though)|sounds like|seems like|"
    r"so (?:you're|you are) saying|(?:you're|you are) saying|what i'?m hearing(?: is)?|i hear (?:you|that)|"
    r"i hear what you(?:'re| are) saying|you(?:'re| are) feeling|you feel"
)
_STOCK_STEM = (
    r"i (?:totally |completely |really )?understand(?: how you feel| that| where you're coming from)?|"
    r"i can (?:see|imagine|understand)|that must (?:be|have been)|i'?m (?:so )?sorry (?:to hear|that|you)|"
    r"it must (?:be|have been)|"
    r"tell me more|can you (?:tell|say) (?:me )?more|how does (?:that|this|it) make you feel|how do you feel about|"
    r"what (?:else|are you not telling me)|great (?:question|point)|that'?s (?:great|amazing|wonderful|awesome)"
)
_STEMS = re.compile(rf"{_OPENER}(?:(?P<reflection>{_REFLECTION_STEM})|(?P<stock>{_STOCK_STEM}))\b", re.IGNORECASE)
MAX_SENTENCES = 40  # per turn, and the most recent 400 earlier ones: bounded work on any input
COPY_DECAY = 0.45  # a sentence said before in nearly the same words
STEM_DECAY = 0.8  # a sentence opened with a formula used before, with new content
NEAR_COPY = 0.7  # word-set Jaccard at which two sentences count as the same words


def sentences(text: str) -> list[str]:
    """The sentences of a turn (split after . ! ? and at line breaks)."""
    return [s.strip() for s in _SENTENCES.split(text.strip()) if s.strip()]


def _words(sentence: str) -> frozenset[str]:
    return frozenset(_WORD.findall(sentence.lower().replace("’", "'")))


def stem(sentence: str) -> str | None:
    """The stock opener a sentence starts with ("tell me more", ...), normalised; every reflection stem is one."""
    match = _STEMS.match(sentence.strip().strip("\"'“”"))
    if not match:
        return None
    return "a reflection stem" if match["reflection"] else " ".join(_WORD.findall(match["stock"].lower()))


def _says_something(sentence: str) -> bool:
    """A sentence of four words or more: "Okay." or "Right, Dana." cannot dilute a repeated formula."""
    return len(_WORD.findall(sentence)) >= 4


def _same_words(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a) and bool(b) and len(a & b) / len(a | b) >= NEAR_COPY


def _parse(turn: str) -> tuple[tuple[str, frozenset[str], str | None], ...]:
    """(sentence, its words, its stem) for the first MAX_SENTENCES sentences of a turn."""
    return tuple((s, _words(s), stem(s)) for s in sentences(turn)[:MAX_SENTENCES])


_parse_cached = lru_cache(maxsize=4096)(_parse)  # each earlier turn is compared again on every later turn


def _parsed(turn: str) -> tuple[tuple[str, frozenset[str], str | None], ...]:
    # Long turns (a pasted essay) are not kept: the cache's size must not depend on what learners type.
    return _parse_cached(turn) if len(turn) <= 2000 else _parse(turn)


def sentence_repeats(text: str, earlier: Sequence[str]) -> list[tuple[str, int, int]]:
    """(sentence, earlier near-copies, earlier uses of its stem) for each sentence of `text`."""
    before = [row for turn in earlier for row in _parsed(turn)][-10 * MAX_SENTENCES :]
    out = []
    for sentence, words, opener in _parsed(text):
        if not _says_something(sentence):
            continue
        copies = sum(_same_words(words, w) for _, w, _ in before)
        stems = sum(opener is not None and opener == s for _, _, s in before)
        out.append((sentence, copies, stems))
    return out


def freshness(text: str, earlier: Sequence[str]) -> float:
    """1.0 for a turn whose every sentence is new; less for each sentence repeated from `earlier` learner turns."""
    rows = sentence_repeats(text, earlier)
    if not rows:
        return 1.0
    # Weighted by length: a long recited sentence outweighs a short fresh one.
    weights = [len(_WORD.findall(sentence)) for sentence, _, _ in rows]
    factors = [COPY_DECAY**copies if copies else STEM_DECAY**stems for _, copies, stems in rows]
    return sum(w * f for w, f in zip(weights, factors)) / sum(weights)


def repeated_formula(text: str, earlier: Sequence[str]) -> str | None:
    """The most repeated sentence or stem of `text`, for the reason shown to the learner (None if all fresh)."""
    rows = [(s, c, k) for s, c, k in sentence_repeats(text, earlier) if c or k]
    if not rows:
        return None
    sentence, copies, stems = max(rows, key=lambda r: (r[1], r[2]))
    return sentence if copies else (stem(sentence) or sentence)
