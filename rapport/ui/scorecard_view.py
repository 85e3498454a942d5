"""Scorecards as Markdown for the browser (charts come from `charts`)."""

from __future__ import annotations

from html import escape

from evals.scorecard import Scorecard

NAMES = {
    "adaptability": "Adaptability", "authenticity": "Authenticity", "empathy": "Empathy",
    "active_listening": "Active listening", "common_ground": "Common ground",
    "positive_reinforcement": "Positive reinforcement", "consistency": "Consistency",
}


def criterion_name(key: str) -> str:
    return NAMES.get(key, key.replace("_", " ").capitalize())


def scorecard_markdown(card: Scorecard, title: str) -> str:
    """Scores, rationales, quoted evidence (with the turn each comes from), improvements and flags."""
    lines = [f"### {escape(title)}", f"**Overall: {card.overall:.1f} / 5**", ""]
    if card.summary:
        lines += [escape(card.summary), ""]
    for key, score in card.criteria.items():
        spread = f" ± {score.spread:.1f}" if score.spread else ""
        lines += ["", f"**{escape(criterion_name(key))}: {score.score:.1f}{spread}** — {escape(score.rationale)}", ""]
        for evidence in score.evidence:
            lines.append(f"- turn {evidence.turn}: “{escape(evidence.quote)}”")
    if card.strengths:
        lines += ["", "**Strengths**"] + [f"- {escape(s)}" for s in card.strengths]
    if card.improvements:
        lines += ["", "**Try instead**"]
        for item in card.improvements:
            lines += [f"- turn {item.turn}: you said “{escape(item.original)}”",
                      f"  - better: “{escape(item.better)}”", f"  - why: {escape(item.why)}"]
    if card.flags:
        lines += ["", "**Notes**"] + [f"- {escape(flag)}" for flag in card.flags]
    return "\n".join(lines)
