"""Reading the scores out of a stored scorecard (the `rapport judge` JSON contract), whoever stored it."""

from __future__ import annotations

import statistics
from typing import Any

OVERALL = "overall"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def card_scores(card: dict[str, Any] | None) -> dict[str, float]:
    """Criterion scores and 'overall' from a scorecard contract dict, read defensively (bad entries skipped)."""
    if not isinstance(card, dict):
        return {}
    criteria = card.get("criteria") if isinstance(card.get("criteria"), dict) else {}
    scores = {k: s for k, v in criteria.items() if isinstance(v, dict) and (s := _number(v.get("score"))) is not None}
    overall = _number(card.get(OVERALL))
    if overall is None and scores:  # an older card without an overall: the plain mean stands in
        overall = statistics.fmean(scores.values())
    return {**scores, OVERALL: overall} if overall is not None else scores
