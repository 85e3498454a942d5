"""A persona's question said back as reported speech from the learner's side: "Is this going to hurt?" -> "whether
this is going to hurt", "Where's my refund?" -> "where your refund is"."""

from __future__ import annotations

import re

from .perspective import to_listener

_PRONOUN = r"(?:I|you|we|it|this|that|they|he|she|there)"
_AUX = r"(?:will|would|can|could|should|is|are|am|was|were|have|has)"
_YES_NO = re.compile(rf"^(?P<aux>{_AUX})\s+(?P<subject>{_PRONOUN})\s+(?P<rest>\w.*)$", re.IGNORECASE)
_WH = r"(?:what|why|how|when|where|who|which\s+\w+|how\s+(?:long|much|many|often|soon))"
_WH_AUX = re.compile(rf"^(?P<wh>{_WH})\s+(?P<aux>{_AUX})\s+(?P<subject>{_PRONOUN})\s+(?P<rest>\w.*)$", re.IGNORECASE)
_WH_BE = re.compile(
    rf"^(?P<wh>{_WH})(?:'s|\s+is)\s+(?P<thing>(?:the|my|your|our|this|that|a|an)\s+[\w\s']+)$", re.IGNORECASE)
# "Do you ...?" needs the verb inflected once "do" is gone ("does it hurt" -> "whether it hurts"): left alone.
_DO = re.compile(r"^(?:do|does|did|don't|doesn't|didn't)\b", re.IGNORECASE)
_INVERTED = re.compile(rf"^(?:{_AUX}|{_WH}|isn't|aren't|won't|can't|wouldn't|couldn't|shouldn't)\b", re.IGNORECASE)


_LEADING = re.compile(r"^(?:(?:so|and|but|well|okay|ok|look|then)\b,?\s*)+", re.IGNORECASE)
_STATEMENT_START = frozenset(
    """i i'm i've i'd i'll you you're you've we we're it it's this that that's there there's they they're he he's
    she she's my your our their the a an""".split())
_I_FORMS = ("I", "I'm", "I've", "I'd", "I'll")


def _subject(word: str) -> str:
    return "I" if word == "I" else word.lower()


def reported(question: str) -> str | None:
    """The question as "whether ..." / "what ... is" in the learner's words, or None if it has no safe form."""
    text = _LEADING.sub("", question.strip().rstrip("?").strip())
    if not text or _DO.match(text):
        return None
    if (m := _WH_AUX.match(text)) is not None:
        said = f"{m.group('wh').lower()} {_subject(m.group('subject'))} {m.group('aux').lower()} {m.group('rest')}"
    elif (m := _WH_BE.match(text)) is not None:
        said = f"{m.group('wh').lower()} {m.group('thing')} is"
    elif (m := _YES_NO.match(text)) is not None:
        said = f"whether {_subject(m.group('subject'))} {m.group('aux').lower()} {m.group('rest')}"
    elif not _INVERTED.match(text) and text.split()[0].lower() in _STATEMENT_START:  # "You're saying it's my fault?"
        said = "whether " + (text if text.split()[0] in _I_FORMS else text[0].lower() + text[1:])
    else:
        return None
    return to_listener(said)
