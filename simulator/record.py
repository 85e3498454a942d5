"""A session as stored: who it was with, what was said, how the relationship moved, how it ended, its scores.

The store loads and saves this; a live `Session` wraps one with a model and a reader. Everything that only
shows a session (history, scorecards, exports, reports) reads a record and never needs a model.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .appraisal import TurnAppraisal
from .persona.spec import Difficulty, PersonaSpec
from .state import RapportState
from .trajectory import TrajectoryPoint, trajectory_points
from .transcript import Speaker, Transcript, Turn


class EndReason(StrEnum):
    LEARNER_ENDED = "learner_ended"
    TURN_LIMIT = "turn_limit"
    PERSONA_ENDED = "persona_ended"
    SUCCESS = "success"  # the persona's success outcome happened (e.g. agreed to a demo)
    FAILURE = "failure"  # trust collapsed and the persona ended the conversation


# How each ending reads in a list of sessions (the CLI's and the History tab's).
END_WORDS = {EndReason.LEARNER_ENDED: "ended", EndReason.TURN_LIMIT: "turn limit", EndReason.PERSONA_ENDED: "they left",
             EndReason.SUCCESS: "success", EndReason.FAILURE: "failure"}


class Ending(BaseModel):
    reason: EndReason
    detail: str = ""

    @property
    def outcome(self) -> str | None:
        """'success', 'failure', or None when the conversation ended without either."""
        return self.reason.value if self.reason in (EndReason.SUCCESS, EndReason.FAILURE) else None


class SavedScorecard(BaseModel):
    """A scorecard saved with the session (its shape is defined in evals, which the simulator never imports)."""

    model_config = ConfigDict(extra="forbid")

    source: str
    data: dict[str, Any]
    created_at: datetime | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def new_session_id() -> str:
    return uuid.uuid4().hex


class SessionRecord(BaseModel):
    """One conversation's stored state. A live session changes it in place as the conversation goes on."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    id: str = Field(default_factory=new_session_id)
    persona: PersonaSpec  # a snapshot: the persona as it was when the session started
    difficulty: Difficulty = Difficulty.MEDIUM
    max_turns: int = Field(default=40, ge=1)
    model: str = ""  # the persona model's label, for the history
    learner_id: str | None = None  # the owner, once stored
    started_at: datetime = Field(default_factory=_now)
    updated_at: datetime | None = None
    turns: list[Turn] = Field(default_factory=list)
    trajectory: list[TurnAppraisal] = Field(default_factory=list)  # one appraisal per learner turn
    ending: Ending | None = None
    scorecards: list[SavedScorecard] = Field(default_factory=list)  # oldest first, as saved

    @property
    def preset(self):
        return self.persona.preset(self.difficulty)

    @property
    def ended(self) -> bool:
        return self.ending is not None

    @property
    def learner_turn_count(self) -> int:
        return sum(1 for t in self.turns if t.speaker is Speaker.LEARNER)

    @property
    def unlocked(self) -> list[str]:
        """Hidden item ids the learner earned, in the order they were earned."""
        return [item for a in self.trajectory for item in a.unlocked]

    def transcript(self) -> Transcript:
        return Transcript(persona=self.persona.id, turns=list(self.turns))

    def trajectory_points(self) -> list[TrajectoryPoint]:
        """The relationship at the start and after each learner turn, with reasons."""
        return trajectory_points(RapportState.initial(self.preset), self.trajectory)
