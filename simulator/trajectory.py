"""The relationship over a session, per learner turn, with reasons: evidence for the learner, the UI and the judge."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .appraisal import TurnAppraisal
from .persona.spec import PersonaSpec
from .state import RapportState


class TrajectoryPoint(BaseModel):
    """Where trust, openness and engagement stood after one learner turn, and why they moved."""

    model_config = ConfigDict(extra="forbid")

    turn: int
    learner_text: str
    trust: float
    openness: float
    engagement: float
    mood: str
    trust_change: float
    reasons: list[str]
    behaviours: list[str]
    unlocked: list[str]


def trajectory_points(initial: RapportState, appraisals: list[TurnAppraisal]) -> list[TrajectoryPoint]:
    """One point for the start (turn -1) and one per appraised learner turn."""
    start = TrajectoryPoint(turn=-1, learner_text="", trust=initial.trust, openness=initial.openness,
                            engagement=initial.engagement, mood=initial.mood.value, trust_change=0.0, reasons=[],
                            behaviours=[], unlocked=[])
    points = [start]
    for a in appraisals:
        moving = sorted((c for c in a.changes if abs(c.trust) >= 0.5), key=lambda c: -abs(c.trust))
        points.append(TrajectoryPoint(
            turn=a.turn, learner_text=a.text, trust=a.after.trust, openness=a.after.openness,
            engagement=a.after.engagement, mood=a.after.mood.value, trust_change=a.trust_change,
            reasons=[f"{c.trust:+.1f} trust: {c.reason}" for c in moving],
            behaviours=[b.value for b in a.reading.behaviours] + [f"trigger: {h.description}" for h in a.reading.triggers],
            unlocked=list(a.unlocked),
        ))
    return points


def trajectory_markdown(points: list[TrajectoryPoint], persona: PersonaSpec) -> str:
    """A readable account of which turns moved the relationship, and why."""
    if len(points) <= 1:
        return "No turns yet."
    items = {i.id: i.content for i in persona.hidden_information}
    lines = [f"Start: trust {points[0].trust:.0f}, openness {points[0].openness:.0f}, engagement {points[0].engagement:.0f}."]
    for p in points[1:]:
        excerpt = " ".join(p.learner_text.split()[:18]) + ("…" if len(p.learner_text.split()) > 18 else "")
        lines.append(f"\n**Turn {p.turn}** — “{excerpt}” → trust **{p.trust:.0f}** ({p.trust_change:+.0f}), mood {p.mood}")
        lines.extend(f"- {reason}" for reason in p.reasons[:4])
        lines.extend(f"- 🔓 earned: {items.get(i, i)}" for i in p.unlocked)
    return "\n".join(lines)
