"""Turns and transcripts: what was said, by whom, in order."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from .voice.delivery import Delivery


class Speaker(StrEnum):
    LEARNER = "learner"
    PERSONA = "persona"


class Turn(BaseModel):
    """One utterance; `index` is its position in the transcript (the opening line is 0)."""

    model_config = ConfigDict(extra="forbid")

    speaker: Speaker
    text: str
    at: datetime | None = Field(default_factory=lambda: datetime.now(UTC))
    delivery: Delivery | None = Field(None, description="How a spoken turn was said; None for a typed one.")


class Transcript(BaseModel):
    """The transcript file format shared by the session, the judge and eval suites."""

    model_config = ConfigDict(extra="allow")

    persona: str | None = None
    turns: list[Turn] = Field(default_factory=list)
