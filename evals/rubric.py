"""Rubrics as data: criteria scored 1-5 with a behavioural anchor for every level.

Organisations add criteria, change weights, or attach a rubric to a persona (`rubric: <id>` in the
persona file) without code. A rubric can `extend` another and add or re-weight criteria.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simulator.behaviours import Behaviour
from simulator.errors import DataFileError, RapportError
from simulator.regexes import require_valid_regexes
from simulator.unique import require_unique_ids
from simulator.yaml_source import validate_yaml_file

RUBRICS_DIR = Path(__file__).parent / "rubrics"
SCHEMA_FILE_NAME = "rubric.schema.json"
DEFAULT_RUBRIC = "default"
CORE_CRITERIA = (
    "adaptability", "authenticity", "empathy", "active_listening", "common_ground", "positive_reinforcement",
    "consistency",
)


class RubricModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# Named aggregates the offline scorer computes over a conversation's learner turns (evals.offline), besides the
# per-behaviour features `rate:<behaviour>`, `count:<behaviour>` and `strong:<behaviour>`.
NAMED_FEATURES: dict[str, str] = {
    "coder_empathy": "mean coder empathy per turn, rescaled 1 -> 0 and 3.5 -> 1 (0.32 when not coded)",
    "uptake": "mean coder uptake per turn, rescaled 0.3 -> 0 and 0.8 -> 1 (0.2 when not coded)",
    "exploring": "share of turns exploring feelings not yet said (coder exploration >= 1)",
    "scripted": "share of turns that repeat an earlier learner turn nearly word for word",
    "landed": "share of turns that landed (trust change >= 0 with a persona, else the signals' balance)",
    "joint_effort": "number of turns with joint-effort wording ('together', 'let's', ...)",
    "in_step": "share of turns matched to the persona's pace (adaptation) that landed",
    "recovery": "after a turn that landed badly, share of next turns that repaired it (0.7 when none did badly)",
    "diversity": "number of distinct rapport-building behaviours shown (adaptation aside)",
    "monologue": "share of turns that were a monologue",
    "swings": "warm-to-harsh swings in tone, per turn",
    "follow_up_spread": "follow-ups per quarter of the conversation: count of follow_up / max(1, turns / 4)",
    "phrases": "share of turns using one of the criterion's `phrases`",
    "positive": "per-turn rate of the criterion's `positive` behaviours (the strongest one in each turn)",
    "negative": "per-turn rate of the criterion's `negative` behaviours (the strongest one in each turn)",
    "commitments": "(earlier-session commitments followed up - those forgotten) / those made; 0 without any",
    "specificity": "mean coder specificity per turn (0-1; 0.5 when not coded)",
    "parroting": "share of turns coded as parroting the other person's words back",
    "hollow_praise": "share of turns coded as hollow praise",
    "grader_directed": "share of turns addressed to the grader rather than the person",
    # Voice practice (0 for typed turns, so a typed conversation is graded exactly as before):
    "pace_match": "share of turns spoken within 20% of the persona's pace",
    "interruptions": "share of turns spoken while the persona was still speaking",
    "monotone": "share of turns spoken in a flat, monotone voice",
    "filler_rate": "filler words per spoken word, times 10 (1 = one word in ten was a filler)",
}
BEHAVIOUR_FEATURES = {
    "rate": "strength per learner turn (0-1)",
    "count": "total strength over the conversation",
    "strong": "number of turns showing it with strength >= 0.8",
}
_FEATURE = re.compile(rf"^(?:(?:{'|'.join(BEHAVIOUR_FEATURES)}):(?P<behaviour>[a-z_]+)|(?P<named>[a-z_]+))$")


def feature_behaviour(name: str) -> Behaviour | None:
    """The behaviour of a per-behaviour feature (`rate:validation` -> validation), None for a named aggregate."""
    match = _FEATURE.match(name)
    return Behaviour(match["behaviour"]) if match and match["behaviour"] else None


def check_feature(name: str) -> str:
    """`name` if the offline scorer knows the feature, else a ValueError saying what is allowed."""
    match = _FEATURE.match(name)
    if match and match["behaviour"]:
        if match["behaviour"] not in {b.value for b in Behaviour}:
            raise ValueError(f"unknown behaviour in feature '{name}'; behaviours: {', '.join(b.value for b in Behaviour)}")
        return name
    if match and match["named"] in NAMED_FEATURES:
        return name
    raise ValueError(f"unknown feature '{name}'; use {', '.join(f'{k}:<behaviour>' for k in BEHAVIOUR_FEATURES)} "
                     f"or one of: {', '.join(NAMED_FEATURES)}")


class OfflineTerm(RubricModel):
    """One term of a criterion's offline score: `weight * min(cap, scale * feature) [* times]`."""

    feature: str | dict[str, float] = Field(
        description="What the term measures: a feature name, or a mapping {feature: coefficient} summed before "
        "scaling. Features: `rate:<behaviour>` (strength per learner turn), `count:<behaviour>` (total strength), "
        "`strong:<behaviour>` (turns at strength >= 0.8), or a named aggregate: " + ", ".join(NAMED_FEATURES) + ".")
    weight: float = Field(ge=-5, le=5, description="How much the term moves the 0-1 raw score at full strength; "
                                                   "negative lowers it.")
    scale: float = Field(default=1.0, gt=0, le=100, description="Multiplies the feature before the cap "
                                                                "(2 = full marks at half the turns).")
    cap: float | None = Field(default=1.0, description="Upper limit of the scaled feature; null for none.")
    times: str | None = Field(default=None, description="A feature the capped value is multiplied by "
                                                        "(e.g. `landed`: only what landed counts).")

    @field_validator("feature")
    @classmethod
    def _known_features(cls, feature: str | dict[str, float]) -> str | dict[str, float]:
        if isinstance(feature, dict):
            if not feature:
                raise ValueError("give at least one feature")
            for name in feature:
                check_feature(name)
        else:
            check_feature(feature)
        return feature

    @field_validator("times")
    @classmethod
    def _known_times(cls, times: str | None) -> str | None:
        return check_feature(times) if times is not None else None

    @property
    def parts(self) -> dict[str, float]:
        """{feature: coefficient} (a single feature has coefficient 1)."""
        return dict(self.feature) if isinstance(self.feature, dict) else {self.feature: 1.0}

    @property
    def features(self) -> list[str]:
        return list(self.parts) + ([self.times] if self.times else [])


