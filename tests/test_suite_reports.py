"""Suite reports: Markdown, self-contained HTML, comparisons between runs, and the files written to --out."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from evals.suite.compare import compare_markdown, compare_reports
from evals.suite.render_html import render_html
from evals.suite.render_markdown import render_markdown
from evals.suite.report import CaseRun, SuiteReport, Verdict
from evals.suite.report_files import write_report
from simulator.trajectory import TrajectoryPoint
from simulator.transcript import Speaker, Transcript, Turn

INJECTED = 'That is <script>alert(1)</script> and </details> <img src="https://evil.example/x.png">'
EMPATHY = "scores.empathy >= 3.5"


def _point(turn: int, trust: float) -> TrajectoryPoint:
    return TrajectoryPoint(turn=turn, learner_text="", trust=trust, openness=trust - 5, engagement=50, mood="neutral",
                           trust_change=0.0, reasons=["+4.0 trust: reflected a feeling"] if turn >= 0 else [],
                           behaviours=[], unlocked=[])


def _transcript(learner_line: str) -> Transcript:
    lines = [(Speaker.PERSONA, "Morning. I have ten minutes."), (Speaker.LEARNER, "Thanks for making time."),
             (Speaker.PERSONA, "Our last vendor let us down badly."), (Speaker.LEARNER, learner_line),
             (Speaker.PERSONA, "Hm. Go on.")]
    return Transcript(persona="procurement-skeptic", turns=[Turn(speaker=s, text=t, at=None) for s, t in lines])


def _run(case: str, repeat: int, empathy: float | None, overall: float | None, trust: float, *,
         learner_line: str = "Tell me more about that.", verdicts: list[Verdict] | None = None,
         error: str | None = None, scorecard: dict | None = None) -> CaseRun:
    scores = {} if empathy is None else {"empathy": empathy, "active_listening": 4.0, "overall": overall}
    return CaseRun(
        case=case, repeat=repeat, persona="procurement-skeptic", difficulty="medium", learner="scripted",
        models={"persona": "fake"}, transcript=None if error else _transcript(learner_line), scores=scores,
        scorecard=scorecard, trajectory=[] if error else [_point(-1, 40), _point(1, 44), _point(3, trust)],
        verdicts=verdicts or [], error=error,
    )


def _verdict(case: str, repeat: int, status: str, expectation: str = EMPATHY, turn: int | None = None) -> Verdict:
    return Verdict(case=case, expectation=expectation, status=status, repeat=repeat, turn=turn,
                   detail="empathy 3.00 is below 3.5" if status == "failed" else "")


SCORECARD = {
    "criteria": {"empathy": {"score": 3.0, "rationale": "Acknowledged <b>some</b> feelings.",
                             "evidence": [{"turn": 3, "quote": "<script>alert(1)</script>"}]}},
    "overall": 3.0, "strengths": ["Opened politely"],
    "improvements": [{"turn": 3, "original": "That is", "better": "That sounds frustrating.", "why": "Name it."}],
    "flags": [],
}


@pytest.fixture
def report() -> SuiteReport:
    return SuiteReport(
        suites=["evals/suites/sales.yaml"], names=["sales"], started="2025-01-01T10:00:00Z", seconds=83.4,
        models={"persona": "fake", "judge": None, "learner": None}, concurrency=2,
        runs=[
            _run("warm-open", 0, 4.5, 4.0, 60, verdicts=[_verdict("warm-open", 0, "passed")]),
            _run("warm-open", 1, 3.0, 3.5, 52, learner_line=INJECTED, scorecard=SCORECARD,
                 verdicts=[_verdict("warm-open", 1, "failed", turn=3),
                           _verdict("warm-open", 1, "skipped", "judge: asks before pitching")]),
            _run("cold-open", 0, 2.0, 2.0, 30, verdicts=[_verdict("cold-open", 0, "passed", "outcome == none")]),
            _run("cold-open", 1, None, None, 0, error="persona model timed out after 300 s"),
        ],
        comparisons=[_verdict(None, 0, "passed", "cold-open < warm-open on overall")],
    )


def _old(report: SuiteReport) -> SuiteReport:
    """An earlier run: warm-open scored higher and passed, cold-open scored lower and failed, 'legacy' existed."""
    old = report.model_copy(deep=True)
    old.runs = [
        _run("warm-open", 0, 4.5, 4.5, 62, verdicts=[_verdict("warm-open", 0, "passed")]),
        _run("warm-open", 1, 4.5, 4.5, 60, verdicts=[_verdict("warm-open", 1, "passed")]),
        _run("cold-open", 0, 2.0, 1.0, 30, verdicts=[_verdict("cold-open", 0, "failed", "outcome == none")]),
        _run("legacy", 0, 3.0, 3.0, 50),
    ]
    return old


# -- Markdown ---------------------------------------------------------------------------------------------------


def test_markdown_puts_failures_first_with_the_turn_that_caused_them(report: SuiteReport) -> None:
    md = render_markdown(report)
    assert md.startswith("# Rapport eval report: FAILED: 1 failed expectation(s), 1 error(s)")
    assert md.index("## Failures (1)") < md.index("## Errors (1)") < md.index("## Runs")
    failure = md[md.index("## Failures"):md.index("## Errors")]
    assert "`warm-open` · repeat 1: scores.empathy >= 3.5" in failure
    assert "empathy 3.00 is below 3.5" in failure
    assert "> **Persona** (turn 2)" in failure and "Our last vendor let us down badly." in failure  # context
    assert "> **Learner** (turn 3) ← caused this" in failure
    assert "That is &lt;script>alert(1)&lt;/script> and &lt;/details>" in failure  # quoted, but inert as HTML
    assert "<script>" not in md
    assert "persona model timed out" in md[md.index("## Errors"):]
    assert "**Runs:** 2 of 4 passed" in md and "3 passed, 1 failed, 1 skipped" in md
    assert "| warm-open | 1 | procurement-skeptic | medium | scripted | none | 52 | 3.50 | ❌ fail (1) |" in md


def test_markdown_score_distributions(report: SuiteReport) -> None:
    md = render_markdown(report)
    table = md[md.index("## Score distributions"):]
    # empathy over the three runs that have scores: 4.5, 3.0, 2.0
    assert "| empathy | 3 | 2.00 | 3.00 | 3.17 | 4.50 |" in table
    assert "| overall | 3 | 2.00 | 3.50 | 3.17 | 4.00 |" in table
    # rubric order (empathy before active_listening), overall last
    assert table.index("| empathy") < table.index("| active_listening") < table.index("| overall")


def test_markdown_without_failures_has_no_failure_section(report: SuiteReport) -> None:
    report.runs = report.runs[:1]
    md = render_markdown(report)
    assert md.startswith("# Rapport eval report: PASSED") and "## Failures" not in md and "## Errors" not in md


# -- compare ----------------------------------------------------------------------------------------------------


def test_compare_finds_regressions_improvements_and_flipped_verdicts(report: SuiteReport) -> None:
    rows = compare_reports(_old(report), report)
    by = {(r.case, r.metric): r for r in rows}
    empathy = by[("warm-open", "empathy")]
    assert (empathy.kind, empathy.before, empathy.after, empathy.change) == ("regression", 4.5, 3.75, -0.75)
    assert by[("cold-open", "overall")].kind == "improvement"  # 1.0 -> 2.0 (the errored repeat has no score)
    assert by[("warm-open", "final_trust")].kind == "unchanged"  # 61 -> 56 is within the 5-point tolerance
    assert by[("warm-open", "verdicts:" + EMPATHY)].kind == "regression"
    assert by[("cold-open", "verdicts:outcome == none")].kind == "improvement"
    assert by[("legacy", "case")].kind == "removed"
    kinds = [r.kind for r in rows]
    assert kinds == sorted(kinds, key=["regression", "improvement", "new", "removed", "unchanged"].index)
    assert compare_reports(_old(report), report) == rows  # deterministic
    assert compare_reports(report, _old(report))[0].kind == "regression"
    assert by[("warm-open", "overall")].kind == "regression"
    assert compare_reports(report, report, score_tolerance=0) == [
        r for r in compare_reports(report, report) if r.kind == "unchanged"]


def test_compare_markdown_and_the_compare_section(report: SuiteReport) -> None:
    rows = compare_reports(_old(report), report)
    text = compare_markdown(rows)
    assert text.startswith("3 regression(s), 2 improvement(s), 0 new, 1 removed, 5 unchanged.")
    assert text.index("**Regressions**") < text.index("**Improvements**") < text.index("**Removed**")
    assert "| warm-open | empathy | 4.50 | 3.75 | -0.75 |" in text
    assert "| warm-open | verdicts:scores.empathy >= 3.5 | 100% passed | 50% passed | -50 pts |" in text
    report.compare, report.compared_to = rows, "runs/yesterday"
    md = render_markdown(report)
    assert "## Compared with `runs/yesterday`" in md and "**Regressions**" in md
    assert "Regressions" in render_html(report)


# -- HTML -------------------------------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class StructureParser(HTMLParser):
    """Checks that every element closes in order, and collects ids, links, scripts and SVGs per section."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.urls: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.script_text = ""
        self.svgs: dict[str | None, int] = {}
        self.section: str | None = None
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()
        if tag == "section":
            self.section = None

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "script":
            self.script_text += data

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(values["id"])
        self.urls += [v for k, v in attrs if k in {"src", "href", "xlink:href", "action", "srcset"} and v]
        if tag == "script":
            self.scripts.append(values)
        if tag == "section":
            self.section = values.get("id")
        if tag == "svg":
            self.svgs[self.section] = self.svgs.get(self.section, 0) + 1


