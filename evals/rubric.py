"""Rubrics as data: criteria scored 1-5 with a behavioural anchor for every level.

Organisations add criteria, change weights, or attach a rubric to a persona (`rubric: <id>` in the
persona file) without code. A rubric can `extend` another and add or re-weight criteria.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simulator.behaviours import Behaviour
from simulator.errors import DataFileError, RapportError
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


class OfflineCues(RubricModel):
    """How the offline scorecard scores a custom criterion without an LLM: behaviours and phrases that count."""

    positive: list[Behaviour] = Field(default_factory=list, description="Behaviours that raise the score.")
    negative: list[Behaviour] = Field(default_factory=list, description="Behaviours that lower the score.")
    phrases: list[str] = Field(default_factory=list, description="Regular expressions that count as the behaviour.")


class Criterion(RubricModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$", description="snake_case key used in scorecards.")
    name: str
    description: str = Field(description="What the criterion is about; the judge reads it.")
    weight: float = Field(default=1.0, ge=0, le=10, description="Weight in the overall score.")
    anchors: dict[int, str] = Field(description="A behavioural anchor for each level 1-5.")
    offline: OfflineCues | None = Field(default=None, description="For custom criteria: how to score it offline.")

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
    folders += [Path(p) for p in os.environ.get("RAPPORT_RUBRICS", "").split(os.pathsep) if p]
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


def rubric_json_schema_text() -> str:
    schema = Rubric.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Rapport rubric"
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
