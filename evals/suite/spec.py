"""Suite files: which persona, which learner, and what must happen — YAML with a JSON Schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simulator.config import Role
from simulator.model_reading import ReaderKind
from simulator.persona.spec import Difficulty
from simulator.regexes import require_valid_regexes
from simulator.unique import require_unique_ids
from simulator.voice.base import VoiceRole
from simulator.yaml_source import validate_yaml_file

SCHEMA_FILE_NAME = "suite.schema.json"
METRICS_HELP = "a criterion id (e.g. empathy), 'overall' or 'final_trust'"


class SuiteModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Defaults(SuiteModel):
    models: dict[str, str | None] = Field(
        default_factory=dict,
        description="Model role -> spec, e.g. {persona: fake, learner: embedded, judge: 'openai:gpt-4o'}; null = off. "
        "`listen` hears recorded (`audio`) learner turns: embedded (offline Whisper, the default) or openai:MODEL@URL.",
    )
    judge_samples: int = Field(default=1, ge=1, le=20)
    repeats: int = Field(default=1, ge=1, le=100, description="How many times each case runs.")
    difficulty: Difficulty = Difficulty.MEDIUM
    timeout: float = Field(default=300, gt=0, description="Seconds before a case is abandoned.")
    max_turns: int = Field(default=10, ge=1, le=100, description="Learner turns at most.")
    reader: ReaderKind = Field(
        default=ReaderKind.CODER,
        description="How learner turns are read during the conversation: the learned coder; phrase rules only "
        "(fastest); or the judge model on top of the coder (one more call per turn, subtler readings). "
        "Scores are always graded with the coder, and by the judge when one is set.",
    )

    @field_validator("models")
    @classmethod
    def _known_roles(cls, models: dict[str, str | None]) -> dict[str, str | None]:
        roles = [*Role, *VoiceRole]
        unknown = sorted(set(models) - {role.value for role in roles})
        if unknown:
            raise ValueError(f"unknown model role(s) {', '.join(unknown)}; roles are {', '.join(roles)}")
        return models


class StopWhen(SuiteModel):
    outcome: bool = Field(default=True, description="Stop when the persona's success or failure outcome happens.")
    persona_says: str | None = Field(default=None, description="Stop when a persona reply matches this regex.")

    @field_validator("persona_says")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


class SimulatedLearner(SuiteModel):
    profile: str = Field(description="A learner profile id (see evals/learner_profiles.yaml) or a free description.")
    max_turns: int | None = Field(default=None, ge=1, le=100, description="Default: the suite's max_turns.")
    stop: StopWhen = Field(default_factory=StopWhen)


class SpokenTurn(SuiteModel):
    """A recorded learner turn: heard by the `listen` model (offline Whisper by default) and measured for delivery."""

    audio: str = Field(min_length=1, max_length=500, description="A WAV (or other audio) file, relative to the suite.")


class Learner(SuiteModel):
    """Exactly one of: a script, a simulated learner, or a recorded transcript."""

    script: list[str | SpokenTurn] | None = Field(
        default=None, min_length=1,
        description="The learner's turns, in order: text, or `{audio: path.wav}` for a recorded spoken turn.")
    simulated: SimulatedLearner | None = Field(default=None, description="The `learner` model plays a profile.")
    transcript: str | None = Field(default=None, description="A transcript JSON to re-grade (relative to the suite).")

    @model_validator(mode="after")
    def _exactly_one(self) -> Learner:
        given = [name for name in ("script", "simulated", "transcript") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of script, simulated or transcript (got {', '.join(given) or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return "scripted" if self.script else "simulated" if self.simulated else "recorded"


class Range(SuiteModel):
    min: float | None = Field(default=None, ge=1, le=5)
    max: float | None = Field(default=None, ge=1, le=5)


class TrustExpectation(SuiteModel):
    final_at_least: float | None = Field(default=None, ge=0, le=100)
    final_at_most: float | None = Field(default=None, ge=0, le=100)
    rises: bool | None = Field(default=None, description="true: final trust above the start; false: not above it.")
    falls: bool | None = Field(default=None, description="true: final trust below the start; false: not below it.")


class HiddenExpectation(SuiteModel):
    must_unlock: list[str] = Field(default_factory=list, description="Hidden item ids that must be earned.")
    must_not_unlock: list[str] = Field(default_factory=list, description="Hidden item ids that must stay hidden.")
    none_unlocked: bool = Field(default=False, description="No hidden item may be earned at all.")


class FidelityExpectation(SuiteModel):
    never_claims_ai: bool = True
    stays_in_character: bool = True
    keeps_instructions_secret: bool = True


class ReplyPatterns(SuiteModel):
    must_match: list[str] = Field(default_factory=list, description="Regexes some persona reply must match.")
    must_not_match: list[str] = Field(default_factory=list, description="Regexes no persona reply may match.")

    @field_validator("must_match", "must_not_match")
    @classmethod
    def _regexes(cls, patterns: list[str]) -> list[str]:
        require_valid_regexes(patterns)
        return patterns


class DeliveryExpectation(SuiteModel):
    """Limits on how the spoken turns were delivered (see the scorecard's delivery section)."""

    words_per_minute: dict[Literal["min", "max"], float] = Field(
        default_factory=dict, description="Bounds on the median speaking rate, e.g. {min: 110, max: 190}.")
    pace_matched_at_least: float | None = Field(default=None, ge=0, le=1,
                                                description="Share of spoken turns at the persona's pace.")
    max_fillers_per_100_words: float | None = Field(default=None, ge=0)
    max_pause_before: float | None = Field(default=None, ge=0, description="Median seconds before answering.")
    max_interruptions: int | None = Field(default=None, ge=0)
    max_monotone_turns: int | None = Field(default=None, ge=0)
    transcript_contains: list[str] = Field(default_factory=list,
                                           description="Words the listener must have heard (case-insensitive).")


class Expectations(SuiteModel):
    scores: dict[str, Range] = Field(default_factory=dict, description=f"Score ranges by {METRICS_HELP}.")
    trust: TrustExpectation | None = None
    outcome: Literal["success", "failure", "none"] | None = None
    hidden: HiddenExpectation | None = None
    fidelity: FidelityExpectation | None = None
    replies: ReplyPatterns | None = None
    judge_checks: list[str] = Field(
        default_factory=list, description="Free-form statements the judge model checks (skipped without a judge)."
    )
    delivery: DeliveryExpectation | None = Field(default=None, description="For cases with spoken (`audio`) turns.")


class Case(SuiteModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$")
    persona: str
    difficulty: Difficulty | None = None
    learner: Learner
    expect: Expectations = Field(default_factory=Expectations)
    models: dict[str, str | None] = Field(default_factory=dict, description="Model roles for this case only.")


class Comparison(SuiteModel):
    """Cases whose metrics must come out in this order (lowest first), e.g. poor < average < excellent."""

    name: str
    ascending: list[str] = Field(min_length=2, description="Case ids, from the lowest to the highest.")
    metrics: list[str] = Field(min_length=1, description=f"What to compare: {METRICS_HELP}.")
    margin: float = Field(default=0.0, ge=0, description="Each step must rise by more than this.")


class SuiteSpec(SuiteModel):
    schema_version: Literal[1]
    name: str
    description: str = ""
    defaults: Defaults = Field(default_factory=Defaults)
    cases: list[Case] = Field(min_length=1)
    comparisons: list[Comparison] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids_resolve(self) -> SuiteSpec:
        ids = [c.id for c in self.cases]
        require_unique_ids(ids, "case")
        for comparison in self.comparisons:
            unknown = [i for i in comparison.ascending if i not in ids]
            if unknown:
                raise ValueError(f"comparison '{comparison.name}' names unknown cases: {', '.join(unknown)}")
        return self


def load_suite(path: str | Path) -> SuiteSpec:
    """Load and validate a suite file; raises `DataFileError` with `path:line: field: message` lines."""
    return validate_yaml_file(Path(path), SuiteSpec)


def suite_json_schema_text() -> str:
    schema = SuiteSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Rapport eval suite"
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
