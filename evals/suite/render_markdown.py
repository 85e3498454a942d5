"""report.md: what failed and why first, then errors, every run, score distributions and the comparison."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import fmean, median

from evals.rubric import CORE_CRITERIA
from simulator.transcript import Turn

from .compare import compare_markdown, markdown_cell
from .report import CaseRun, SuiteReport, Verdict

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


@dataclass(frozen=True)
class Distribution:
    """One metric over the runs that have it; `values` keeps (run index, value) for plots."""

    values: list[tuple[int, float]]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def numbers(self) -> list[float]:
        return [v for _, v in self.values]

    @property
    def min(self) -> float:
        return min(self.numbers)

    @property
    def max(self) -> float:
        return max(self.numbers)

    @property
    def median(self) -> float:
        return median(self.numbers)

    @property
    def mean(self) -> float:
        return fmean(self.numbers)


def metric_order(keys: Iterable[str]) -> list[str]:
    """Core criteria in rubric order, then custom criteria alphabetically, then 'overall'."""
    keys = set(keys)
    core = [k for k in CORE_CRITERIA if k in keys]
    custom = sorted(keys - set(core) - {"overall"})
    return core + custom + (["overall"] if "overall" in keys else [])


def score_distributions(report: SuiteReport) -> dict[str, Distribution]:
    """Each metric present in any run's scores, over the runs that have it, in `metric_order`."""
    keys = metric_order(k for r in report.runs for k in r.scores)
    return {
        key: Distribution([(i, r.scores[key]) for i, r in enumerate(report.runs) if key in r.scores]) for key in keys
    }


def failure_turns(run: CaseRun | None, turn: int | None) -> list[tuple[int, Turn]]:
    """The turn that caused a failure and the one before it, as (index, turn); empty when unknown."""
    if run is None or run.transcript is None or turn is None or not 0 <= turn < len(run.transcript.turns):
        return []
    return [(i, run.transcript.turns[i]) for i in range(max(turn - 1, 0), turn + 1)]


def run_for(report: SuiteReport, verdict: Verdict) -> tuple[int, CaseRun] | None:
    """The run a verdict belongs to (None for suite-level comparisons)."""
    for i, run in enumerate(report.runs):
        if run.case == verdict.case and run.repeat == verdict.repeat:
            return i, run
    return None


def run_result(run: CaseRun) -> str:
    return "error" if run.error else "pass" if run.passed else "fail"


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def format_models(models: dict[str, str | None]) -> str:
    """'persona fake · learner off · judge openai:gpt-4o' (roles in the order a session uses them)."""
    order = ["persona", "learner", "judge"]
    roles = sorted(models, key=lambda r: (order.index(r) if r in order else len(order), r))
    return " · ".join(f"{role} {models[role] or 'off'}" for role in roles) or "none recorded"


