"""What a suite run produced: per case the transcript, scores, trajectory and every expectation's verdict.

Scores, expectation verdicts and errors are kept apart (a case that crashed is not a failed expectation).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulator.errors import DataFileError

from simulator.trajectory import TrajectoryPoint
from simulator.transcript import Transcript

REPORT_VERSION = 1


class ReportModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Verdict(ReportModel):
    """One expectation checked: passed, failed, or skipped (e.g. a judge check with no judge model)."""

    case: str | None = Field(description="The case it belongs to; None for suite-level comparisons.")
    expectation: str = Field(description="What was expected, e.g. 'scores.empathy >= 3.5'.")
    status: Literal["passed", "failed", "skipped"]
    detail: str = ""
    turn: int | None = Field(default=None, description="The transcript turn that caused a failure, when one did.")
    repeat: int = 0


class CaseRun(ReportModel):
    """One run of one case (a case repeated K times has K runs)."""

    case: str
    suite: str = Field(default="", description="The suite file the case comes from.")
    repeat: int = 0
    persona: str
    difficulty: str
    learner: Literal["scripted", "simulated", "recorded"]
    models: dict[str, str | None] = Field(default_factory=dict, description="Model label per role.")
    transcript: Transcript | None = None
    scores: dict[str, float] = Field(default_factory=dict, description="Criterion scores and 'overall'.")
    scorecard: dict[str, Any] | None = Field(default=None, description="The `rapport judge` contract JSON.")
    offline_scores: dict[str, float] = Field(default_factory=dict)
    trajectory: list[TrajectoryPoint] = Field(default_factory=list)
    outcome: Literal["success", "failure", "none"] = "none"
    ending: str | None = Field(default=None, description="Why the conversation stopped, in words.")
    unlocked: list[str] = Field(default_factory=list)
    verdicts: list[Verdict] = Field(default_factory=list)
    error: str | None = Field(default=None, description="Why the case could not finish (not an expectation failure).")
    attempts: int = 1
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.error is None and all(v.status != "failed" for v in self.verdicts)

    @property
    def final_trust(self) -> float | None:
        return self.trajectory[-1].trust if self.trajectory else None


class CompareRow(ReportModel):
    case: str
    metric: str
    before: float | None
    after: float | None
    change: float | None
    kind: Literal["regression", "improvement", "unchanged", "new", "removed"]


class SuiteReport(ReportModel):
    version: int = REPORT_VERSION
    suites: list[str] = Field(description="The suite files that ran.")
    names: list[str] = Field(default_factory=list)
    started: str
    seconds: float
    models: dict[str, str | None] = Field(default_factory=dict, description="Default model label per role.")
    concurrency: int
    runs: list[CaseRun]
    comparisons: list[Verdict] = Field(default_factory=list)
    compare: list[CompareRow] | None = Field(default=None, description="Against an earlier run (--compare).")
    compared_to: str | None = None

    @property
    def failures(self) -> list[Verdict]:
        return [v for r in self.runs for v in r.verdicts if v.status == "failed"] + [
            v for v in self.comparisons if v.status == "failed"
        ]

    @property
    def errors(self) -> list[CaseRun]:
        return [r for r in self.runs if r.error]

    @property
    def passed(self) -> bool:
        return not self.failures and not self.errors

    def counts(self) -> dict[str, int]:
        verdicts = [v for r in self.runs for v in r.verdicts] + self.comparisons
        return {
            "runs": len(self.runs),
            "runs_passed": sum(r.passed for r in self.runs),
            "errors": len(self.errors),
            "expectations": len(verdicts),
            "passed": sum(v.status == "passed" for v in verdicts),
            "failed": sum(v.status == "failed" for v in verdicts),
            "skipped": sum(v.status == "skipped" for v in verdicts),
        }

    def save_json(self, path: Path) -> None:
        data = self.model_dump(mode="json")
        data["counts"] = self.counts()
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load_json(cls, path: Path) -> SuiteReport:
        from simulator.data_files import read_json_file

        data = read_json_file(path, 64 * 1024 * 1024)
        if not isinstance(data, dict):
            raise DataFileError.single(path, 1, "<root>", "expected a suite report object")
        data.pop("counts", None)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            raise DataFileError.single(path, None, ".".join(map(str, error["loc"])) or "<root>", error["msg"]) from None
