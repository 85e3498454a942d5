"""Run eval suites as pytest items, one per case: `pytest evals/suites/smoke.yaml` or any `*.suite.yaml` in a test tree.

Registered as a pytest plugin (entry point `pytest11`), so teams add persona suites to their own CI.
Options: `--rapport-model-role ROLE=SPEC` (repeatable) to choose models, as `rapport eval --model-role` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SUITE_HEADER = "$schema=suite.schema.json"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rapport")
    group.addoption("--rapport-model-role", action="append", default=[], metavar="ROLE=SPEC",
                    help="model for a role in eval suites, e.g. persona=embedded (repeatable)")


def _is_suite(path: Path) -> bool:
    if path.name.endswith((".suite.yaml", ".suite.yml")):
        return True
    if path.suffix not in {".yaml", ".yml"}:
        return False
    try:
        with path.open(encoding="utf-8") as handle:
            return SUITE_HEADER in handle.readline()
    except (OSError, UnicodeDecodeError):
        return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if _is_suite(file_path):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


class SuiteFailure(Exception):
    """Expectations of a case that did not hold."""


class SuiteFile(pytest.File):
    """A suite file; its cases run when their items run, and comparisons reuse those runs."""

    def collect(self):
        from evals.suite.runner import SuiteRunner, load_suites
        from simulator.persona import PersonaLibrary

        overrides = {}
        for value in self.config.getoption("--rapport-model-role"):
            role, _, spec = value.partition("=")
            overrides[role] = spec
        library = PersonaLibrary()
        (suite,) = load_suites([self.path], library)
        self.runner = SuiteRunner([suite], library=library, overrides=overrides, concurrency=1)
        self.runs: dict[str, list] = {}
        for job in self.runner.jobs():
            yield CaseItem.from_parent(self, name=f"{job.case.id}[{job.repeat}]", job=job)
        for comparison in suite.spec.comparisons:
            yield ComparisonItem.from_parent(self, name=f"comparison: {comparison.name}", comparison=comparison)


class CaseItem(pytest.Item):
    def __init__(self, *, job, **kwargs):
        super().__init__(**kwargs)
        self.job = job

    def runtest(self) -> None:
        from simulator.aio import run_sync

        run = run_sync(self.parent.runner.run_job(self.job))
        self.parent.runs.setdefault(self.job.case.id, []).append(run)
        if run.error:
            raise SuiteFailure(f"the case could not run: {run.error}")
        failed = [v for v in run.verdicts if v.status == "failed"]
        if failed:
            lines = []
            for verdict in failed:
                turn = ""
                if verdict.turn is not None and run.transcript and verdict.turn < len(run.transcript.turns):
                    t = run.transcript.turns[verdict.turn]
                    turn = f"\n    turn {verdict.turn} ({t.speaker.value}): {t.text}"
                lines.append(f"{verdict.expectation}: {verdict.detail}{turn}")
            raise SuiteFailure("\n".join(lines))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, SuiteFailure):
            return f"case {self.job.case.id} in {self.path}:\n{excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"case {self.job.case.id}"


class ComparisonItem(pytest.Item):
    def __init__(self, *, comparison, **kwargs):
        super().__init__(**kwargs)
        self.comparison = comparison

    def runtest(self) -> None:
        from evals.suite.expectations import check_comparison

        runs = [run for case in self.comparison.ascending for run in self.parent.runs.get(case, [])]
        missing = [case for case in self.comparison.ascending if case not in self.parent.runs]
        if missing:
            pytest.skip(f"cases not run in this session: {', '.join(missing)}")
        failed = [v for v in check_comparison(self.comparison, runs) if v.status == "failed"]
        if failed:
            raise SuiteFailure("\n".join(f"{v.expectation}: {v.detail}" for v in failed))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, SuiteFailure):
            return f"{self.name} in {self.path}:\n{excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, self.name
