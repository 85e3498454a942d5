"""report.html: one self-contained page (inline CSS and SVG, no URLs, readable without JavaScript)."""

from __future__ import annotations

from html import escape
from typing import Any

from evals.charts import trajectory_chart
from evals.rubric import CORE_CRITERIA

from .compare import compare_summary, format_change, format_value
from .render_markdown import (
    Distribution,
    failure_turns,
    format_models,
    format_score,
    format_seconds,
    metric_order,
    run_for,
    run_result,
    score_distributions,
    status_line,
)
from .report import CaseRun, SuiteReport, Verdict

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700;
  --accent: #0969da; --learner: #ddf4ff; --persona: #f6f8fa; --hl: #fff8c5; color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; } h2 { margin-top: 2rem; border-bottom: 1px solid var(--line); }
h3 { margin: 1rem 0 .4rem; } h4 { margin: 1rem 0 .3rem; }
a { color: var(--accent); } code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
nav { margin: .5rem 0 1rem; } nav a { margin-right: 1rem; }
.meta { color: var(--muted); margin: .2rem 0; }
.stats { display: flex; flex-wrap: wrap; gap: .75rem; margin: 1rem 0; padding: 0; list-style: none; }
.stats li { border: 1px solid var(--line); border-radius: .5rem; padding: .4rem .8rem; min-width: 8rem; }
.stats b { display: block; font-size: 1.3rem; }
.badge { display: inline-block; padding: 0 .5rem; border-radius: 1rem; font-size: .85em; font-weight: 600;
  color: #fff; background: var(--muted); white-space: nowrap; }
.badge.pass, .badge.passed, .badge.improvement { background: var(--pass); }
.badge.fail, .badge.failed, .badge.regression { background: var(--fail); }
.badge.error { background: var(--warn); }
h3.regression { color: var(--fail); } h3.improvement { color: var(--pass); }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--persona); } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.failures > li { margin-bottom: 1rem; }
blockquote { margin: .4rem 0; padding: 0 0 0 .8rem; border-left: 4px solid var(--line); }
.text { white-space: pre-wrap; overflow-wrap: anywhere; margin: .1rem 0; }
.speaker { font-weight: 600; font-size: .85em; color: var(--muted); }
details.run { border: 1px solid var(--line); border-radius: .5rem; margin: .6rem 0; padding: .3rem .8rem; }
details.run > summary { cursor: pointer; font-weight: 600; padding: .2rem 0; }
.transcript { list-style: none; padding: 0; margin: .5rem 0; }
.turn { padding: .4rem .7rem; margin: .4rem 0; border-radius: .4rem; border-left: 4px solid; max-width: 85%; }
.turn.learner { background: var(--learner); border-color: var(--accent); margin-left: auto; }
.turn.persona { background: var(--persona); border-color: var(--muted); }
.turn.caused { background: var(--hl); outline: 2px solid var(--warn); }
.turn:target { outline: 3px solid var(--accent); }
.effect { font-size: .85em; color: var(--muted); margin: .2rem 0 0; }
.effect ul, td ul { margin: 0; padding-left: 1.2rem; }
figure { margin: .8rem 0; break-inside: avoid; }
figcaption { font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 0 1.5rem; }
svg { max-width: 100%; height: auto; font: 11px system-ui, sans-serif; }
.legend { font-size: .85em; color: var(--muted); }
@media print { main { max-width: none; padding: 0; } nav { display: none; } a { color: inherit; text-decoration: none; }
  .turn, tr { break-inside: avoid; } details.run { border: none; padding: 0; } }
"""

# Optional: opens the run a link points into, and every run before printing; the page works without it.
SCRIPT = """
function openTarget() { var e = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  for (; e; e = e.parentElement) { if (e.tagName === "DETAILS") e.open = true; } }
addEventListener("hashchange", openTarget); addEventListener("DOMContentLoaded", openTarget);
addEventListener("beforeprint", function () {
  document.querySelectorAll("details").forEach(function (d) { d.open = true; }); });
