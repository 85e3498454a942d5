"""The behavioural codes of one learner turn, and the head probabilities behind them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Annotated[int, Field(ge=0, le=2)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class TurnCodes(BaseModel):
    """What a learner's turn did, coded offline (MI / Helping-Skills / EPITOME terms)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    emotional_reaction: Level = Field(
        description="EPITOME ER: 0 none, 1 weak, 2 strong expression of warmth, compassion or concern."
    )
    interpretation: Level = Field(
        description="EPITOME IP: 0 none, 1 weak, 2 strong communication of understanding of the other's feelings "
        "or experience (at least 1 for a simple and 2 for a complex reflection)."
    )
    exploration: Level = Field(
        description="EPITOME EX: 0 none, 1 weak, 2 strong exploration of feelings or experiences not yet stated."
    )
    reflection: Literal["none", "simple", "complex"] = Field(
        description="MI reflection: simple repeats or rephrases; complex adds meaning or feeling."
    )
    question: Literal["none", "open", "closed"] = Field(
        description="Open if the turn asks any question inviting elaboration, closed if only yes/no or short-fact ones."
    )
    affirmation: bool = Field(description="Affirms the other's strengths, efforts or worth, or reassures them.")
    advice: bool = Field(description="Gives suggestions or advice without being asked and without asking permission.")
    uptake: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        description="How far the turn builds on what the other just said (0 ignores it, 1 takes it up)."
    )
    empathy: Annotated[float, Field(ge=1.0, le=5.0)] = Field(
        description="1 + 4 * (E[ER] + max(E[IP], E[reflection]) + E[EX]) / 6 from the heads' probabilities."
    )


class TurnProbabilities(BaseModel):
    """The calibrated-ish head outputs behind a TurnCodes, for thresholds and aggregates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    emotional_reaction: tuple[Probability, Probability, Probability]
    interpretation: tuple[Probability, Probability, Probability]
    exploration: tuple[Probability, Probability, Probability]
    reflection: tuple[Probability, Probability, Probability] = Field(description="P(none), P(simple), P(complex).")
    strategy: dict[str, Probability] = Field(description="ESConv Helping-Skills strategy distribution.")
    suggestion: Probability = Field(description="P(the turn gives suggestions), before the consent rules.")
    affirmation: Probability
    advice_requested: bool = Field(description="The context explicitly asked for advice.")
    permission_asked: bool = Field(description="The response asks permission before advising.")
