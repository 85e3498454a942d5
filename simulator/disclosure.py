"""Gated disclosure and outcomes: what the persona may share, and when the conversation is won or lost."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .behaviours import Behaviour
from .persona.spec import DifficultyPreset, HiddenItem, PersonaSpec
from .state import RapportState

GUARDEDNESS_SHIFT = 0.3  # each point of guardedness above 50 raises every disclosure threshold by 0.3 trust


def trust_needed(item: HiddenItem, preset: DifficultyPreset) -> float | None:
    """The trust at which `item` is shared at this difficulty (None: trust is not part of its condition)."""
    if item.condition.min_trust is None:
        return None
    return max(0.0, min(100.0, item.condition.min_trust + (preset.guardedness - 50) * GUARDEDNESS_SHIFT))


def condition_holds(item: HiddenItem, state: RapportState, seen: set[Behaviour], preset: DifficultyPreset) -> bool:
    """Every part of the item's condition that is given holds now."""
    needed = trust_needed(item, preset)
    if needed is not None and state.trust < needed:
        return False
    wanted = set(item.condition.after_behaviours)
    return not wanted or bool(wanted & seen)


class Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["success", "failure"]
    description: str
    closing_line: str
    reason: str


def _asked(text: str, keywords: list[str]) -> str | None:
    lowered = text.lower()
    return next((k for k in keywords if re.search(rf"(?<!\w){re.escape(k.lower())}(?!\w)", lowered)), None)


def outcome_after_turn(persona: PersonaSpec, state: RapportState, unlocked: list[str], text: str) -> Outcome | None:
    """Success when trust is high enough, the required items were earned and the learner asked; failure when trust collapses."""
    failure = persona.outcomes.failure
    if state.trust <= failure.max_trust:
        return Outcome(kind="failure", description=failure.description, closing_line=failure.closing_line,
                       reason=f"trust fell to {state.trust:.0f} (at or below {failure.max_trust})")
    success = persona.outcomes.success
    missing = [i for i in success.requires_hidden if i not in unlocked]
    asked = _asked(text, success.ask_keywords) if success.ask_keywords else "(no ask needed)"
    if state.trust >= success.min_trust and not missing and asked:
        return Outcome(kind="success", description=success.description, closing_line=success.closing_line,
                       reason=f"trust {state.trust:.0f} ≥ {success.min_trust} and the learner asked ('{asked}')")
    return None