def format_score(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def status_line(report: SuiteReport) -> str:
    """'PASSED' or 'FAILED: 2 failed expectations, 1 error'."""
    counts = report.counts()
    if report.passed:
        return "PASSED"
    parts = [f"{counts['failed']} failed expectation(s)"] if counts["failed"] else []
    parts += [f"{counts['errors']} error(s)"] if counts["errors"] else []
    return "FAILED: " + ", ".join(parts)


def _inline(text: str) -> str:
    """One line of user or model text made inert for Markdown renderers that pass HTML through."""
    return _TAG_START.sub("&lt;", " ".join(text.split()))


def _quote(index: int, turn: Turn, caused: bool) -> list[str]:
    label = f"**{turn.speaker.value.capitalize()}** (turn {index})" + (" ← caused this" if caused else "")
    body = [f"> {_TAG_START.sub('&lt;', line)}".rstrip() for line in turn.text.splitlines() or [""]]
    return [f"> {label}", ">", *body]


def _failures(report: SuiteReport) -> list[str]:
    lines = [f"## Failures ({len(report.failures)})"]
    for number, verdict in enumerate(report.failures, 1):
        where = f"`{verdict.case}` · repeat {verdict.repeat}" if verdict.case else "suite comparison"
        lines += ["", f"### {number}. {where}: {_inline(verdict.expectation)}", ""]
        if verdict.detail:
            lines += [_inline(verdict.detail), ""]
        found = run_for(report, verdict)
        quoted = failure_turns(found[1] if found else None, verdict.turn)
        for i, (index, turn) in enumerate(quoted):
            lines += ([">"] if i else []) + _quote(index, turn, caused=index == verdict.turn)
        if verdict.turn is not None and not quoted:
            lines.append(f"(turn {verdict.turn} is not in the transcript)")
    return lines


def _errors(report: SuiteReport) -> list[str]:
    lines = [f"## Errors ({len(report.errors)})", "", "Cases that could not run to the end (not expectation failures).",
             ""]
    for run in report.errors:
        attempts = f", {run.attempts} attempts" if run.attempts > 1 else ""
        lines.append(f"- `{run.case}` · repeat {run.repeat} ({run.persona}{attempts}): {_inline(run.error or '')}")
    return lines


def _runs_table(report: SuiteReport) -> list[str]:
    lines = ["## Runs", "",
             "| Case | Repeat | Persona | Difficulty | Learner | Outcome | Final trust | Overall | Result |",
             "|---|---:|---|---|---|---|---:|---:|---|"]
    marks = {"pass": "✅ pass", "fail": "❌ fail", "error": "⚠️ error"}
    for run in report.runs:
        failed = sum(v.status == "failed" for v in run.verdicts)
        result = marks[run_result(run)] + (f" ({failed})" if failed else "")
        lines.append(
            f"| {markdown_cell(run.case)} | {run.repeat} | {markdown_cell(run.persona)} | {run.difficulty} | "
            f"{run.learner} | {run.outcome} | {format_score(run.final_trust, 0)} | "
            f"{format_score(run.scores.get('overall'))} | {result} |"
        )
    return lines


def _distributions(report: SuiteReport) -> list[str]:
    lines = ["## Score distributions", "", "Over all runs that have the score.", "",
             "| Metric | n | Min | Median | Mean | Max |", "|---|---:|---:|---:|---:|---:|"]
    for key, d in score_distributions(report).items():
        lines.append(f"| {markdown_cell(key)} | {d.n} | {d.min:.2f} | {d.median:.2f} | {d.mean:.2f} | {d.max:.2f} |")
    return lines


def _comparisons(report: SuiteReport) -> list[str]:
    marks = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}
    lines = ["## Suite comparisons", ""]
    for v in report.comparisons:
        detail = f": {_inline(v.detail)}" if v.detail else ""
        lines.append(f"- {marks[v.status]} {v.status} — {_inline(v.expectation)}{detail}")
    return lines


def render_markdown(report: SuiteReport) -> str:
    """The whole report as Markdown (GitHub-flavoured tables; user text cannot inject HTML)."""
    counts = report.counts()
    names = f" ({', '.join(report.names)})" if report.names else ""
    lines = [
        f"# Rapport eval report: {status_line(report)}",
        "",
        f"- **Suites:** {', '.join(f'`{s}`' for s in report.suites)}{names}",
        f"- **Started:** {report.started} · **Duration:** {format_seconds(report.seconds)} · "
        f"**Concurrency:** {report.concurrency}",
        f"- **Models:** {format_models(report.models)}",
        f"- **Runs:** {counts['runs_passed']} of {counts['runs']} passed · "
        f"**Expectations:** {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped · "
        f"**Errors:** {counts['errors']}",
    ]
    if report.compared_to:
        lines.append(f"- **Compared with:** `{report.compared_to}`")
    sections: list[list[str]] = []
    if report.failures:
        sections.append(_failures(report))
    if report.errors:
        sections.append(_errors(report))
    sections.append(_runs_table(report))
    if any(r.scores for r in report.runs):
        sections.append(_distributions(report))
    if report.comparisons:
        sections.append(_comparisons(report))
    if report.compare is not None:
        title = f"## Compared with `{report.compared_to}`" if report.compared_to else "## Compared with the earlier run"
        sections.append([title, "", compare_markdown(report.compare).rstrip()])
    for section in sections:
        while section and not section[-1]:
            section.pop()
        lines += ["", *section]
    return "\n".join(lines) + "\n"