"""

PASS, FAIL, ERROR, MEAN = "#1a7f37", "#cf222e", "#9a6700", "#0969da"


def e(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return escape(str(value), quote=True)


def run_ids(report: SuiteReport) -> list[str]:
    """An anchor id per run, `run-<case>-<repeat>`, made unique when two suites share a case id."""
    ids: list[str] = []
    for run in report.runs:
        base = candidate = f"run-{run.case}-{run.repeat}"
        n = 1
        while candidate in ids:
            n += 1
            candidate = f"{base}-{n}"
        ids.append(candidate)
    return ids


def _badge(kind: str, label: str | None = None) -> str:
    return f'<span class="badge {e(kind)}">{e(label or kind)}</span>'


def _turn_link(rid: str, turn: int) -> str:
    return f'<a href="#{e(rid)}-turn-{turn}">turn {turn}</a>'


# -- charts -----------------------------------------------------------------------------------------------------


def strip_chart(key: str, dist: Distribution, runs: list[CaseRun], ids: list[str]) -> str:
    """One row per case, one dot per run on a 1-5 axis (filled: passed, ring: failed), the mean as a dashed line."""
    cases = list(dict.fromkeys(runs[i].case for i, _ in dist.values))
    left, right, top, row = 130, 16, 22, 26
    width, height = 520, top + row * len(cases) + 30
    lo, hi = min(1.0, dist.min), max(5.0, dist.max)

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * (width - left - right)

    parts = [f'<svg class="strip" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'aria-label="{e(key)}: {dist.n} runs, mean {dist.mean:.2f}">', f"<title>{e(key)} by run</title>"]
    bottom = top + row * len(cases)
    for tick in range(int(lo), int(hi) + 1):
        parts.append(f'<line x1="{x(tick):.1f}" y1="{top}" x2="{x(tick):.1f}" y2="{bottom}" stroke="#d1d9e0"/>'
                     f'<text x="{x(tick):.1f}" y="{bottom + 14}" text-anchor="middle" fill="#59636e">{tick}</text>')
    seen: dict[str, int] = {}
    for i, value in dist.values:
        run = runs[i]
        k = seen[run.case] = seen.get(run.case, -1) + 1
        cy = top + row * cases.index(run.case) + row / 2 + ((k % 3) - 1) * 6  # small jitter keeps repeats visible
        result = run_result(run)
        colour = {"pass": PASS, "fail": FAIL, "error": ERROR}[result]
        fill = colour if result == "pass" else "#fff"
        parts.append(f'<a href="#{e(ids[i])}"><circle cx="{x(value):.1f}" cy="{cy:.1f}" r="5" fill="{fill}" '
                     f'stroke="{colour}" stroke-width="2"><title>{e(run.case)} · repeat {run.repeat}: '
                     f'{value:.2f} ({result})</title></circle></a>')
    for n, case in enumerate(cases):
        label = case if len(case) <= 22 else case[:21] + "…"
        parts.append(f'<text x="{left - 8}" y="{top + row * n + row / 2 + 4:.1f}" text-anchor="end">{e(label)}</text>')
    mx = x(dist.mean)
    parts.append(f'<line x1="{mx:.1f}" y1="{top - 6}" x2="{mx:.1f}" y2="{bottom}" stroke="{MEAN}" stroke-width="2" '
                 f'stroke-dasharray="5 3"/><text x="{mx:.1f}" y="{top - 9}" text-anchor="middle" fill="{MEAN}">'
                 f"mean {dist.mean:.2f}</text></svg>")
    return "".join(parts)


# -- sections ---------------------------------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]], numeric: tuple[int, ...] = ()) -> str:
    """A table from already-escaped cells; `numeric` columns are right-aligned."""
    def cell(tag: str, i: int, html: str) -> str:
        return f'<{tag} class="num">{html}</{tag}>' if i in numeric else f"<{tag}>{html}</{tag}>"

    head = "".join(cell("th", i, e(h)) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{title}</h2>{body}</section>'


def _header(report: SuiteReport) -> str:
    c = report.counts()
    names = f" ({e(', '.join(report.names))})" if report.names else ""
    suites = ", ".join(f"<code>{e(s)}</code>" for s in report.suites)
    stats = [(f"{c['runs_passed']}/{c['runs']}", "runs passed"), (c["passed"], "expectations passed"),
             (c["failed"], "failed"), (c["skipped"], "skipped"), (c["errors"], "errors")]
    cards = "".join(f"<li><b>{e(n)}</b>{e(label)}</li>" for n, label in stats)
    compared = f'<p class="meta">Compared with <code>{e(report.compared_to)}</code></p>' if report.compared_to else ""
    badge = _badge("pass" if report.passed else "fail", status_line(report))
    return (f"<header><h1>Rapport eval report {badge}</h1><p class=\"meta\">Suites: {suites}{names}</p>"
            f'<p class="meta">Started {e(report.started)} · {e(format_seconds(report.seconds))} · '
            f"concurrency {report.concurrency} · models: {e(format_models(report.models))}</p>{compared}"
            f'<ul class="stats">{cards}</ul></header>')


def _quoted_turns(run: CaseRun | None, verdict: Verdict) -> str:
    quoted = failure_turns(run, verdict.turn)
    if not quoted:
        return "" if verdict.turn is None else f'<p class="meta">Turn {verdict.turn} is not in the transcript.</p>'
    items = "".join(f'<div class="speaker">{e(t.speaker.value.capitalize())} · turn {i}'
                    f'{" · caused this" if i == verdict.turn else ""}</div><p class="text">{e(t.text)}</p>'
                    for i, t in quoted)
    return f"<blockquote>{items}</blockquote>"


def _failures(report: SuiteReport, ids: list[str]) -> str:
    items = []
    for v in report.failures:
        found = run_for(report, v) if v.case is not None else None
        what, jump, quote = f"<strong>{e(v.expectation)}</strong>", "", ""
        if v.case is None:
            where = "Suite comparison"
        elif found is None:
            where = f"<code>{e(v.case)}</code> · repeat {v.repeat}"
        else:
            rid = ids[found[0]]
            where = f'<a href="#{e(rid)}"><code>{e(v.case)}</code> · repeat {v.repeat}</a>'
            if v.turn is not None:
                jump = f' <a href="#{e(rid)}-turn-{v.turn}">Show turn {v.turn} in the transcript</a>'
            quote = _quoted_turns(found[1], v)
        items.append(f"<li>{where}: {what}<p>{e(v.detail)}{jump}</p>{quote}</li>")
    return _section("failures", f"Failures ({len(items)})", f'<ol class="failures">{"".join(items)}</ol>')


def _errors(report: SuiteReport, ids: list[str]) -> str:
    items = "".join(f'<li><a href="#{e(ids[i])}"><code>{e(r.case)}</code> · repeat {r.repeat}</a> ({e(r.persona)}, '
                    f'{r.attempts} attempt(s)): <span class="text">{e(r.error)}</span></li>'
                    for i, r in enumerate(report.runs) if r.error)
    body = f"<p>Cases that could not run to the end (not expectation failures).</p><ul>{items}</ul>"
    return _section("errors", f"Errors ({len(report.errors)})", body)


def _runs_table(report: SuiteReport, ids: list[str]) -> str:
    headers = ["Case", "Repeat", "Persona", "Difficulty", "Learner", "Outcome", "Final trust", "Overall", "Result"]
    rows = [[f'<a href="#{e(ids[i])}">{e(r.case)}</a>', str(r.repeat), e(r.persona), e(r.difficulty), e(r.learner),
             e(r.outcome), format_score(r.final_trust, 0), format_score(r.scores.get("overall")),
             _badge(run_result(r))] for i, r in enumerate(report.runs)]
    return _section("cases", "Runs", _table(headers, rows, numeric=(1, 6, 7)))


def _distributions(report: SuiteReport, ids: list[str]) -> str:
    dists = score_distributions(report)
    rows = [[e(k), str(d.n), *(f"{v:.2f}" for v in (d.min, d.median, d.mean, d.max))] for k, d in dists.items()]
    figures = "".join(f"<figure><figcaption>{e(k)}</figcaption>{strip_chart(k, d, report.runs, ids)}</figure>"
                      for k, d in dists.items())
    legend = (f'<p class="legend"><span style="color:{PASS}">●</span> run passed · '
              f'<span style="color:{FAIL}">○</span> run failed · '
              f'<span style="color:{ERROR}">○</span> run errored · dashed line: mean over runs</p>')
    table = _table(["Metric", "n", "Min", "Median", "Mean", "Max"], rows, numeric=(1, 2, 3, 4, 5))
    return _section("scores", "Score distributions", f'{table}{legend}<div class="charts">{figures}</div>')


def _verdict_table(verdicts: list[Verdict], rid: str | None = None) -> str:
    rows = [[_badge(v.status), e(v.expectation), e(v.detail),
             _turn_link(rid, v.turn) if rid and v.turn is not None else ""] for v in verdicts]
    return _table(["Status", "Expectation", "Detail", "Turn"], rows)


def _compare(report: SuiteReport) -> str:
    rows = report.compare or []
    title = f"Compared with <code>{e(report.compared_to)}</code>" if report.compared_to else "Compared with earlier run"
    parts = [f"<p>{e(compare_summary(rows))}.</p>"]
    titles = {"regression": "Regressions", "improvement": "Improvements", "new": "New", "removed": "Removed"}
    for kind, heading in titles.items():  # unchanged rows are only counted
        chosen = [[e(r.case), e(r.metric), e(format_value(r.metric, r.before)), e(format_value(r.metric, r.after)),
                   e(format_change(r.metric, r.change))] for r in rows if r.kind == kind]
        if chosen:
            parts.append(f'<h3 class="{kind}">{heading} ({len(chosen)})</h3>'
                         + _table(["Case", "Metric", "Before", "After", "Change"], chosen, numeric=(2, 3, 4)))
    return _section("compare", title, "".join(parts))


# -- one run ----------------------------------------------------------------------------------------------------


def _transcript(run: CaseRun, rid: str) -> str:
    if run.transcript is None or not run.transcript.turns:
        return '<p class="meta">No transcript.</p>'
    caused = {v.turn for v in run.verdicts if v.status == "failed" and v.turn is not None}
    effects = {p.turn: p for p in run.trajectory if p.turn >= 0}
    items = []
    for i, turn in enumerate(run.transcript.turns):
        classes = f"turn {turn.speaker.value}" + (" caused" if i in caused else "")
        flag = " · caused a failure" if i in caused else ""
        effect = ""
        if (p := effects.get(i)) is not None:
            reasons = "".join(f"<li>{e(r)}</li>" for r in p.reasons)
            effect = (f'<div class="effect">trust {p.trust:.0f} ({p.trust_change:+.0f}) · mood {e(p.mood)}'
                      f"{f'<ul>{reasons}</ul>' if reasons else ''}</div>")
        items.append(f'<li id="{e(rid)}-turn-{i}" class="{classes}"><div class="speaker">'
                     f"{e(turn.speaker.value.capitalize())} · turn {i}{flag}</div>"
                     f'<p class="text">{e(turn.text)}</p>{effect}</li>')
    return f'<ol class="transcript">{"".join(items)}</ol>'


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _link_if_turn(rid: str, item: dict[str, Any]) -> str:
    return _turn_link(rid, item["turn"]) if isinstance(item.get("turn"), int) else ""


def _scorecard(card: dict[str, Any], rid: str) -> str:
    """The `rapport judge` contract JSON, read defensively: a malformed card still renders what it has."""
    criteria = card["criteria"] if isinstance(card.get("criteria"), dict) else {}
    order = [k for k in CORE_CRITERIA if k in criteria] + sorted(set(criteria) - set(CORE_CRITERIA))
    rows = []
    for key in order:
        c = criteria[key] if isinstance(criteria[key], dict) else {}
        quotes = "".join(f"<li>{_link_if_turn(rid, ev)} “{e(ev.get('quote', ''))}”</li>"
                         for ev in _items(c.get("evidence")) if isinstance(ev, dict))
        evidence = f"<ul>{quotes}</ul>" if quotes else ""
        rows.append([e(key), e(c.get("score", "—")), e(c.get("rationale", "")), evidence])
    parts = [f'<h4>Scorecard · overall {e(card.get("overall", "—"))}</h4>']
    if card.get("summary"):
        parts.append(f"<p>{e(card['summary'])}</p>")
    if rows:
        parts.append(_table(["Criterion", "Score", "Rationale", "Evidence"], rows, numeric=(1,)))
    for title, key in (("Strengths", "strengths"), ("Flags", "flags")):
        if _items(card.get(key)):
            parts.append(f"<h4>{title}</h4><ul>{''.join(f'<li>{e(s)}</li>' for s in card[key])}</ul>")
    better = [[_link_if_turn(rid, i), e(i.get("original", "")), e(i.get("better", "")), e(i.get("why", ""))]
              for i in _items(card.get("improvements")) if isinstance(i, dict)]
    if better:
        parts.append("<h4>Improvements</h4>" + _table(["Turn", "Original", "Better", "Why"], better))
    return "".join(parts)


def _run(run: CaseRun, rid: str) -> str:
    result = run_result(run)
    opened = " open" if result != "pass" else ""  # failed runs start open so failure links land on visible turns
    models = f" · models: {e(format_models(run.models))}" if run.models else ""
    unlocked = f" · unlocked: {e(', '.join(run.unlocked))}" if run.unlocked else ""
    parts = [f'<details class="run" id="{e(rid)}"{opened}><summary>{_badge(result)} <code>{e(run.case)}</code> · '
             f"repeat {run.repeat} · {e(run.persona)} ({e(run.difficulty)}, {e(run.learner)} learner)</summary>",
             f'<p class="meta">Outcome {e(run.outcome)} · {run.seconds:.1f} s · {run.attempts} attempt(s)'
             f"{models}{unlocked}</p>"]
    if run.error:
        parts.append(f'<h4>Error</h4><p class="text">{e(run.error)}</p>')
    if run.verdicts:
        parts.append(f"<h4>Expectations</h4>{_verdict_table(run.verdicts, rid)}")
    if run.trajectory:
        linked = run.transcript is not None and bool(run.transcript.turns)  # markers jump to the turns below
        chart = trajectory_chart(run.trajectory, link_prefix=f"{rid}-turn-" if linked else None)
        parts.append(f"<h4>Trajectory</h4><figure>{chart}</figure>")
    parts.append(f"<h4>Transcript</h4>{_transcript(run, rid)}")
    if run.scores or run.offline_scores:
        keys = metric_order([*run.scores, *run.offline_scores])
        rows = [[e(k), format_score(run.scores.get(k)), format_score(run.offline_scores.get(k))] for k in keys]
        parts.append("<h4>Scores</h4>" + _table(["Metric", "Score", "Offline score"], rows, numeric=(1, 2)))
    if run.scorecard:
        parts.append(_scorecard(run.scorecard, rid))
    return "".join(parts) + "</details>"


def render_html(report: SuiteReport) -> str:
    """The whole report as one HTML5 page; every piece of text is escaped."""
    ids = run_ids(report)
    comparisons = _section("comparisons", "Suite comparisons", _verdict_table(report.comparisons))
    sections = [
        ("failures", "Failures", _failures(report, ids) if report.failures else ""),
        ("errors", "Errors", _errors(report, ids) if report.errors else ""),
        ("cases", "Runs", _runs_table(report, ids)),
        ("scores", "Scores", _distributions(report, ids) if any(r.scores for r in report.runs) else ""),
        ("comparisons", "Suite comparisons", comparisons if report.comparisons else ""),
        ("compare", "Compare", _compare(report) if report.compare is not None else ""),
        ("runs", "Details", _section("runs", "Run details", "".join(map(_run, report.runs, ids)))),
    ]
    shown = [(anchor, label, html) for anchor, label, html in sections if html]
    nav = "<nav>" + "".join(f'<a href="#{anchor}">{label}</a>' for anchor, label, _ in shown) + "</nav>"
    body = "\n".join(html for _, _, html in shown)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{e('Rapport eval report: ' + status_line(report))}</title>\n<style>{CSS}</style>\n</head>\n"
            f"<body>\n<main>\n{_header(report)}\n{nav}\n{body}\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n")
