"""How a response relates to what the other person said: grounding, parroting, stems and specificity.

A reflection carries the other person's content; a reflection stem with nothing of theirs in it is not
one, and a reply that would fit any conversation is not specific to this one. These measures are read
from the words of both turns and from their sentence vectors against a bank of other people's turns
(`bank`, stored with the heads): a specific reply is closer to its own context than to most others.
"""

from __future__ import annotations

import re

import numpy as np

from .lexical import _content, words

# Openers that announce a reflection; what follows them is what has to carry the other person's content.
STEM = re.compile(
    r"(?:^|(?<=[.!?,;:]\s))\s*(?:so,?\s+|and\s+|well,?\s+|okay,?\s+|ok,?\s+)?(?:"
    r"it (?:sounds|seems|feels|looks) (?:like|as if|as though|that)|sounds like|seems like|"
    r"so (?:you(?:'re| are)|what you(?:'re| are)) saying(?: is)?(?: that)?|what i'?m hearing(?: is)?(?: that)?|"
    r"i(?:'m| am) hearing(?: that)?|i hear (?:you saying )?(?:that )?|if i(?:'m| am) hearing you right,?|"
    r"i (?:totally |completely |really )?understand(?: how you feel| that| what you mean| where you're coming from)?|"
    r"i can (?:see|imagine|understand|tell)(?: that| how| why)?|you(?:'re| are) (?:feeling|saying)(?: that)?|"
    r"you feel(?: that| like)?|it must (?:be|have been)|that must (?:be|have been)|in other words,?)\b",
    re.IGNORECASE,
)
_FEELING = re.compile(
    r"\b(?:feel\w*|frustrat\w*|upset|angry|annoyed|sad|hurt\w*|worr\w*|anxious|scared|afraid|stress\w*|"
    r"overwhelm\w*|exhaust\w*|tired|lonely|disappoint\w*|confus\w*|difficult|hard|tough|painful|awful|terrible)\b",
    re.IGNORECASE,
)
BANK_SIZE = 256

RELATION_FEATURE_NAMES: tuple[str, ...] = (
    "has_stem",
    "after_stem_grounding",
    "after_stem_content_words",
    "shared_trigrams",
    "longest_shared_run",
    "novel_content_words",
    "person_shift",
    "only_question",
    "specificity_gap",
    "specificity_rank",
)


def strip_stems(text: str) -> str:
    """The response without its reflection stems and generic feeling words: what must carry their content."""
    return _FEELING.sub(" ", STEM.sub(" ", text))


def longest_shared_run(context_words: list[str], response_words: list[str]) -> int:
    """Length of the longest run of words the response copies from the context (n-gram sets, linear per length)."""
    best = 0
    while best < min(len(context_words), len(response_words)):
        n = best + 1
        grams = {tuple(context_words[i : i + n]) for i in range(len(context_words) - n + 1)}
        if not any(tuple(response_words[i : i + n]) in grams for i in range(len(response_words) - n + 1)):
            break
        best = n
    return best


def parroting(context: str, response: str) -> bool:
    """Near-verbatim repetition of their words with little of one's own: at most a simple reflection."""
    context_words, response_words = words(context), words(response)
    if len(response_words) < 3 or not context_words:
        return False
    run = longest_shared_run(context_words[:200], response_words[:200])
    novel = _content(response_words) - _content(context_words)
    copied = run / len(response_words)
    return (run >= 6 or copied >= 0.6 or (run >= 4 and run >= 0.8 * len(_content(context_words)))) and len(novel) <= 2


def grounding(context: str, response: str) -> float:
    """Share of the response's own content words (stems and feeling words aside) that come from the context."""
    rest = _content(words(strip_stems(response)))
    return len(rest & _content(words(context))) / len(rest) if rest else 0.0


def shared_content(context: str, response: str) -> int:
    """How many of the response's own content words (stems and feeling words aside) come from the context."""
    return len(_content(words(strip_stems(response))) & _content(words(context)))


def lexical_fit(context: str, response: str) -> float:
    """0..1: how much of their content the response carries (share of its own words, or four shared words)."""
    rest = _content(words(strip_stems(response)))
    shared = len(rest & _content(words(context)))
    return max(shared / len(rest) if rest else 0.0, min(1.0, shared / 4))


def bank_similarities(response_vectors: np.ndarray, bank: np.ndarray | None) -> np.ndarray:
    """Cosine of each response with each bank context: (n, bank size); empty when there is no bank."""
    if bank is None or not len(bank):
        return np.zeros((len(response_vectors), 0), np.float32)
    return response_vectors @ bank.T


def specificity_terms(own: np.ndarray, others: np.ndarray, has_context: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gap, rank): own-context cosine minus the mean over the bank, and the share of bank contexts it beats."""
    if others.shape[1] == 0:
        return np.zeros_like(own), np.full_like(own, 0.5)
    gap = own - others.mean(axis=1)
    rank = (others < own[:, None]).mean(axis=1)
    return np.where(has_context, gap, 0.0).astype(np.float32), np.where(has_context, rank, 0.5).astype(np.float32)


def specificity(rank: float, gap: float, lexical: float, has_context: bool) -> float:
    """0..1: how far the reply fits this context rather than any context (0.5 when there is no context).

    Semantic: the reply is closer to its own context than to most of the bank, by a clear margin; lexical: it
    carries their words (`lexical_fit`). Either is enough; a stock line has neither.
    """
    if not has_context:
        return 0.5
    semantic = min(1.0, max(0.0, (rank - 0.55) / 0.4)) * min(1.0, max(0.0, gap / 0.15))
    return float(min(1.0, max(semantic, lexical)))


def relation_features(context: str, response: str, gap: float, rank: float) -> list[float]:
    """RELATION_FEATURE_NAMES for one pair (gap and rank come from `specificity_terms`)."""
    context_words, response_words = words(context), words(response)
    context_content = _content(context_words)
    rest = _content(words(strip_stems(response)))
    tri_r = set(zip(response_words, response_words[1:], response_words[2:]))
    tri_c = set(zip(context_words, context_words[1:], context_words[2:]))
    first_in_context = any(w in {"i", "i'm", "my", "me", "i've", "we", "our"} for w in context_words)
    second_in_response = any(w in {"you", "your", "you're", "you've", "yourself"} for w in response_words)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", response.strip()) if s]
    return [
        float(bool(STEM.search(response))),
        len(rest & context_content) / len(rest) if rest else 0.0,
        min(len(rest), 10) / 10.0,
        len(tri_r & tri_c) / max(len(tri_r), 1),
        min(longest_shared_run(context_words[:200], response_words[:200]), 12) / 12.0,
        min(len(_content(response_words) - context_content), 15) / 15.0,
        float(first_in_context and second_in_response),
        float(bool(sentences) and all(s.endswith("?") for s in sentences)),
        gap,
        rank,
    ]
