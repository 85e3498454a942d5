"""Decide what the persona conveys next, so a small model only has to say it.

A 1.5B chat model keeps a character far better when told, just before it speaks, how this person feels now,
what they react to and the one thing they bring up; left to choose, it drifts into an assistant's voice.
The engine already knows all of this (the appraisal of the learner's move, what was earned, what was said),
so the plan is built from it deterministically: same conversation, same plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .appraisal import TurnAppraisal
from .behaviours import Behaviour
from .first_person import base_verb, first_person
from .persona.spec import HiddenItem, PersonaSpec, Verbosity
from .state import Mood, RapportState
from .transcript import Speaker, Turn

LENGTHS = {
    Verbosity.TERSE: "one short sentence, a few words",
    Verbosity.BRIEF: "one or two short sentences",
    Verbosity.MODERATE: "two or three sentences",
    Verbosity.TALKATIVE: "three or four sentences",
}
FEELINGS = {  # one or two words: a small model repeats whole sentences of its note, rarely a label
    Mood.HOSTILE: "fed up, close to walking out",
    Mood.IRRITATED: "annoyed",
    Mood.DISENGAGED: "bored, flat",
    Mood.GUARDED: "guarded",
    Mood.CAUTIOUS: "cautious",
    Mood.WARMING: "warming up",
    Mood.OPEN: "open, trusting",
}
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_COMMON = frozenset(
    "about above after again against also although always another because been before being below between both "
    "cannot could does doing down during each either enough even ever every from further have having here into "
    "itself just least less like made make many might more most much must near never only other over same should "
    "since some such than that their them then there these they this those though through under until upon very "
    "want well were what when where which while whom whose will with within without would your yours".split()
)


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 3} - _COMMON


def distinctive_words(item: HiddenItem, persona: PersonaSpec) -> set[str]:
    """Words of a hidden item that the persona's public description never uses: saying them means telling it."""
    public = _words(" ".join([persona.background, *persona.concerns, *persona.goals, persona.scenario.setting]))
    return _words(item.content) - public


def mentions(item: HiddenItem, persona: PersonaSpec, text: str) -> bool:
    """Whether `text` brings up the hidden item: two of its distinctive words (one, if it has only a few)."""
    distinct = distinctive_words(item, persona)
    needed = 2 if len(distinct) >= 4 else 1
    return len(distinct & _words(text)) >= needed


def earned_turns(trajectory: list[TurnAppraisal]) -> dict[str, int]:
    """Hidden item id -> index of the learner turn that earned it."""
    return {item: a.turn for a in trajectory for item in a.unlocked}


def untold(persona: PersonaSpec, turns: list[Turn], trajectory: list[TurnAppraisal]) -> list[HiddenItem]:
    """Earned hidden items the persona has not brought up in any reply since it earned them, oldest first."""
    earned = earned_turns(trajectory)
    items = []
    for item in sorted(persona.hidden_information, key=lambda i: earned.get(i.id, len(turns))):
        if item.id not in earned:
            continue
        since = [t.text for t in turns[earned[item.id] + 1:] if t.speaker is Speaker.PERSONA]
        if not any(mentions(item, persona, text) for text in since):
            items.append(item)
    return items


# How each move feels from the other side, in the persona's words: a small model acts on "they brushed your worry
# aside" where "ignoring_concern" means nothing to it.
FELT = {
    Behaviour.REFLECTION_SIMPLE: "they showed they heard you",
    Behaviour.REFLECTION_COMPLEX: "they put into words what you feel",
    Behaviour.OPEN_QUESTION: "they asked about you openly",
    Behaviour.CLOSED_QUESTION: "they asked a narrow question",
    Behaviour.VALIDATION: "they took your feelings seriously",
    Behaviour.AFFIRMATION: "they recognised your effort",
    Behaviour.SELF_DISCLOSURE: "they shared something of their own",
    Behaviour.COMMON_GROUND: "they found something you share",
    Behaviour.ADAPTATION: "they matched your pace",
    Behaviour.FOLLOW_UP: "they came back to something you said",
    Behaviour.TOPIC_SHIFT: "they changed the subject",
    Behaviour.IGNORING_CONCERN: "they brushed your worry aside",
    Behaviour.PUSHING_AGENDA: "they pushed their own agenda",
    Behaviour.UNSOLICITED_ADVICE: "they told you what to do before listening",
    Behaviour.JUDGMENT: "they judged you",
    Behaviour.JARGON: "they used words you do not follow",
    Behaviour.HOLLOW_FLATTERY: "they flattered you emptily",
    Behaviour.GRADER_DIRECTED: "they said something odd, not really to you",
}


_TO_YOU = {"he": "you", "she": "you", "him": "you", "her": "your", "his": "your", "himself": "yourself",
           "herself": "yourself"}