class FitReport(RubricModel):
    """How fitted weights were obtained and how well they agree with human labels on held-out data."""

    to: str = Field(description="The outcome label the weights were fitted to.")
    n: int = Field(ge=1, description="Conversations fitted on (the training side of the split).")
    heldout_n: int = Field(ge=1, description="Held-out conversations the figures below are measured on.")
    spearman: float = Field(description="Held-out Spearman of the criterion score with the label, fitted weights.")
    spearman_hand_set: float = Field(description="The same with the hand-set weights they replaced.")
    auroc: float | None = Field(default=None, description="Held-out AUROC of the criterion score, ESConv vs "
                                                          "FailedESConv, fitted weights.")
    auroc_hand_set: float | None = Field(default=None, description="The same with the hand-set weights.")
    hand_set_base: float = Field(description="The hand-set `base` the fitted one replaced.")
    hand_set_weights: list[float | None] = Field(description="The hand-set weight of each term, in order; null for "
                                                             "a term the fit added.")
    command: str = Field(description="The command that refits the weights.")


class OfflineCues(RubricModel):
    """How the offline scorecard scores a criterion without an LLM.

    With `terms`, the raw 0-1 score is `base + sum(term)` and the score `1 + 4 * clip(raw)`. Without them (the
    short form for custom criteria) a default recipe over `positive`, `negative` and `phrases` applies:
    `0.3 + 0.5 * min(1, 1.5 * positive) + 0.3 * min(1, 3 * phrases) - 0.6 * negative`, or
    `0.2 + 0.8 * min(1, 3 * phrases) - 0.6 * negative` when only phrases show the criterion.
    """

    positive: list[Behaviour] = Field(default_factory=list, description="Behaviours that raise the score: quoted as "
                                      "evidence, and a persona sensitive to them gives practice on the criterion.")
    negative: list[Behaviour] = Field(default_factory=list, description="Behaviours that lower the score (likewise).")
    phrases: list[str] = Field(default_factory=list, description="Regular expressions that count as the behaviour.")
    base: float | None = Field(default=None, ge=-1, le=1, description="The raw score before the terms (0 if "
                                                                      "omitted); only with `terms`.")
    terms: list[OfflineTerm] = Field(default_factory=list, description="Weighted features summed onto `base`.")
    weights_source: Literal["hand-set", "fitted"] = Field(
        default="hand-set", description="Whether the term weights were set by hand or fitted to human labels.")
    fitted: FitReport | None = Field(default=None, description="For fitted weights: to what, and how well.")

    @field_validator("phrases")
    @classmethod
    def _valid_patterns(cls, phrases: list[str]) -> list[str]:
        require_valid_regexes(phrases)
        return phrases

    @model_validator(mode="after")
    def _consistent(self) -> OfflineCues:
        if (self.weights_source == "fitted") != (self.fitted is not None):
            raise ValueError("`weights_source: fitted` goes with a `fitted` report, and only with it")
        if self.fitted is not None and len(self.fitted.hand_set_weights) != len(self.terms):
            raise ValueError("`fitted.hand_set_weights` needs one weight per term")
        if self.base is not None and not self.terms:
            raise ValueError("`base` needs `terms`")
        for term in self.terms:
            for name in term.features:
                behaviour = feature_behaviour(name)
                if behaviour is None or term.weight == 0:
                    continue
                side, listed = ("positive", self.positive) if term.weight > 0 else ("negative", self.negative)
                if behaviour not in listed:
                    raise ValueError(f"feature '{name}' has weight {term.weight:g}: list '{behaviour}' under `{side}`")
            if "phrases" in term.features and not self.phrases:
                raise ValueError("feature 'phrases' needs `phrases`")
        return self

    def recipe(self) -> tuple[float, list[OfflineTerm]]:
        """(base, terms): the rubric's own, else the default recipe for positive/negative/phrases."""
        if self.terms:
            return self.base or 0.0, list(self.terms)
        negative = [OfflineTerm(feature="negative", weight=-0.6)] if self.negative else []
        if self.positive:
            return 0.3, [OfflineTerm(feature="positive", weight=0.5, scale=1.5),
                         OfflineTerm(feature="phrases", weight=0.3, scale=3), *negative]
        if self.phrases:  # a criterion only its own wording shows (teach-back): without it, the lowest anchors
            return 0.2, [OfflineTerm(feature="phrases", weight=0.8, scale=3), *negative]
        return 0.5, negative