def _parse(page: str) -> StructureParser:
    parser = StructureParser()
    parser.feed(page)
    parser.close()
    return parser


def test_html_is_valid_self_contained_and_escaped(report: SuiteReport) -> None:
    page = render_html(report)
    parsed = _parse(page)
    assert parsed.doctype.lower() == "doctype html"
    assert '<html lang="en">' in page and '<meta charset="utf-8">' in page and "<title>" in page
    assert parsed.problems == [] and parsed.stack == []
    assert len(parsed.ids) == len(set(parsed.ids))
    # self-contained: every link is a fragment on this page; no external script, font, image or stylesheet
    assert parsed.urls and all(u.startswith("#") for u in parsed.urls)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<script src" not in page.lower() and "@import" not in page and "url(" not in page
    assert len(parsed.scripts) == 1 and "alert" not in parsed.script_text  # only the optional expand helper
    assert "<script>alert" not in page and "<img" not in page and "<b>some" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; and &lt;/details&gt;" in page


def test_html_failure_links_to_the_highlighted_turn(report: SuiteReport) -> None:
    page = render_html(report)
    parsed = _parse(page)
    failures = page[page.index('<section id="failures">'):page.index("</section>", page.index('id="failures"'))]
    targets = re.findall(r'href="#([^"]+-turn-\d+)"', failures)
    assert targets == ["run-warm-open-1-turn-3"]
    assert "run-warm-open-1-turn-3" in parsed.ids and "run-warm-open-1" in parsed.ids
    assert re.search(r'<li id="run-warm-open-1-turn-3" class="turn learner caused">', page)
    assert re.search(r'<details class="run" id="run-warm-open-1" open>', page)  # failed runs start open
    assert re.search(r'<details class="run" id="run-warm-open-0">', page)  # passed runs start closed
    assert "That sounds frustrating." in page and "Opened politely" in page  # the scorecard


def test_html_has_one_chart_per_criterion(report: SuiteReport) -> None:
    parsed = _parse(render_html(report))
    assert parsed.svgs["scores"] == 3  # empathy, active_listening, overall
    assert parsed.svgs["runs"] == 3  # a trajectory per run that has one (the errored run has none)


def test_html_without_scores_or_transcripts_still_renders(report: SuiteReport) -> None:
    report.runs = [report.runs[-1]]
    report.comparisons = []
    parsed = _parse(render_html(report))
    assert parsed.problems == [] and "scores" not in parsed.svgs


# -- files ------------------------------------------------------------------------------------------------------


def test_write_report_writes_three_files_that_load_back(report: SuiteReport, tmp_path) -> None:
    report.compare, report.compared_to = compare_reports(_old(report), report), "runs/yesterday"
    paths = write_report(report, tmp_path / "out" / "today")
    assert set(paths) == {"json", "markdown", "html"}
    assert [p.name for p in paths.values()] == ["report.json", "report.md", "report.html"]
    assert all(p.is_file() for p in paths.values())
    assert SuiteReport.load_json(paths["json"]) == report
    assert paths["markdown"].read_text(encoding="utf-8") == render_markdown(report)
    assert paths["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
