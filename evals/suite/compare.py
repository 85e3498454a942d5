"""Compare two suite reports: which case metrics and expectations got worse, better, appeared or disappeared."""

from __future__ import annotations

import re
from collections import defaultdict
from statistics import fmean

from .report import CaseRun, CompareRow, SuiteReport, Verdict

KIND_ORDER = ("regression", "improvement", "new", "removed", "unchanged")
SUITE_CASE = "(suite)"  # CompareRow.case for suite-level comparison verdicts, which belong to no case
VERDICT_PREFIX = "verdicts:"


def _metric_means(runs: list[CaseRun]) -> dict[str, dict[str, float]]:
    """Per case, each metric averaged over the repeats that have it (a run that errored has no scores)."""
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        for metric, value in run.scores.items():
            values[run.case][metric].append(value)
        if run.final_trust is not None:
            values[run.case]["final_trust"].append(run.final_trust)
    return {case: {m: fmean(v) for m, v in metrics.items()} for case, metrics in values.items()}


def _pass_rates(report: SuiteReport) -> dict[tuple[str, str], float]:
    """Per (case, expectation), the share of non-skipped verdicts that passed."""
    seen: dict[tuple[str, str], list[bool]] = defaultdict(list)
    verdicts: list[Verdict] = [v for r in report.runs for v in r.verdicts] + report.comparisons
    for v in verdicts:
        if v.status != "skipped":
            seen[(v.case or SUITE_CASE, v.expectation)].append(v.status == "passed")
    return {key: sum(results) / len(results) for key, results in seen.items()}


def _kind(change: float, tolerance: float) -> str:
    if change < -tolerance:
        return "regression"
    if change > tolerance:
        return "improvement"
    return "unchanged"


def compare_reports(
    old: SuiteReport, new: SuiteReport, *, score_tolerance: float = 0.25, trust_tolerance: float = 5.0
) -> list[CompareRow]:
    """Rows for every case metric (averaged over repeats) and every expectation whose verdict flipped."""
    rows: list[CompareRow] = []
    before_cases = {r.case for r in old.runs}
    after_cases = {r.case for r in new.runs}
    for case in sorted(after_cases - before_cases):
        rows.append(CompareRow(case=case, metric="case", before=None, after=None, change=None, kind="new"))
    for case in sorted(before_cases - after_cases):
        rows.append(CompareRow(case=case, metric="case", before=None, after=None, change=None, kind="removed"))

    before, after = _metric_means(old.runs), _metric_means(new.runs)
    for case in sorted(before_cases & after_cases):
        b, a = before.get(case, {}), after.get(case, {})
        for metric in sorted(set(b) | set(a)):
            if metric not in a:
                rows.append(CompareRow(case=case, metric=metric, before=b[metric], after=None, change=None,
                                       kind="removed"))
            elif metric not in b:
                rows.append(CompareRow(case=case, metric=metric, before=None, after=a[metric], change=None,
                                       kind="new"))
            else:
                change = round(a[metric] - b[metric], 6)  # rounding keeps float noise from crossing a tolerance
                tolerance = trust_tolerance if metric == "final_trust" else score_tolerance
                rows.append(CompareRow(case=case, metric=metric, before=b[metric], after=a[metric], change=change,
                                       kind=_kind(change, tolerance)))

    # An expectation "passed" when every repeat passed; a flip either way is worth a row.
    old_rates, new_rates = _pass_rates(old), _pass_rates(new)
    for key in sorted(set(old_rates) & set(new_rates)):
        was, now = old_rates[key], new_rates[key]
        if (was == 1.0) != (now == 1.0):
            rows.append(CompareRow(case=key[0], metric=VERDICT_PREFIX + key[1], before=was, after=now,
                                   change=round(now - was, 6), kind="regression" if was == 1.0 else "improvement"))

    return sorted(rows, key=lambda r: (KIND_ORDER.index(r.kind), r.case, r.metric))


def format_value(metric: str, value: float | None) -> str:
    """A compare value as people read it: pass rates as percentages, trust as a whole number."""
    if value is None:
        return "—"
    if metric.startswith(VERDICT_PREFIX):
        return f"{value:.0%} passed"
    return f"{value:.0f}" if metric == "final_trust" else f"{value:.2f}"


def format_change(metric: str, change: float | None) -> str:
    if change is None:
        return "—"
    if metric.startswith(VERDICT_PREFIX):
        return f"{change * 100:+.0f} pts"
    return f"{change:+.0f}" if metric == "final_trust" else f"{change:+.2f}"


_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def markdown_cell(text: str) -> str:
    """Text safe in a Markdown table cell: no pipes or newlines, and nothing a renderer would take for an HTML tag."""
    return _TAG_START.sub("&lt;", " ".join(text.split())).replace("|", "\\|")


def compare_summary(rows: list[CompareRow]) -> str:
    """One line: how many rows of each kind."""
    counts = {kind: sum(r.kind == kind for r in rows) for kind in KIND_ORDER}
    labels = {"regression": "regression(s)", "improvement": "improvement(s)", "new": "new",
              "removed": "removed", "unchanged": "unchanged"}
    return ", ".join(f"{counts[k]} {labels[k]}" for k in KIND_ORDER)


def compare_markdown(rows: list[CompareRow]) -> str:
    """Regressions, then improvements, new and removed as tables; unchanged rows only as a count."""
    lines = [compare_summary(rows) + "."]
    titles = {"regression": "Regressions", "improvement": "Improvements", "new": "New", "removed": "Removed"}
    for kind, title in titles.items():
        chosen = [r for r in rows if r.kind == kind]
        if not chosen:
            continue
        lines += ["", f"**{title}**", "", "| Case | Metric | Before | After | Change |", "|---|---|---:|---:|---:|"]
        lines += [
            f"| {markdown_cell(r.case)} | {markdown_cell(r.metric)} | {format_value(r.metric, r.before)} | "
            f"{format_value(r.metric, r.after)} | {format_change(r.metric, r.change)} |"
            for r in chosen
        ]
    return "\n".join(lines) + "\n"
