"""How the state shapes the persona: tone, length and guardedness in the prompt, and body language."""

from __future__ import annotations

import re

from .appraisal import TurnAppraisal
from .persona.spec import PersonaSpec, Verbosity
from .state import Mood, RapportState

MOOD_DIRECTIONS = {
    Mood.HOSTILE: "You are fed up with them and close to ending this conversation.",
    Mood.IRRITATED: "What they just said annoyed you, and it shows in your tone.",
    Mood.DISENGAGED: "You are losing interest: short, flat answers; your mind is elsewhere.",
    Mood.GUARDED: "You do not trust them yet: keep answers short, volunteer nothing personal, make them earn it.",
    Mood.CAUTIOUS: "You are cautious but listening: you answer what is asked without opening up much.",
    Mood.WARMING: "You are starting to trust them: you can say a little more about what really matters to you.",
    Mood.OPEN: "You trust them now: you speak openly and would agree to a sensible next step if they ask for it.",
}
_ORDER = [Verbosity.TERSE, Verbosity.BRIEF, Verbosity.MODERATE, Verbosity.TALKATIVE]
_NEGATIVE_CUE = re.compile(r"clock|watch|fold|cross|sigh|frown|roll|away|tap|stiff|narrow|shrug|door|phone|jaw|lips", re.I)
_POSITIVE_CUE = re.compile(r"smile|lean|nod|laugh|relax|looks up|soften|eye contact|uncross|warm|grin", re.I)
GENERIC_CUES = {"positive": "*nods slowly*", "negative": "*looks away*"}


# The same moods told in the third person, for base models that continue a script (see prompts.stage_note).
MOOD_NOTES = {
    Mood.HOSTILE: "{name} is fed up and close to ending the conversation.",
    Mood.IRRITATED: "{name} is annoyed by what was just said, and it shows.",
    Mood.DISENGAGED: "{name} is losing interest and answers in a few flat words.",
    Mood.GUARDED: "{name} does not trust them yet and keeps answers short.",
    Mood.CAUTIOUS: "{name} is cautious but listening.",
    Mood.WARMING: "{name} is starting to trust them and says a little more.",
    Mood.OPEN: "{name} trusts them now and speaks openly.",
}


def mood_direction(state: RapportState) -> str:
    return MOOD_DIRECTIONS[state.mood]


def reaction_notes(appraisal: TurnAppraisal | None, persona: PersonaSpec) -> list[str]:
    """What the persona felt about the learner's last turn, in words the persona model can act on."""
    if appraisal is None:
        return []
    strongest = sorted(appraisal.changes, key=lambda c: abs(c.trust), reverse=True)[:2]
    notes = []
    for change in strongest:
        if change.cause == "drift" or abs(change.trust) < 2:
            continue
        feeling = "it made you feel heard" if change.trust > 0 else "it put you off"
        notes.append(f"In their last message: {change.reason.split(';')[0]} — {feeling}.")
    return notes


def verbosity_for(state: RapportState, preset_verbosity: Verbosity) -> Verbosity:
    """Guarded or disengaged people say less; people who trust you say more."""
    index = _ORDER.index(preset_verbosity)
    if state.mood in (Mood.HOSTILE, Mood.DISENGAGED, Mood.IRRITATED):
        index = 0
    elif state.mood is Mood.GUARDED:
        index = min(index, 1)
    elif state.mood is Mood.OPEN:
        index = min(index + 1, len(_ORDER) - 1)
    return _ORDER[index]


def choose_cue(persona: PersonaSpec, trust_change: float, turn: int) -> str | None:
    """A stage direction when the turn clearly moved them (|Δtrust| ≥ 4), picked from the persona's own cues."""
    if abs(trust_change) < 4:
        return None
    valence = "positive" if trust_change > 0 else "negative"
    pattern = _POSITIVE_CUE if valence == "positive" else _NEGATIVE_CUE
    matching = [c for c in persona.nonverbal_cues if pattern.search(c)]
    if not matching:
        return GENERIC_CUES[valence]
    return matching[(turn // 2) % len(matching)]  # varies from one learner turn to the next, deterministically
