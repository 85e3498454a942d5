"""Rule-based question finder: none / open / closed, following MITI 4.2 definitions.

No training corpus labels open vs closed (ESConv only says "Question"), so this is rules:
- closed: answerable with yes/no or a short fact (auxiliary-first, who/when/where/which,
  how many/much/long/often/old, tag questions, declaratives ending in "?");
- open: invites the other person to elaborate (what/why/how..., "tell me more",
  "could you say more about", "walk me through", even without a question mark).
A turn with any open question is "open" (it invites elaboration), else "closed" if any question.
"""

from __future__ import annotations

import re
from typing import Literal

QuestionKind = Literal["none", "open", "closed"]

_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_FILLER = re.compile(
    r"^(?:(?:so|and|but|ok|okay|well|hmm+|um+|uh+|alright|right|now|then|also|oh|ah|yeah|yes|no|"
    r"i see|i.m curious|i am curious|i wonder|just curious|out of curiosity)\s*[,:;-]?\s+)+",
    re.IGNORECASE,
)
_ELABORATION_REQUEST = re.compile(
    r"^(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|(?:do|would)\s+you\s+(?:want|like|mind)\s+(?:to\s+)?|"
    r"please\s+)?"
    r"(?:tell\s+(?:me|us)\s+(?:more|about|what|how|why|a\s+(?:bit|little))|say\s+more|describe|explain|"
    r"walk\s+me\s+through|help\s+me\s+understand|share\s+(?:more|what|how|a\s+bit)|talk\s+(?:to\s+me\s+)?about|"
    r"elaborate|expand\s+on|give\s+me\s+an?\s+example)\b",
    re.IGNORECASE,
)
_OPEN_WH = re.compile(r"^(?:what|why|how|in\s+what\s+way|what's|whats|how's|hows|how\s+come)\b", re.IGNORECASE)
# Wh-questions that ask for one short fact are closed in MITI terms.
_CLOSED_WH = re.compile(
    r"^(?:who|whom|whose|when|where|which|"
    r"how\s+(?:many|much|often|long|old|far|soon|tall|big|late|early|wide|high|heavy|deep|fast|large|small|close)|"
    r"what\s+(?:time|day|date|year|month|age|dose|dosage|number|grade|size|colou?r|kind|type|sort)\b|"
    r"what(?:'s|\s+is|\s+are|\s+would)?\s+(?:\d|one|two|three|four|five|six|seven|eight|nine|ten)\b|"
    r"what\s+is\s+your\s+name|are|is|am|was|were|do|does|did|have|has|had|can|could|will|would|"
    r"should|shall|may|might|must|isn't|aren't|wasn't|weren't|don't|doesn't|didn't|haven't|hasn't|"
    r"can't|couldn't|won't|wouldn't|shouldn't|any|anything|anyone|ever|right|true|really|you)\b",
    re.IGNORECASE,
)
_TAG_QUESTION = re.compile(
    r",\s*(?:isn't|aren't|wasn't|weren't|don't|doesn't|didn't|won't|wouldn't|can't|haven't|hasn't|right|"
    r"yes|no|ok|okay|correct|huh|eh)\b[^,]*\?$",
    re.IGNORECASE,
)


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, split after . ! ? and at line breaks."""
    return [s.strip() for s in _SENTENCES.split(text.strip()) if s.strip()]


# "…, can you tell me?" after a wh-clause only hands the question over; the wh-clause carries it.
_BARE_REQUEST = re.compile(r"^(?:(?:can|could|would|will)\s+you|do\s+you\s+know)(?:\s+(?:tell|say|explain|remember))?"
                           r"(?:\s+(?:me|us))?\W*$", re.IGNORECASE)


def _question_clause(sentence: str) -> str:
    """The clause that carries the question: the last comma-separated part that starts like one."""
    clauses = [c.strip() for c in re.split(r"[,;:\u2014\u2013]|\s-\s", sentence) if c.strip()]
    if len(clauses) > 1 and _BARE_REQUEST.match(_FILLER.sub("", clauses[-1])):
        clauses = clauses[:-1]
    for clause in reversed(clauses):
        stripped = _FILLER.sub("", clause)
        if _OPEN_WH.match(stripped) or _CLOSED_WH.match(stripped) or _ELABORATION_REQUEST.match(stripped):
            return stripped
    return _FILLER.sub("", sentence.strip())


def classify_sentence(sentence: str) -> QuestionKind:
    """Open, closed or no question for one sentence."""
    text = sentence.strip().strip("\"'“”‘’()")
    head = _FILLER.sub("", text)
    if _ELABORATION_REQUEST.match(head):
        return "open"
    if not text.endswith("?"):
        return "none"
    if _TAG_QUESTION.search(text):
        return "closed"
    clause = _question_clause(text)
    if _ELABORATION_REQUEST.match(clause):
        return "open"
    if _CLOSED_WH.match(clause):
        return "closed"
    if _OPEN_WH.match(clause):
        return "open"
    # A statement said as a question ("You stopped?") asks for confirmation.
    return "closed"


def question_kinds(text: str) -> list[QuestionKind]:
    """The question kind of every sentence that is a question."""
    kinds = [classify_sentence(s) for s in split_sentences(text)]
    return [k for k in kinds if k != "none"]


def classify_turn(text: str) -> QuestionKind:
    """ "open" if the turn asks any open question, "closed" if only closed ones, else "none"."""
    kinds = question_kinds(text)
    if "open" in kinds:
        return "open"
    return "closed" if kinds else "none"
