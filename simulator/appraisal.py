"""Appraisal: how one learner turn moves the persona's state, by the persona's own sensitivities.

The same behaviour matters more to one persona than another (their triggers weigh it), repeating a
formula earns less each time, and a short-fused persona (low patience) takes offence faster.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field

from .behaviours import BREAKING, BUILDING, Behaviour
from .persona.spec import DifficultyPreset, PersonaSpec
from .repetition import freshness, repeated_formula
from .signals import TurnReading
from .state import RapportState

B = Behaviour
# (trust, openness, engagement) for a clear instance of each behaviour, for an average person.
BASE_EFFECTS: dict[Behaviour, tuple[float, float, float]] = {
    B.REFLECTION_COMPLEX: (6, 5, 3),
    B.REFLECTION_SIMPLE: (3, 2, 2),
    B.OPEN_QUESTION: (2, 3, 4),
    B.CLOSED_QUESTION: (0, 0, 1),
    B.VALIDATION: (5, 4, 2),
    B.AFFIRMATION: (3, 2, 2),
    B.SELF_DISCLOSURE: (3, 3, 2),
    B.COMMON_GROUND: (4, 2, 3),
    B.ADAPTATION: (1.5, 1, 2),
    B.FOLLOW_UP: (5, 3, 3),
    B.TOPIC_SHIFT: (-4, -3, -4),
    B.IGNORING_CONCERN: (-6, -5, -3),
    B.PUSHING_AGENDA: (-6, -4, -5),
    B.UNSOLICITED_ADVICE: (-5, -5, -2),
    B.JUDGMENT: (-9, -8, -4),
    B.JARGON: (-3, -2, -4),
    B.HOLLOW_FLATTERY: (-2, -1, -1),
    B.GRADER_DIRECTED: (-3, -3, -3),  # words addressed to a "system" are odd to the person, and earn nothing
}
LABELS = {b: b.value.replace("_", " ") for b in Behaviour}
REPEAT_DECAY = 0.85  # the n-th use of the same kind of move earns a little less each time
FORMULA_DECAY = 0.4  # the same phrase again ("that must be hard") earns far less: it sounds scripted
SCRIPTED_FACTOR = 0.3  # a whole turn in nearly the same words as an earlier one earns little
PARROT_DECAY = 0.5  # each earlier turn that parroted their words halves what the next parroting earns
TRIGGER_BUILD = (4.0, 2.0, 2.0)
TRIGGER_BREAK = (-5.0, -3.0, -2.0)
MAX_GAIN, MAX_LOSS = 12.0, -14.0  # per turn, on trust: one bad line hurts, but rarely ends things alone
DRIFT = (0.0, -1.0, -2.0)  # a turn that builds nothing lets attention drift


class Change(BaseModel):
    """One reason the state moved on one turn."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cause: str
    behaviour: Behaviour | None = None
    trust: float
    openness: float
    engagement: float
    reason: str


class TurnAppraisal(BaseModel):
    """What one learner turn did to the relationship, and why."""

    model_config = ConfigDict(extra="forbid")

    turn: int = Field(description="Index of the learner turn in the transcript.")
    text: str
    reading: TurnReading
    changes: list[Change]
    before: RapportState
    after: RapportState
    unlocked: list[str] = Field(default_factory=list, description="Hidden items this turn earned.")
    cue: str | None = None

    @property
    def trust_change(self) -> float:
        return self.after.trust - self.before.trust

    @cached_property
    def shown(self) -> Shown:
        """What this turn showed, as later turns count it (computed once, so a long session stays cheap)."""
        return Shown(
            behaviours=frozenset(s.behaviour for s in self.reading.signals),
            formulas=Counter((s.behaviour, _formula(s.evidence)) for s in self.reading.signals),
            triggers=Counter((h.side, h.index) for h in self.reading.triggers),
            clear=frozenset(self.reading.clear_behaviours),
        )


@dataclass(frozen=True)
class Shown:
    behaviours: frozenset[Behaviour]
    formulas: Counter  # (behaviour, normalised evidence) -> signals
    triggers: Counter  # (side, index) -> hits
    clear: frozenset[Behaviour]  # shown clearly enough to count towards disclosure


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def is_scripted_repeat(text: str, earlier: list[str]) -> bool:
    """Nearly the same words as an earlier learner turn (Jaccard ≥ 0.6 on word sets)."""
    words = _words(text)
    return bool(words) and any(len(words & (w := _words(e))) / len(words | w) >= 0.6 for e in earlier if e)


def landed(reading: TurnReading, appraisal: TurnAppraisal | None = None) -> float:
    """How a turn landed: its intended trust change when appraised (before the limits), else its signals' balance."""
    if appraisal is not None:  # the intended movement, before the 0-100 and per-turn limits
        return sum(c.trust for c in appraisal.changes if c.cause != "limit")
    good = sum(s.strength for s in reading.signals if s.behaviour not in BREAKING)
    bad = sum(s.strength for s in reading.signals if s.behaviour in BREAKING)
    return good - 2 * bad


def sensitivity(persona: PersonaSpec, behaviour: Behaviour) -> tuple[str, float] | None:
    """('builds'|'breaks', weight) when the persona names this behaviour in a trigger."""
    for side in ("builds", "breaks"):
        weights = [t.weight for t in getattr(persona.triggers, side) if t.behaviour is behaviour]
        if weights:
            return side, max(weights)
    return None