class Criterion(RubricModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$", description="snake_case key used in scorecards.")
    name: str
    description: str = Field(description="What the criterion is about; the judge reads it.")
    weight: float = Field(default=1.0, ge=0, le=10, description="Weight in the overall score.")
    anchors: dict[int, str] = Field(description="A behavioural anchor for each level 1-5.")
    offline: OfflineCues | None = Field(
        default=None, description="How the offline scorecard scores it (a core criterion left without one uses the "
        "default rubric's).")

    @field_validator("anchors")
    @classmethod
    def _five_levels(cls, anchors: dict[int, str]) -> dict[int, str]:
        if sorted(anchors) != [1, 2, 3, 4, 5]:
            raise ValueError(f"give an anchor for each level 1-5 (got levels {sorted(anchors)})")
        return anchors


class CriterionOverride(RubricModel):
    """Change the weight of an inherited criterion."""

    id: str
    weight: float = Field(ge=0, le=10)


class Rubric(RubricModel):
    """A set of criteria; `extends` starts from another rubric."""

    schema_version: Literal[1]
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    name: str
    description: str = ""
    extends: str | None = Field(default=None, description="Id of the rubric to start from (e.g. 'default').")
    criteria: list[Criterion] = Field(default_factory=list, description="Criteria defined (or replaced) here.")
    weights: list[CriterionOverride] = Field(default_factory=list, description="New weights for inherited criteria.")

    @model_validator(mode="after")
    def _unique_ids(self) -> Rubric:
        require_unique_ids((c.id for c in self.criteria), "criterion")
        return self

    def criterion(self, criterion_id: str) -> Criterion:
        return next(c for c in self.criteria if c.id == criterion_id)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.criteria]