def _addressed(description: str) -> str:
    """A trigger as the persona feels it: 'Offers proof she can check herself' -> 'offer proof you can check
    yourself'."""
    first, _, rest = description.rstrip(".").partition(" ")
    rest = re.sub(r"\b(he|she|him|her|his|himself|herself)\b", lambda m: _TO_YOU[m.group(1).lower()], rest,
                  flags=re.IGNORECASE)
    return f"{base_verb(first.lower())} {rest}".strip()


def _reaction(last: TurnAppraisal | None, persona: PersonaSpec) -> str:
    """How the learner's last move landed, in the persona's terms."""
    if last is None:
        return ""
    strongest = max(last.changes, key=lambda c: abs(c.trust), default=None)
    if strongest is None or abs(strongest.trust) < 2:
        return ""
    if strongest.trust > 0:
        return ""  # a welcome move shows in the mood and in what they now tell; said in words, it gets parroted
    if strongest.behaviour is not None:
        felt = FELT[strongest.behaviour]
    elif strongest.cause.startswith("trigger:"):  # the persona's own trigger, described in its file
        _, side, index = strongest.cause.split(":")
        felt = "they " + _addressed(getattr(persona.triggers, side)[int(index)].description)
    else:
        return ""
    return f"You did not like it: {felt}."


def _focus(pending: list[HiddenItem], turns: list[Turn], trajectory: list[TurnAppraisal]) -> HiddenItem:
    """The oldest untold item, for two replies; then the untold ones take turns, so one the model keeps missing
    does not hold back the others."""
    earned = earned_turns(trajectory)
    oldest = pending[0]
    replies_since = sum(1 for t in turns[earned[oldest.id] + 1:] if t.speaker is Speaker.PERSONA)
    return oldest if replies_since < 2 else pending[replies_since % len(pending)]


def _next_part(item: HiddenItem, persona: PersonaSpec, said: list[str]) -> str:
    """The item's first sentence not yet said: one fact at a time reads as a person opening up, not a recital."""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(item.content.split()))
    spoken, distinct = _words(" ".join(said)), distinctive_words(item, persona)
    for sentence in sentences:
        own = _words(sentence) & distinct  # what only this sentence of the secret says
        if len(own - spoken) >= max(1, len(own) // 2):
            return sentence
    return sentences[0]


def _voiced(concern: str, persona: PersonaSpec, said: list[str]) -> bool:
    words = _words(concern) - _words(persona.name)
    return any(len(words & _words(text)) >= max(2, len(words) // 3) for text in said)


@dataclass(frozen=True)
class ReplyPlan:
    """The private note the persona model reads last, and the persona's words in it that it is meant to say."""

    note: str
    conveyed: list[str]


# Moves that make room for the persona to say what is on its mind.
INVITING = frozenset({Behaviour.OPEN_QUESTION, Behaviour.REFLECTION_SIMPLE, Behaviour.REFLECTION_COMPLEX,
                      Behaviour.VALIDATION, Behaviour.FOLLOW_UP})


def plan_reply(persona: PersonaSpec, turns: list[Turn], trajectory: list[TurnAppraisal], state: RapportState,
               verbosity: Verbosity) -> ReplyPlan:
    """Feeling, reaction, the one thing to convey, and length: decided here so the model only says it."""
    said = [t.text for t in turns if t.speaker is Speaker.PERSONA]
    last = trajectory[-1] if trajectory else None
    lines = [f"Mood: {FEELINGS[state.mood]}.", _reaction(last, persona)]
    conveyed: list[str] = []
    pending = untold(persona, turns, trajectory)
    opened = last is not None and last.trust_change > 0
    length = f"Reply as {persona.short_name} (I, my) in {LENGTHS[verbosity]}; say something new."
    if pending:
        item = _focus(pending, turns, trajectory)
        told = first_person(_next_part(item, persona, said), persona)
        conveyed.append(told)
        # last, where a small model looks: the one thing this reply is for
        lines += [length, f"Now tell them, in your own words: {told}" if opened else
                  f"On your mind, to share if they give you room: {told}"]
    elif state.mood in (Mood.HOSTILE, Mood.IRRITATED, Mood.DISENGAGED):
        lines += ["Say how that landed; do not help them along.", length]
    elif last is not None and not INVITING.intersection(last.reading.behaviours):
        lines += ["Answer what they said with something specific from your own life.", length]
    else:  # they asked about you or showed they heard: one of your worries may come out
        fresh = [c for c in persona.concerns if not _voiced(c, persona, said)]
        pool = fresh or persona.concerns
        if pool:
            concern = first_person(pool[len(said) % len(pool)], persona)
            conveyed.append(concern)
            lines.append(f"Answer what they just said; if it fits, let this worry show: {concern}")
        lines.append(length)
    return ReplyPlan(" ".join(line for line in lines if line), conveyed)
