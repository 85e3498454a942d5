"""Was advice asked for (by the context) or permitted (asked for in the response)?

MI counts advice as adherent when the other person asked for it or gave permission, so the
learned "giving suggestions" head is only half of the `advice` code. No corpus labels this;
these are explicit-wording rules, kept narrow so "I don't know what to do" (not a request)
does not license advice.
"""

from __future__ import annotations

import re

_ADVICE_REQUEST = re.compile(
    r"|".join(
        [
            r"\bwhat\s+(?:should|shall|can|could|do|would|must)\s+i\s+do\b",
            r"\bwhat\s+(?:should|can|could|do)\s+we\s+do\b",
            r"\bwhat\s+(?:would|do|should)\s+you\s+(?:do|suggest|recommend|advise|propose)\b",
            r"\bwhat\s+do\s+you\s+think\s+i\s+should\b",
            r"\b(?:do|would)\s+you\s+(?:have|know)\s+(?:any|some)\s+(?:advice|suggestions?|tips|ideas|recommendations)\b",
            r"\b(?:any|some|need|want|give\s+me|looking\s+for|appreciate|welcome)\s+"
            r"(?:\w+\s+)?(?:advice|suggestions?|tips|recommendations|pointers|guidance)\b",
            r"\b(?:can|could|would)\s+you\s+(?:please\s+)?(?:help\s+me|advise|suggest|recommend|"
            r"tell\s+me\s+(?:how|what\s+to))\b",
            r"\bhow\s+(?:can|could|should|do|would)\s+i\s+(?:\w+\s+)?(?:start|begin|get|find|deal|cope|handle|"
            r"stop|fix|make|go\s+about|manage|improve|remember|avoid|keep)\b",
            r"\b(?:should|shall)\s+i\b[^.!]*\?",
            r"\bis\s+there\s+(?:anything|something)\s+i\s+(?:can|could|should)\s+do\b",
            r"\bwhat\s+are\s+my\s+options\b",
            r"\bwhat\s+would\s+you\s+do\s+(?:if\s+you\s+were|in\s+my)\b",
            r"\bwhat\s+works?\s+for\s+(?:other|most)\s+people\b",
        ]
    ),
    re.IGNORECASE,
)
_PERMISSION_ASK = re.compile(
    r"|".join(
        [
            r"\b(?:would|do)\s+you\s+(?:like|want)\s+(?:some|any|a\s+few|me\s+to|to\s+hear)\b[^.!?]*"
            r"\b(?:ideas?|suggest\w*|advice|tips?|thoughts?|share|offer|options?|what\s+(?:has|others))",
            r"\b(?:can|could|may|might)\s+i\s+(?:offer|share|make|give|suggest|tell\s+you|mention|add)\b",
            r"\bwould\s+it\s+be\s+(?:ok|okay|alright|all\s+right|helpful|useful)\s+(?:if|for)\s+(?:i|me)\b",
            r"\b(?:do|would)\s+you\s+mind\s+if\s+i\b",
            r"\bif\s+(?:it'?s|it\s+is|that'?s|that\s+is)\s+(?:ok|okay|alright|all\s+right)\s+with\s+you\b",
            r"\bif\s+you(?:'re|\s+are)\s+open\s+to\b",
            r"\bwith\s+your\s+permission\b",
            r"\b(?:are|would)\s+you\s+(?:be\s+)?open\s+to\s+(?:some|a|hearing|an?\s+idea)\b",
        ]
    ),
    re.IGNORECASE,
)


def asks_for_advice(context: str) -> bool:
    """True when the other person explicitly asked for advice, ideas or what to do."""
    return bool(_ADVICE_REQUEST.search(context))


def asks_permission(response: str) -> bool:
    """True when the response asks permission before offering advice or information."""
    return bool(_PERMISSION_ASK.search(response))
