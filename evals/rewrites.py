"""Offline rewrites of a learner's weak turn: reflect what the other person said, then ask or offer, never tell.

No LLM: the reflection flips the pronouns of the other person's most telling sentence ("I'm scared of the
side effects" -> "It sounds like you're scared of the side effects"), and the follow-up fits what went wrong.
"""

from __future__ import annotations

import re

from simulator.behaviours import Behaviour
from simulator.cues import find

B = Behaviour
_FLIPS = {
    "i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "i'm": "you're", "im": "you're",
    "i've": "you've", "i'd": "you'd", "i'll": "you'll", "we": "you", "us": "you", "our": "your", "ours": "yours",
    "we're": "you're", "we've": "you've", "am": "are",
}
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_STAGE = re.compile(r"\*[^*]*\*")
# "I was" -> "you were", but "it was" stays: only the speaker's own "was" changes person.
_SPEAKER_WAS = re.compile(r"\b(I|we)(\s+)was\b", re.IGNORECASE)
# Openers that carry no content and read oddly after "It sounds like" ("It sounds like sorry, ...").
_OPENER = re.compile(
    r"^(?:(?:sorry|well|oh|look|listen|yeah|yes|no|so|honestly|hello|hi|right|okay|ok|um+|uh+|hm+|anyway|and|but)"
    r"\b[,.!]?\s*)+", re.IGNORECASE)
MIN_WORDS = 4  # shorter sentences ("I don't know.") make an empty-sounding reflection

FOLLOW_UPS: dict[Behaviour | None, tuple[str, str]] = {
    B.UNSOLICITED_ADVICE: ("Would it help to look at some options together, or would you rather talk it through first?",
                           "advice given before it was asked for closes people down; reflecting and asking permission keeps them talking"),
    B.JUDGMENT: ("What has made it hard?", "judging puts them on the defensive; curiosity about what made it hard invites the real story"),
    B.PUSHING_AGENDA: ("Before I say anything more about what I can offer, what matters most to you here?",
                       "pushing your own agenda before understanding theirs reads as not listening"),
    B.TOPIC_SHIFT: ("Can you tell me more about that?", "changing the subject signals their point did not matter; staying with it shows it did"),
    B.IGNORING_CONCERN: ("Tell me more about that worry — what part of it weighs on you most?",
                         "an unanswered concern grows; naming it and asking about it shows you take it seriously"),
    B.JARGON: ("What would be most useful for me to explain, in plain terms?", "jargon creates distance; plain words and a question invite them in"),
    B.HOLLOW_FLATTERY: ("It took real effort to get this far — what has helped you keep going?",
                        "generic praise sounds scripted; recognising a specific effort sounds sincere"),
    B.CLOSED_QUESTION: ("What has that been like for you?", "a closed question gets a yes or no; an open one invites their own account"),
    None: ("What matters most to you about that?", "a reflection followed by an open question shows you heard them and invites more"),
}


def flip_pronouns(text: str) -> str:
    """Turn the speaker's first person into second person, word by word."""
    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        flipped = _FLIPS.get(word.lower())
        return word if flipped is None else flipped  # the caller lower-cases the clause start anyway

    text = _SPEAKER_WAS.sub(lambda m: f"{m.group(1)}{m.group(2)}were", text)
    return re.sub(r"[A-Za-z']+", swap, text)


def telling_sentence(context: str) -> str:
    """The other person's sentence that carries the most: a worry if there is one, else the longest."""
    stripped = (_OPENER.sub("", s.strip()) for s in _SENTENCE.split(_STAGE.sub("", context)))
    sentences = [s for s in stripped if len(s.split()) >= MIN_WORDS]
    if not sentences:
        return ""
    worried = [s for s in sentences if find("concern_words", s)]
    return (worried or sorted(sentences, key=lambda s: len(s.split()), reverse=True))[0]


def reflection_of(context: str, max_words: int = 20) -> str:
    sentence = telling_sentence(context)
    if not sentence:
        return ""
    words = flip_pronouns(sentence.rstrip(".!?")).split()
    clause = " ".join(words[:max_words])
    return f"It sounds like {clause[0].lower() + clause[1:]}." if clause else ""


def rewrite_turn(context: str, problem: Behaviour | None) -> tuple[str, str]:
    """(a better turn, why it is better) for a learner turn that showed `problem`, answering `context`."""
    question, why = FOLLOW_UPS.get(problem, FOLLOW_UPS[None])
    reflection = reflection_of(context)
    better = f"{reflection} {question}".strip()
    return better, why[0].upper() + why[1:] + "."
