"""The scorecard: per criterion a score, a rationale and quoted evidence; strengths, improvements, flags.

`Scorecard.contract()` is the exact JSON that `rapport judge` prints (other tools build on it).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .rubric import Rubric


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    turn: int = Field(ge=0, description="Index into the transcript's turns.")
    quote: str = Field(description="Words copied exactly from that turn.")


class CriterionScore(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: float = Field(ge=1, le=5)
    rationale: str
    evidence: list[Evidence] = Field(default_factory=list)
    spread: float | None = Field(default=None, description="Standard deviation over judge samples, when sampled.")


class Improvement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    turn: int = Field(ge=0)
    original: str
    better: str
    why: str
    written_by: Literal["judge", "rules", "model"] | None = Field(
        default=None, description="Who wrote `better`: the judge, the offline rules, or the local model (None: not "
                                  "recorded, as on scorecards stored before it was).")


class Scorecard(BaseModel):
    """A graded session. `source` says who graded it: the judge model, the offline coder, or both averaged."""

    model_config = ConfigDict(extra="forbid")

    criteria: dict[str, CriterionScore]
    overall: float = Field(ge=1, le=5)
    strengths: list[str] = Field(default_factory=list)
    improvements: list[Improvement] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    summary: str = ""
    source: Literal["judge", "offline"] = "offline"
    samples: int = 1

    def contract(self) -> dict[str, Any]:
        """The documented JSON shape of `rapport judge` (spread and samples only when the judge was sampled; an
        improvement's written_by only when the local model wrote it)."""
        criteria = {}
        for key, value in self.criteria.items():
            item = {"score": round(value.score, 2), "rationale": value.rationale,
                    "evidence": [e.model_dump() for e in value.evidence]}
            if value.spread is not None:
                item["spread"] = round(value.spread, 2)
            criteria[key] = item
        out: dict[str, Any] = {
            "criteria": criteria,
            "overall": round(self.overall, 2),
            "strengths": list(self.strengths),
            "improvements": [_improvement(i) for i in self.improvements],
            "flags": list(self.flags),
        }
        if self.samples > 1:
            out["samples"] = self.samples
        return out


def _improvement(item: Improvement) -> dict[str, Any]:
    """One improvement as the contract shows it: `written_by` only for the local model's (like `spread`, a key
    that appears only when it says something the card's `source` does not)."""
    return item.model_dump(exclude=None if item.written_by == "model" else {"written_by"})


def weighted_overall(scores: dict[str, float], rubric: Rubric) -> float:
    """The weighted mean of the criterion scores, by the rubric's weights."""
    weights = {c.id: c.weight for c in rubric.criteria if c.id in scores}
    total = sum(weights.values())
    if not total:
        return sum(scores.values()) / max(len(scores), 1)
    return sum(scores[k] * w for k, w in weights.items()) / total