def rubric_paths() -> dict[str, Path]:
    """Rubric files by id: bundled ones, then `~/.rapport/rubrics`, then folders in `RAPPORT_RUBRICS`."""
    from simulator.paths import rapport_home

    folders = [RUBRICS_DIR, rapport_home() / "rubrics"]
    from simulator.settings import settings

    folders += [Path(p) for p in settings().rubrics.split(os.pathsep) if p]
    found: dict[str, Path] = {}
    for folder in folders:
        if folder.is_dir():
            for path in sorted(folder.glob("*.yaml")):
                found[path.stem] = path
    return found


def _resolve(rubric: Rubric, seen: tuple[str, ...], path: Path) -> Rubric:
    if rubric.extends is None:
        return rubric
    if rubric.extends in seen:
        raise DataFileError.single(path, None, "extends", f"circular: {' -> '.join(seen + (rubric.extends,))}")
    base = load_rubric(rubric.extends, _seen=seen + (rubric.id,))
    criteria = {c.id: c for c in base.criteria}
    for override in rubric.weights:
        if override.id not in criteria:
            raise DataFileError.single(path, None, "weights", f"'{override.id}' is not a criterion of '{base.id}'")
        criteria[override.id] = criteria[override.id].model_copy(update={"weight": override.weight})
    for criterion in rubric.criteria:
        criteria[criterion.id] = criterion
    return rubric.model_copy(update={"criteria": list(criteria.values()), "extends": None, "weights": []})


def load_rubric(name_or_path: str | Path = DEFAULT_RUBRIC, *, _seen: tuple[str, ...] = ()) -> Rubric:
    """A rubric by id or file path, with `extends` resolved."""
    path = Path(name_or_path)
    if not (path.suffix in {".yaml", ".yml"} and path.is_file()):
        paths = rubric_paths()
        if str(name_or_path) not in paths:
            raise RapportError(f"no rubric '{name_or_path}'; known: {', '.join(sorted(paths))}")
        path = paths[str(name_or_path)]
    return _resolve(validate_yaml_file(path, Rubric), _seen, path)


@cache
def default_rubric() -> Rubric:
    return load_rubric(DEFAULT_RUBRIC)


def offline_cues(criterion_id: str, rubric: Rubric | None = None) -> OfflineCues | None:
    """How the offline scorecard scores a criterion: the rubric's `offline` block, else (for a core criterion
    redefined without one, or with no rubric given) the default rubric's, else None."""
    found = next((c for c in rubric.criteria if c.id == criterion_id), None) if rubric is not None else None
    if found is not None and found.offline is not None:
        return found.offline
    if criterion_id in CORE_CRITERIA or (rubric is None and found is None):
        default = next((c for c in default_rubric().criteria if c.id == criterion_id), None)
        return default.offline if default is not None else None
    return None


def rubric_json_schema_text() -> str:
    schema = Rubric.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Rapport rubric"
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
