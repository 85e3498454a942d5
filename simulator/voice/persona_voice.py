"""How a persona sounds: the optional `voice:` block of a persona file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# The offline voice speaks at this pace with rate 1.0 (measured: 164 words a minute over the bundled personas' lines).
BASE_WORDS_PER_MINUTE = 165.0


class PersonaVoice(BaseModel):
    """Pitch and pace for the offline voice, and a voice name for an online one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pitch: float = Field(0.0, ge=-6.0, le=6.0, description="Semitones above (+) or below (-) the base voice.")
    rate: float = Field(1.0, ge=0.6, le=1.5, description="Speaking pace: 1.0 is the voice's own, 0.85 slower, 1.2 faster.")
    name: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                             description="Voice name at an online speech endpoint (e.g. 'alloy'); unused offline.")

    @property
    def words_per_minute(self) -> float:
        """The pace this voice is set to speak at (for delivery: the learner's rate against the persona's)."""
        return BASE_WORDS_PER_MINUTE * self.rate


DEFAULT_VOICE = PersonaVoice()
