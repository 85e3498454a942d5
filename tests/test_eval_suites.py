"""Eval suites: the bundled suites pass offline, failures name case/expectation/turn, broken files exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

from evals.suite.report import SuiteReport
from evals.suite.runner import SuiteRunner, load_suites
from simulator.models import ScriptedChatModel
from simulator.persona import PersonaLibrary

SUITES = Path(__file__).resolve().parent.parent / "evals" / "suites"
HEADER = "# yaml-language-server: $schema=suite.schema.json\n"


def rapport(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rapport.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **env}, timeout=900)


def write_suite(folder: Path, body: str, name: str = "suite.yaml") -> Path:
    path = folder / name
    path.write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    return path


def test_bundled_suites_pass_offline_and_write_complete_reports(tmp_path):
    out = tmp_path / "run"
    suites = [SUITES / name for name in ("evaluator-validity.yaml", "persona-fidelity.yaml", "smoke.yaml")]
    result = rapport("eval", *map(str, suites), "--out", str(out), "--concurrency", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    report = SuiteReport.load_json(out / "report.json")
    assert report.passed and len(report.runs) == 9 + 3 + 2 and len(report.comparisons) == 12
    assert all(run.transcript and run.scores and run.trajectory for run in report.runs)
    markdown = (out / "report.md").read_text()
    assert "Evaluator validity" in markdown and "dana-excellent" in markdown
    html = (out / "report.html").read_text()
    HTMLParser().feed(html)
    assert html.count("<svg") >= 7 and "kayla-poor" in html


@pytest.mark.embedded
def test_smoke_suite_on_the_embedded_model(tmp_path):
    result = rapport("eval", str(SUITES / "smoke.yaml"), "--model-role", "persona=embedded", "--model-role",
                     "learner=embedded", "--out", str(tmp_path / "run"), "--concurrency", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    report = SuiteReport.load_json(tmp_path / "run" / "report.json")
    assert all(run.models["persona"].startswith("embedded") for run in report.runs)
    simulated = next(run for run in report.runs if run.learner == "simulated")
    assert sum(t.speaker.value == "learner" for t in simulated.transcript.turns) >= 1


def test_a_failing_expectation_exits_1_and_names_case_expectation_and_turn(tmp_path):
    suite = write_suite(tmp_path, """
        schema_version: 1
        name: Failing on purpose
        defaults: {models: {persona: fake, judge: null}}
        cases:
          - id: pushy
            persona: procurement-skeptic
            learner:
              script:
                - Thanks for your time, Dana. What went wrong with Veritrack?
                - Let me show you our features, they are best-in-class.
            expect:
              trust: {rises: true}
              replies: {must_not_match: ["best in class"]}
        """)
    result = rapport("eval", str(suite), "--out", str(tmp_path / "run"))
    assert result.returncode == 1
    assert "FAILED pushy#0: trust rises (turn 3)" in result.stdout
    assert "FAILED pushy#0: replies never match /best in class/ (turn 4)" in result.stdout  # the fake persona echoes
    report = SuiteReport.load_json(tmp_path / "run" / "report.json")
    [run] = report.runs
    assert run.transcript.turns[3].text.startswith("Let me show you our features")


@pytest.mark.parametrize(("body", "message"), [
    ("""
        schema_version: 1
        name: Bad
        cases:
          - id: one
            persona: procurement-skeptic
            learner: {script: [Hi]}
            expect: {trust: {final_at_least: 120}}
     """, ":9: cases[0].expect.trust.final_at_least: input should be less than or equal to 100"),
    ("""
        schema_version: 1
        name: Bad
        cases:
          - id: one
            persona: no-such-persona
            learner: {script: [Hi]}
     """, ":7: cases[0].persona: no persona 'no-such-persona'; known:"),
    ("""
        schema_version: 1
        name: Bad
        cases:
          - id: one
            persona: procurement-skeptic
            learner: {script: [Hi], transcript: x.json}
     """, ":8: cases[0].learner: value error, give exactly one of script, simulated or transcript"),
    ("""
        schema_version: 1
        name: Bad
        cases:
          - id: one
            persona: procurement-skeptic
            learner: {script: [Hi]}
            expect: {hidden: {must_unlock: [the-budget]}, replies: {must_match: ["(unclosed"]}}
     """, "cases[0].expect.replies.must_match: value error, invalid regular expression '(unclosed'"),
    ("""
        schema_version: 1
        name: Bad
        cases:
          - id: one
            persona: procurement-skeptic
            learner: {script: [Hi]}
            expect: {hidden: {must_unlock: [the-budget]}}
     """, ":9: cases[0].expect.hidden: 'the-budget' is not a hidden item of procurement-skeptic"),
    ("""
        schema_version: 1
        name: Bad
        cases:
          - {id: one, persona: procurement-skeptic, learner: {script: [Hi]}}
          - {id: one, persona: procurement-skeptic, learner: {script: [Hello]}}
     """, "case ids must be unique; repeated: one"),
])
def test_a_broken_suite_exits_2_with_a_precise_message(tmp_path, body, message):
    suite = write_suite(tmp_path, body)
    result = rapport("eval", str(suite), "--out", str(tmp_path / "run"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"error: {suite}" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


def test_compare_shows_regressions_and_improvements(tmp_path):
    good = """
        schema_version: 1
        name: Compare
        defaults: {models: {persona: fake, judge: null}}
        cases:
          - id: dana
            persona: procurement-skeptic
            learner:
              script:
                - {line}
        """
    first = write_suite(tmp_path, good.replace("{line}", "Thanks, Dana. What went wrong with Veritrack, from where you sat?"), "a.yaml")
    assert rapport("eval", str(first), "--out", str(tmp_path / "before")).returncode == 0
    second = write_suite(tmp_path, good.replace("{line}", "Our platform is best-in-class. Sign today."), "b.yaml")
    result = rapport("eval", str(second), "--out", str(tmp_path / "after"), "--compare", str(tmp_path / "before"))
    report = SuiteReport.load_json(tmp_path / "after" / "report.json")
    regressions = {row.metric for row in report.compare if row.kind == "regression"}
    assert {"final_trust", "overall"} <= regressions
    assert "regression" in result.stdout.lower()


def test_cases_are_retried_on_transient_errors_and_time_out(tmp_path):
    library = PersonaLibrary()
    suite = write_suite(tmp_path, """
        schema_version: 1
        name: Resilience
        defaults: {models: {persona: fake, judge: null}, timeout: 2}
        cases:
          - id: flaky
            persona: procurement-skeptic
            learner: {script: [What went wrong with Veritrack?]}
          - id: slow
            persona: disengaged-student
            learner: {script: [How has this term been for you?]}
        """)
    runner = SuiteRunner(load_suites([suite], library), library=library, concurrency=2)
    flaky = ScriptedChatModel(replies=["Eighteen months. One site."], fail_with=[ConnectionError("connection reset")])
    slow = ScriptedChatModel(replies=["Fine."], delay=5.0)
    jobs = runner.jobs()
    persona_spec = jobs[0].specs["persona"]
    runner.pool._models[("persona", persona_spec.model_dump_json(exclude={"source"}), 0)] = (persona_spec, flaky)

    from simulator.aio import run_sync

    run = run_sync(runner.run_job(jobs[0]))
    assert run.error is None and run.attempts == 2
    runner.pool._models[("persona", persona_spec.model_dump_json(exclude={"source"}), 0)] = (persona_spec, slow)
    timed_out = run_sync(runner.run_job(jobs[1]))
    assert timed_out.error == "timed out after 2s"


def test_suites_run_as_pytest_items(tmp_path):
    write_suite(tmp_path, """
        schema_version: 1
        name: Team suite
        defaults: {models: {persona: fake, judge: null}}
        cases:
          - id: listens
            persona: disengaged-student
            learner: {script: [Hey Kayla, you're not in trouble. How has this term been for you?]}
            expect: {trust: {rises: true}}
          - id: lectures
            persona: disengaged-student
            learner: {script: [You need to sort your homework out. It's unacceptable.]}
            expect: {trust: {rises: true}}
        """, "team.suite.yaml")
    result = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path), "-q", "-p", "no:cacheprovider",
                             "--rootdir", str(tmp_path)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed" in result.stdout
    assert "case lectures" in result.stdout and "trust rises" in result.stdout


def test_committed_schemas_match_the_models():
    from evals.rubric import RUBRICS_DIR, rubric_json_schema_text
    from evals.suite.spec import suite_json_schema_text

    assert (SUITES / "suite.schema.json").read_text() == suite_json_schema_text()
    assert (RUBRICS_DIR / "rubric.schema.json").read_text() == rubric_json_schema_text()
    for path in list(SUITES.glob("*.yaml")) + list(RUBRICS_DIR.glob("*.yaml")):
        assert path.read_text().startswith("# yaml-language-server: $schema=")


def test_free_form_expectations_are_checked_by_the_judge_model(tmp_path, openai_server):
    suite = write_suite(tmp_path, """
        schema_version: 1
        name: Judge checks
        defaults: {models: {persona: fake}}
        cases:
          - id: checked
            persona: procurement-skeptic
            learner: {script: [What went wrong with Veritrack?]}
            expect:
              judge_checks: ["The persona mentions the Veritrack failure", "The learner pitches a product"]
        """)
    answers = iter([{"holds": True, "reason": "turn 2 mentions it", "turn": 2},
                    {"holds": False, "reason": "no pitch at all", "turn": 1}])

    def judge(body: dict) -> str:
        if "Statement:" in body["messages"][-1]["content"]:
            return json.dumps(next(answers))
        from evals.rubric import load_rubric

        from .test_evaluator import judge_reply

        return judge_reply(load_rubric("sales-discovery"))

    openai_server.responder = judge
    with_judge = rapport("eval", str(suite), "--out", str(tmp_path / "judged"), "--concurrency", "1",
                         "--model-role", f"judge=openai:judge@{openai_server.base_url}")
    assert with_judge.returncode == 1
    assert "FAILED checked#0: judge: The learner pitches a product (turn 1): no pitch at all" in with_judge.stdout
    without = rapport("eval", str(suite), "--out", str(tmp_path / "offline"), "--model-role", "judge=none")
    report = SuiteReport.load_json(tmp_path / "offline" / "report.json")
    assert {v.status for v in report.runs[0].verdicts if v.expectation.startswith("judge:")} == {"skipped"}
