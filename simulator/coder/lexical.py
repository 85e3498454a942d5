"""Cheap surface features of a (context, response) pair that sentence embeddings blur.

Mean-pooled embeddings dilute a single question or "I'm sorry" inside a long reply, and say
nothing about word overlap, which is how uptake (building on the other's words) shows.
"""

from __future__ import annotations

import math
import re

import numpy as np

from .questions import question_kinds, split_sentences

_WORDS = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOPWORDS = frozenset(
    """a an the and or but if so of to in on at for with from by as is are was were be been being am
    i me my mine you your yours he she it its we our they them their this that these those there here
    do does did have has had not no yes just very really too also then than can could would should will
    what why how when where who which im i'm it's that's don't dont like get got um uh oh okay ok yeah""".split()
)
_CUES = {
    "sorry": r"\b(?:sorry|so sad|that sucks|that's awful|that's terrible|heartbreaking|hugs?)\b",
    "interpretation": r"\b(?:sounds? like|seems? like|it seems|must (?:be|feel|have)|i (?:can )?"
    r"(?:imagine|understand|hear you|get it|see why)|you(?:'re| are) feeling|you feel|makes sense|"
    r"i(?:'ve| have) been (?:there|through)|same (?:here|thing)|i know how)\b",
    "feeling_words": r"\b(?:feel\w*|scared|afraid|anxious|sad|angry|upset|hurt\w*|lonely|overwhelm\w*|"
    r"frustrat\w*|worr\w*|stress\w*|depress\w*|hopeless|guilt\w*|ashamed|tired|exhausted)\b",
    "advice": r"\b(?:you should|you could|you need to|you have to|you must|try to|try (?:and|\w+ing)|"
    r"have you tried|why don't you|i (?:suggest|recommend|advise)|my advice|it (?:might|may|would|could) "
    r"help|consider|make sure|don't forget|maybe (?:you|try)|how about|what if you)\b",
    "affirmation": r"\b(?:proud|great job|well done|good for you|good job|brave|strong|courage\w*|"
    r"you can do|you(?:'ve| have) (?:done|worked|managed|made)|impressive|amazing|admire|"
    r"you deserve|you(?:'re| are) (?:not alone|doing|worth|capable|a good))\b",
    "reassurance": r"\b(?:it(?:'ll| will) (?:be|get)|you(?:'ll| will) (?:be|get|find|make)|"
    r"things will|don't worry|it's (?:ok|okay|normal|natural|understandable))\b",
    "self_disclosure": r"\b(?:i (?:had|have had|went|was|used to|remember|also)|when i was|me too|"
    r"my (?:mom|dad|wife|husband|friend|sister|brother|experience))\b",
}
_CUE_PATTERNS = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in _CUES.items()}

LEXICAL_FEATURE_NAMES: tuple[str, ...] = (
    "log_response_words",
    "log_context_words",
    "has_context",
    "n_sentences",
    "ends_with_question",
    "n_open_questions",
    "n_closed_questions",
    "exclamations",
    "second_person_rate",
    "first_person_rate",
    "response_words_in_context",
    "context_words_in_response",
    "shared_bigrams",
    "starts_with_you",
    *(f"cue_{name}" for name in _CUES),
)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes kept inside words)."""
    return _WORDS.findall(text.lower().replace("’", "'"))


def _content(tokens: list[str]) -> set[str]:
    """Tokens that carry meaning (no stopwords, no one-letter words)."""
    return {t for t in tokens if t not in _STOPWORDS and len(t) > 1}


def lexical_features(context: str, response: str) -> np.ndarray:
    """The LEXICAL_FEATURE_NAMES vector for one pair."""
    response_words = words(response)
    context_words = words(context)
    n = max(len(response_words), 1)
    response_content, context_content = _content(response_words), _content(context_words)
    response_bigrams = set(zip(response_words, response_words[1:]))
    context_bigrams = set(zip(context_words, context_words[1:]))
    kinds = question_kinds(response)
    values = [
        math.log1p(len(response_words)),
        math.log1p(len(context_words)),
        float(bool(context.strip())),
        min(len(split_sentences(response)), 10) / 10.0,
        float(response.strip().endswith("?")),
        min(kinds.count("open"), 3),
        min(kinds.count("closed"), 3),
        min(response.count("!"), 3),
        sum(w in {"you", "your", "you're", "yours", "yourself", "you've", "you'll", "you'd"} for w in response_words)
        / n,
        sum(w in {"i", "me", "my", "i'm", "mine", "myself", "i've", "i'd", "i'll"} for w in response_words) / n,
        len(response_content & context_content) / max(len(response_content), 1),
        len(response_content & context_content) / max(len(context_content), 1),
        len(response_bigrams & context_bigrams) / max(len(response_bigrams), 1),
        float(bool(response_words) and response_words[0] in {"you", "your", "you're"}),
    ]
    values += [min(len(p.findall(response)), 3) for p in _CUE_PATTERNS.values()]
    return np.asarray(values, dtype=np.float32)


def cue_count(name: str, text: str) -> int:
    """How many times one of the `_CUES` word lists ("advice", "affirmation", ...) occurs in `text`."""
    return len(_CUE_PATTERNS[name].findall(text))
