"""The persona's hidden state in one session: trust, openness, engagement (0-100) and a mood."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from .persona.spec import DifficultyPreset


class Mood(StrEnum):
    HOSTILE = "hostile"
    IRRITATED = "irritated"
    DISENGAGED = "disengaged"
    GUARDED = "guarded"
    CAUTIOUS = "cautious"
    WARMING = "warming"
    OPEN = "open"


def _clamp(value: float) -> float:
    return max(0.0, min(100.0, value))


class RapportState(BaseModel):
    """Where the relationship stands. Floats internally; shown rounded."""

    model_config = ConfigDict(extra="forbid")

    trust: float = Field(ge=0, le=100)
    openness: float = Field(ge=0, le=100)
    engagement: float = Field(ge=0, le=100)
    mood: Mood = Mood.GUARDED

    @classmethod
    def initial(cls, preset: DifficultyPreset) -> RapportState:
        state = cls(trust=preset.trust, openness=preset.openness, engagement=preset.engagement)
        return state.with_mood(last_trust_change=0.0)

    def moved(self, trust: float, openness: float, engagement: float) -> RapportState:
        """A new state moved by the given deltas, clamped to 0-100, with its mood recomputed."""
        moved = RapportState(
            trust=_clamp(self.trust + trust),
            openness=_clamp(self.openness + openness),
            engagement=_clamp(self.engagement + engagement),
        )
        return moved.with_mood(last_trust_change=trust)

    def with_mood(self, last_trust_change: float) -> RapportState:
        """The mood follows the levels, and a sharp drop in trust shows at once as irritation."""
        if self.trust < 10:
            mood = Mood.HOSTILE
        elif last_trust_change <= -6:
            mood = Mood.IRRITATED
        elif self.engagement < 22:
            mood = Mood.DISENGAGED
        elif self.trust < 30:
            mood = Mood.GUARDED
        elif self.trust < 50:
            mood = Mood.CAUTIOUS
        elif self.trust < 70:
            mood = Mood.WARMING
        else:
            mood = Mood.OPEN
        return self.model_copy(update={"mood": mood})

    def rounded(self) -> dict[str, int | str]:
        return {
            "trust": round(self.trust),
            "openness": round(self.openness),
            "engagement": round(self.engagement),
            "mood": self.mood.value,
        }