def _behaviour_change(
    behaviour: Behaviour, strength: float, evidence: str, persona: PersonaSpec, preset: DifficultyPreset,
    prior_uses: int, prior_formula_uses: int, scripted: bool, fresh: float = 1.0, formula: str | None = None,
) -> Change:
    effect = BASE_EFFECTS[behaviour]
    notes: list[str] = []
    felt = sensitivity(persona, behaviour)
    if felt is not None:
        side, weight = felt
        builds = side == "builds"
        if builds != (behaviour in BUILDING):  # the persona reverses the usual valence
            magnitude = tuple(max(abs(v), d) for v, d in zip(effect, (3, 2, 2)))
            effect = magnitude if builds else tuple(-v for v in magnitude)
        effect = tuple(v * weight for v in effect)
        notes.append(f"matters {weight:g}× to {persona.short_name}")
    positive = effect[0] > 0 or (effect[0] == 0 and behaviour in BUILDING)
    factor = strength
    if positive:
        if prior_formula_uses:
            factor *= FORMULA_DECAY**prior_formula_uses
            notes.append(f"the same words {prior_formula_uses + 1} times: it sounds like a formula")
        elif prior_uses:
            factor *= REPEAT_DECAY**prior_uses
            notes.append(f"used {prior_uses + 1} times: a little less effect")
        if scripted:
            factor *= SCRIPTED_FACTOR
            notes.append("repeats an earlier line")
        elif fresh < 0.999:
            factor *= fresh
            notes.append(f"said before ('{_short(formula or '', 8)}'): it sounds recited")
    else:
        factor *= (1.5 - preset.patience / 100) * (1 + 0.25 * min(prior_uses, 4))
        if prior_uses:
            notes.append(f"again ({prior_uses + 1} times): it grates more")
    t, o, e = (v * factor for v in effect)
    quote = f" ('{_short(evidence)}')" if evidence else ""
    reason = f"{LABELS[behaviour]}{quote}" + (f"; {'; '.join(notes)}" if notes else "")
    return Change(cause=behaviour.value, behaviour=behaviour, trust=t, openness=o, engagement=e, reason=reason)


def _formula(evidence: str) -> str:
    """The evidence phrase normalised, to notice the same formula used again."""
    return " ".join(re.findall(r"[a-z']+", evidence.lower()))


def _short(text: str, words: int = 12) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def appraise(
    reading: TurnReading,
    text: str,
    state: RapportState,
    persona: PersonaSpec,
    preset: DifficultyPreset,
    history: list[TurnAppraisal],
    turn: int,
) -> TurnAppraisal:
    """Apply one turn's behaviours and triggers to `state`; every change carries its reason."""
    earlier_texts = [a.text for a in history[-30:]]  # a formula repeated within the last 30 turns
    scripted = is_scripted_repeat(text, earlier_texts)
    fresh = freshness(text, earlier_texts)
    formula_text = repeated_formula(text, earlier_texts) if fresh < 0.999 else None
    parrots = sum(1 for a in history[-30:] if (a.reading.codes or {}).get("parroting"))
    if (reading.codes or {}).get("parroting") and parrots:
        fresh *= PARROT_DECAY**parrots  # their own words back again: it stops sounding like listening
        formula_text = formula_text or "their own words back, again"
    changes: list[Change] = []
    for signal in reading.signals:
        prior = sum(1 for a in history if signal.behaviour in a.shown.behaviours)
        # Only the learner's own words can repeat as a formula (not descriptions such as "12 words, in step").
        formula = _formula(signal.evidence) if signal.source != "conversation" else None
        prior_formula = sum(a.shown.formulas[(signal.behaviour, formula)] for a in history) if formula else 0
        changes.append(_behaviour_change(
            signal.behaviour, signal.strength, signal.evidence, persona, preset, prior, prior_formula, scripted,
            fresh, formula_text,
        ))
    for hit in reading.triggers:
        prior = sum(a.shown.triggers[(hit.side, hit.index)] for a in history)
        base = TRIGGER_BUILD if hit.side == "builds" else TRIGGER_BREAK
        factor = hit.weight * (REPEAT_DECAY**prior if hit.side == "builds" else (1.5 - preset.patience / 100))
        if hit.side == "builds" and scripted:
            factor *= SCRIPTED_FACTOR
        elif hit.side == "builds":
            factor *= fresh
        t, o, e = (v * factor for v in base)
        changes.append(Change(cause=f"trigger:{hit.side}:{hit.index}", trust=t, openness=o, engagement=e,
                              reason=f"{hit.description} ('{hit.keyword}')"))
    if not any(c.trust > 0 or c.engagement > 0 for c in changes):
        changes.append(Change(cause="drift", trust=DRIFT[0], openness=DRIFT[1], engagement=DRIFT[2],
                              reason="nothing in this turn drew them in"))
    raw = [sum(c.trust for c in changes), sum(c.openness for c in changes), sum(c.engagement for c in changes)]
    after = state.moved(max(MAX_LOSS, min(MAX_GAIN, raw[0])), raw[1], raw[2])
    applied = [after.trust - state.trust, after.openness - state.openness, after.engagement - state.engagement]
    if any(abs(a - r) > 1e-9 for a, r in zip(applied, raw)):
        # Record the limit as a change of its own, so the changes always add up to the movement shown.
        t, o, e = (a - r for a, r in zip(applied, raw))
        changes.append(Change(cause="limit", trust=t, openness=o, engagement=e,
                              reason=f"one turn moves trust by {MAX_LOSS:g} to +{MAX_GAIN:g} at most, within 0-100"))
    return TurnAppraisal(turn=turn, text=text, reading=reading, changes=changes, before=state, after=after)


__all__ = ["BASE_EFFECTS", "BREAKING", "Change", "TurnAppraisal", "appraise", "is_scripted_repeat", "landed",
           "sensitivity"]
