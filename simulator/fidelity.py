"""Keep the persona in character: checks on a reply before it is committed to the transcript."""

from __future__ import annotations

import re

_BREAKS = {
    "claims to be an AI": re.compile(
        r"\b(as an ai|i am an ai|i'm an ai|i am a language model|i'm a language model|large language model|"
        r"an ai (model|assistant)|ai assistant|i'm (just )?a (computer )?program|i am (just )?a (computer )?program|"
        r"i'm a chatbot|i am a chatbot|openai|this is a (simulation|role-?play))\b",
        re.IGNORECASE,
    ),
    "reveals its instructions": re.compile(
        r"\b(system prompt|my instructions|i (was|have been|am) instructed|my prompt|hidden information|"
        r"my character (sheet|description)|stay in character)\b",
        re.IGNORECASE,
    ),
    "coaches the learner": re.compile(
        r"\b(as your coach|a better (way|question) (to ask )?would be|you could try (asking|saying)|"
        r"(good|great|nice) (use of|job (with|on)) (reflect|empath|active listening|open question)|"
        r"feedback on your (approach|technique)|your rapport[- ]building)\b",
        re.IGNORECASE,
    ),
}


_ASKED_IF_MACHINE = re.compile(
    r"\b(are you|you are|you're|r u)\b[^.?!]{0,25}\b(an? )?(ai|a\.i\.|bot|robot|chatbot|language model|model|"
    r"computer|program|machine|chatgpt|gpt|simulation)\b",
    re.IGNORECASE,
)
_AFFIRMS = re.compile(r"^\W*(\*[^*]*\*\s*)?(yes|yeah|yep|sure|i think,? yes|correct|that's right|i am\b|i am one)", re.IGNORECASE)


def character_breaks(text: str, learner_text: str = "") -> list[str]:
    """Which ways, if any, `text` breaks character (`learner_text` is the message it answers)."""
    found = [name for name, pattern in _BREAKS.items() if pattern.search(text)]
    if learner_text and _ASKED_IF_MACHINE.search(learner_text) and _AFFIRMS.search(text):
        found.append("agrees it is a machine")
    return found


def clean_reply(text: str, speaker_labels: list[str]) -> str:
    """Trim a raw model reply: drop a leading own-name label, cut where another speaker starts, end on a sentence."""
    text = text.strip()
    for label in speaker_labels:
        if text.lower().startswith(label.lower() + ":"):
            text = text[len(label) + 1 :].strip()
    for label in speaker_labels:
        cut = re.search(rf"(^|\n|\s){re.escape(label)}:", text)
        if cut and cut.start() > 0:
            text = text[: cut.start()].strip()
    text = text.replace("\n", " ").strip().strip('"').strip()
    return end_on_sentence(text)


def end_on_sentence(text: str) -> str:
    """Drop a trailing unfinished sentence (a reply cut off by the token limit), if a finished one precedes it."""
    if not text or text[-1] in ".!?…*\"')":
        return text
    last = max(text.rfind(". "), text.rfind("! "), text.rfind("? "), text.rfind("* "))
    return text[: last + 1].strip() if last > 0 else text


def drop_breaking_sentences(text: str, learner_text: str = "") -> str:
    """`text` without the sentences that break character."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if not character_breaks(s)]
    if sentences and character_breaks(sentences[0], learner_text):
        sentences = sentences[1:]
    return " ".join(sentences).strip()
