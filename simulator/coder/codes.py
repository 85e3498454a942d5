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
        "or experience (at least 1 for a complex reflection)."
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
        description="1 + 4 * (E[ER] + max(E[IP], E[reflection]) + E[EX]) / 6 from the heads' probabilities, "
        "with warmth and understanding discounted when the reply would fit any context (low specificity)."
    )
    specificity: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        default=0.5,
        description="How far the reply fits this context rather than any context: its similarity to what they said "
        "against its similarity to other people's turns, and the share of its own words that come from theirs "
        "(0.5 when there is no context).",
    )
    parroting: bool = Field(
        default=False, description="Repeats their words near-verbatim with little of its own (at most a simple reflection)."
    )
    hollow_praise: bool = Field(
        default=False, description="Generic praise or a platitude that points at nothing they did, said or are."
    )
    grader_directed: bool = Field(
        default=False, description="Contains text aimed at the grader or the model; it earns nothing and is flagged."
    )
    advice_with_permission: bool = Field(
        default=False, description="Gives suggestions after they asked for advice or after asking permission."
    )
    question_follows: bool = Field(
        default=False, description="Asks a question that follows from what they said (false when there is no question)."
    )
    stock_question: bool = Field(
        default=False, description="Asks a stock question that fits any context ('Tell me more', 'How does that make you feel?')."
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
