"""Conversation-level aggregates of turn codes (e.g. to tell good support from failed support)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .codes import TurnCodes


def conversation_empathy(codes: Sequence[TurnCodes]) -> float:
    """Mean turn empathy (1..5) over the learner's turns; the conversation-level empathy score."""
    if not codes:
        raise ValueError("a conversation needs at least one coded turn")
    return float(np.mean([c.empathy for c in codes]))


def conversation_profile(codes: Sequence[TurnCodes]) -> dict[str, float]:
    """Means and rates of every code over a conversation's learner turns."""
    if not codes:
        raise ValueError("a conversation needs at least one coded turn")
    return {
        "empathy": conversation_empathy(codes),
        "uptake": float(np.mean([c.uptake for c in codes])),
        "emotional_reaction": float(np.mean([c.emotional_reaction for c in codes])),
        "interpretation": float(np.mean([c.interpretation for c in codes])),
        "exploration": float(np.mean([c.exploration for c in codes])),
        "reflection_rate": float(np.mean([c.reflection != "none" for c in codes])),
        "open_question_rate": float(np.mean([c.question == "open" for c in codes])),
        "closed_question_rate": float(np.mean([c.question == "closed" for c in codes])),
        "affirmation_rate": float(np.mean([c.affirmation for c in codes])),
        "advice_rate": float(np.mean([c.advice for c in codes])),
    }
