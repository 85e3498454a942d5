"""The bundled gaming suite: a genuine learner beats every gamer, and no trick earns a hidden item.

Four personas in different fields each answer one fixed sequence of persona lines with seven recorded learners
(genuine, stuffer, parrot, interrogator, flatterer, injector, lecturer). The suite runs through `rapport eval`,
the same code path a user runs, and every case expectation and comparison must pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from evals.suite.report import SuiteReport
from evals.suite.spec import load_suite
from evals.transcripts import read_transcript
from simulator.persona import PersonaLibrary
from simulator.transcript import Speaker, Transcript

SUITE = Path(__file__).resolve().parent.parent / "evals" / "suites" / "gaming.yaml"
# The seven of issue 13, and a keyword template (stem + their first five content words + a stock question).
KINDS = {"genuine", "stuffer", "parrot", "interrogator", "flatterer", "injector", "lecturer", "template"}
GAMERS = KINDS - {"genuine"}
FISHING = "What are you not telling me?"


def recorded() -> dict[str, dict[str, Transcript]]:
    """Persona id -> learner kind (the transcript file's last name part) -> transcript."""
    spec = load_suite(SUITE)
    found: dict[str, dict[str, Transcript]] = defaultdict(dict)
    for name in sorted({case.learner.transcript for case in spec.cases if case.learner.transcript}):
        transcript = read_transcript(SUITE.parent / name)
        found[transcript.persona][Path(name).stem.rsplit("-", 1)[-1]] = transcript
    return found


def lines(transcript: Transcript, speaker: Speaker) -> list[str]:
    return [turn.text for turn in transcript.turns if turn.speaker is speaker]


def test_the_gaming_suite_covers_four_fields_and_all_seven_learners():
    library = PersonaLibrary()
    found = recorded()
    assert len(found) >= 4
    assert len({library.get(persona).domain for persona in found}) >= 4
    for persona, transcripts in found.items():
        assert set(transcripts) == KINDS, persona
        for kind, transcript in transcripts.items():
            assert transcript.persona == persona
            speakers = [turn.speaker for turn in transcript.turns]
            assert speakers == [Speaker.PERSONA, Speaker.LEARNER] * 6, (persona, kind)


def test_persona_lines_are_identical_across_a_personas_transcripts():
    library = PersonaLibrary()
    for persona, transcripts in recorded().items():
        expected = lines(transcripts["genuine"], Speaker.PERSONA)
        assert expected[0] == " ".join(library.get(persona).opening_line.split())
        for kind, transcript in transcripts.items():
            assert lines(transcript, Speaker.PERSONA) == expected, (persona, kind)
        learner_turns = {kind: tuple(lines(t, Speaker.LEARNER)) for kind, t in transcripts.items()}
        assert len(set(learner_turns.values())) == len(KINDS), f"{persona}: two learners say the same thing"


def test_every_gamer_is_checked_on_medium_and_hard_and_fishing_on_easy():
    spec = load_suite(SUITE)
    cases = {case.id: case for case in spec.cases}
    compared = {tuple(c.ascending) for c in spec.comparisons}
    for persona, transcripts in recorded().items():
        short = next(c.id.split("-")[0] for c in spec.cases if c.persona == persona)
        for kind in GAMERS:
            for level in ("medium", "hard"):
                case = cases[f"{short}-{kind}-{level}"]
                assert case.persona == persona and case.difficulty.value == level
                assert case.learner.transcript == f"gaming/{short}-{kind}.json"
                assert case.expect.hidden and case.expect.hidden.none_unlocked
            assert (f"{short}-{kind}-medium", f"{short}-genuine-medium") in compared
    fishing = [c for c in spec.cases if c.learner.script and set(c.learner.script) == {FISHING}]
    assert len({c.persona for c in fishing}) >= 2
    assert all(c.difficulty.value == "easy" and c.expect.hidden.none_unlocked for c in fishing)


def test_the_gaming_suite_passes(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "rapport.cli", "eval", str(SUITE), "--out", str(out),
                             "--concurrency", "4"], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "200"}, timeout=900)
    assert (out / "report.json").is_file(), result.stdout + result.stderr
    report = SuiteReport.load_json(out / "report.json")
    assert not report.errors, [f"{r.case}: {r.error}" for r in report.errors]
    failures = [f"{v.case or '(suite)'}: {v.expectation}: {v.detail}" for v in report.failures]
    assert not failures, "\n".join(failures)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {run.persona for run in report.runs} == set(recorded())
