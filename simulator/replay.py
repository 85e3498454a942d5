"""Replay a finished transcript through the turn reader (and the rapport dynamics, when the persona is known)."""

from __future__ import annotations

from .appraisal import TurnAppraisal
from .dynamics import RapportDynamics
from .persona.spec import Difficulty, PersonaSpec, Verbosity
from .signals import Conversation, TurnReader, TurnReading
from .transcript import Speaker, Transcript


def conversation_at(transcript: Transcript, index: int, persona: PersonaSpec | None = None) -> Conversation:
    """The conversation as the reader sees it when reading turn `index` (everything before it)."""
    before = transcript.turns[:index]
    return Conversation(
        persona=persona, verbosity=persona.preset(Difficulty.MEDIUM).verbosity if persona else Verbosity.BRIEF,
        persona_turns=[t.text for t in before if t.speaker is Speaker.PERSONA],
        learner_turns=[t.text for t in before if t.speaker is Speaker.LEARNER],
    )


def replay_readings(transcript: Transcript, reader: TurnReader, persona: PersonaSpec | None = None) -> dict[int, TurnReading]:
    """The reading of every learner turn, keyed by its index in the transcript."""
    return {index: reader.read(turn.text, conversation_at(transcript, index, persona))
            for index, turn in enumerate(transcript.turns) if turn.speaker is Speaker.LEARNER}


def replay_dynamics(
    transcript: Transcript, persona: PersonaSpec, reader: TurnReader, difficulty: Difficulty = Difficulty.MEDIUM
) -> RapportDynamics:
    """The rapport dynamics as they would have moved over this transcript."""
    dynamics = RapportDynamics(persona, difficulty, reader, nonverbal=False)
    for index, turn in enumerate(transcript.turns):
        if turn.speaker is Speaker.LEARNER:
            dynamics.observe(transcript.turns[: index + 1])
    return dynamics


def appraisals_by_turn(dynamics: RapportDynamics) -> dict[int, TurnAppraisal]:
    return {a.turn: a for a in dynamics.trajectory}
