"""How a response relates to what the other person said: grounding, parroting, stems and specificity.

A reflection carries the other person's content; a reflection stem with nothing of theirs in it is not
one, and a reply that would fit any conversation is not specific to this one. These measures are read
from the words of both turns and from their sentence vectors against a bank of other people's turns
(`bank`, stored with the heads): a specific reply is closer to its own context than to most others.
"""

from __future__ import annotations

import re

import numpy as np

from .lexical import _STOPWORDS, _content, words

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
BANK_SIZE = 256  # rows asked for; per-corpus shares round to 255

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


# Their "I" is our "you": compare echoes with the person shifted out, so "I've got three bills" and "you've got
# three bills" count as the same words.
_PERSON = {"i": "1", "me": "1", "you": "1", "my": "2", "your": "2", "mine": "3", "yours": "3", "myself": "4",
           "yourself": "4", "i'm": "5", "you're": "5", "i've": "6", "you've": "6", "i'd": "7", "you'd": "7",
           "i'll": "8", "you'll": "8", "am": "9", "are": "9", "here": "h", "there": "h", "we": "1", "us": "1", "our": "2"}


def _unpersoned(text: str) -> list[str]:
    return [_PERSON.get(w, w) for w in words(text)]


def parroting(context: str, response: str) -> bool:
    """Near-verbatim repetition of their words with little of one's own: at most a simple reflection.

    Measured on the reply without its stem ("So you're saying:"), with grammatical person shifted out: most of
    what is left is copied from their turn in runs of three words or more, and it adds at most two content words.
    """
    context_words, response_words = _unpersoned(context), _unpersoned(strip_stems(response))
    if len(response_words) < 3 or not context_words:
        return False
    novel = _content(words(response)) - _content(words(context)) - set(_PERSON)
    return copied_share(context_words[:200], response_words[:200]) >= 0.7 and len(novel) <= 2


def copied_share(context_words: list[str], response_words: list[str], n: int = 3) -> float:
    """Share of the response's words inside a run of `n` or more words that also stands in the context."""
    grams = {tuple(context_words[i : i + n]) for i in range(len(context_words) - n + 1)}
    covered = [False] * len(response_words)
    for i in range(len(response_words) - n + 1):
        if tuple(response_words[i : i + n]) in grams:
            covered[i : i + n] = [True] * n
    return sum(covered) / len(response_words) if response_words else 0.0


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


NEAREST = 32  # bank turns most like the real context: the hard negatives a specific reply must beat


def local_specificity_terms(
    context_vectors: np.ndarray, response_vectors: np.ndarray, bank: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(gap, rank) against the NEAREST bank turns to each context, not the whole bank.

    Against the whole bank any sympathetic line beats maths-classroom turns; against turns like theirs only a
    reply that fits their words does.
    """
    n = len(response_vectors)
    if bank is None or not len(bank):
        return np.zeros(n, np.float32), np.full(n, 0.5, np.float32)
    k = min(NEAREST, len(bank))
    nearest = np.argpartition(-(context_vectors @ bank.T), k - 1, axis=1)[:, :k]
    others = np.einsum("nd,nkd->nk", response_vectors, bank[nearest])
    own = np.einsum("nd,nd->n", response_vectors, context_vectors)
    return (own - others.mean(axis=1)).astype(np.float32), (others < own[:, None]).mean(axis=1).astype(np.float32)


def specificity(rank: float, gap: float, lexical: float, has_context: bool) -> float:
    """0..1: how far the reply fits this context rather than any context (0.5 when there is no context).

    Semantic: the reply is closer to its own context than to the bank turns most like it, by a clear margin
    (`local_specificity_terms`). Lexical: it carries their words (`lexical_fit`); words alone earn at most 0.5,
    since a list of their nouns carries words without meaning anything by them.
    """
    if not has_context:
        return 0.5
    semantic = min(1.0, max(0.0, (rank - 0.5) / 0.4)) * min(1.0, max(0.0, (gap - 0.08) / 0.2))
    return float(min(1.0, max(semantic, min(lexical, 0.5 + 0.5 * semantic))))


def word_salad(response: str) -> bool:
    """Statements that are a list of words rather than sentences ("Veritrack, eighteen months, Venlo, euros.").

    Said sentences are about half function words; a run of their nouns carries their words without saying
    anything, so it is neither a reflection nor specific.
    """
    statements = " ".join(s for s in re.split(r"(?<=[.!?])\s+", strip_stems(response)) if not s.rstrip().endswith("?"))
    tokens = words(statements)
    return len(tokens) >= 4 and sum(t in _STOPWORDS for t in tokens) / len(tokens) < 0.15


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
