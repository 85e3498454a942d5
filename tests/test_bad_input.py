"""Bad input never produces a traceback: fuzzed persona, rubric and suite files, broken or huge transcripts and
cards, empty and enormous learner messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evals.rubric import RUBRICS_DIR, load_rubric
from evals.suite.spec import load_suite
from evals.transcripts import read_transcript
from simulator.errors import DataFileError
from simulator.paths import bundled_personas_dir
from simulator.persona import load_persona
from simulator.persona.cards import read_card

REPO = Path(__file__).resolve().parent.parent
SOURCES = {
    "persona": (bundled_personas_dir() / "procurement-skeptic.yaml", load_persona),
    "rubric": (RUBRICS_DIR / "sales-discovery.yaml", load_rubric),
    "suite": (REPO / "evals" / "suites" / "smoke.yaml", load_suite),
}
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw, original: str) -> str:
    """A valid file damaged the ways people damage files: cut short, lines lost or swapped, junk typed in."""
    lines = original.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["truncate", "delete", "junk", "swap", "retype"]))
        at = draw(st.integers(0, max(0, len(lines) - 1)))
        if action == "truncate":
            lines = lines[: at + 1]
            lines[-1] = lines[-1][: draw(st.integers(0, len(lines[-1])))]
        elif action == "delete" and lines:
            del lines[at]
        elif action == "junk":
            lines.insert(at, draw(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40)))
        elif action == "swap" and len(lines) > 1:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif action == "retype" and lines and ":" in lines[at]:
            key = lines[at].split(":", 1)[0]
            lines[at] = f"{key}: {draw(st.sampled_from(['[1, 2', '{a: b}', '-5', 'null', '999999', 'true', '&x *x']))}"
    return "\n".join(lines) + "\n"


def check_loader(kind: str, text: str) -> None:
    _, loader = SOURCES[kind]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzzed-{kind}.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            loader(path)
        except DataFileError as exc:
            for problem in exc.problems:
                line = str(problem)
                assert line.startswith(str(path)) and "\n" not in line and "Traceback" not in line


@pytest.mark.parametrize("kind", list(SOURCES))
def test_damaged_files_give_located_errors_never_tracebacks(kind):
    original = SOURCES[kind][0].read_text(encoding="utf-8")

    @FUZZ
    @given(mutated(original))
    def run(text: str) -> None:
        check_loader(kind, text)

    run()


@pytest.mark.parametrize("kind", list(SOURCES))
def test_arbitrary_text_gives_errors_never_tracebacks(kind):
    @FUZZ
    @given(st.text(max_size=300))
    def run(text: str) -> None:
        check_loader(kind, text)

    run()


def rapport(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rapport.cli", *args], capture_output=True, text=True, timeout=120)


def test_the_cli_reports_broken_files_in_one_line(tmp_path):
    persona = tmp_path / "persona.yaml"
    persona.write_text(SOURCES["persona"][0].read_text()[:700])  # cut off mid-file
    suite = tmp_path / "suite.yaml"
    suite.write_text("schema_version: 1\nname: [unclosed\n")
    transcript = tmp_path / "t.json"
    transcript.write_text('{"persona": null, "turns": [{"speaker": "learner", "text": "hi"')
    for args, code in ((["personas", "validate", str(persona)], 2), (["eval", str(suite)], 2),
                       (["judge", str(transcript), "--offline"], 2)):
        result = rapport(*args)
        assert result.returncode == code and "Traceback" not in result.stderr + result.stdout, result.stderr
        assert str(tmp_path) in result.stderr + result.stdout


def test_truncated_huge_and_wrong_transcripts_are_clear_errors(tmp_path):
    cases = {
        "truncated.json": ('{"persona": "x", "turns": [{"speaker": "learner", "te', "<json>"),
        "not-an-object.json": ("[1, 2, 3]", "<root>"),
        "wrong-speaker.json": ('{"turns": [{"speaker": "coach", "text": "hi"}]}', "turns.0.speaker"),
        "binary.json": (b"\xff\xfe\x00\x01", "<file>"),
    }
    for name, (content, field) in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(DataFileError) as caught:
            read_transcript(path)
        assert caught.value.problems[0].field == field and str(path) in str(caught.value)
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.write(b'{"persona": null, "turns": [' + b'{"speaker": "learner", "text": "' + b"x" * (50 * 1024 * 1024))
    with pytest.raises(DataFileError, match="the limit is"):
        read_transcript(huge)


def test_truncated_and_huge_character_cards_are_clear_errors(tmp_path):
    from simulator.persona.cards import export_card

    png = export_card(load_persona(SOURCES["persona"][0]), "ccv3", png=True)
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(png[: len(png) // 2])
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.seek(50 * 1024 * 1024)
        handle.write(b"}")
    for path in (truncated, huge):
        with pytest.raises(DataFileError) as caught:
            read_card(path)
        assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_empty_and_enormous_messages_through_the_app(tmp_path):
    from gradio_client import Client

    from bench.app_load import serve_app

    process, url = serve_app(tmp_path)
    try:
        client = Client(url, verbose=False)
        client.predict("disengaged-student", "medium", api_name="/start")
        empty = client.predict("   ", api_name="/send")
        assert "Type a message first." in empty[2]
        enormous = "Tell me more. " * 7200  # about 100,000 characters
        output = client.predict(enormous, api_name="/send")
        history = output[1]
        assert history[-1]["role"] == "assistant" and history[-1]["content"]
        assert len(json.dumps(history[-2]["content"])) > 100_000  # the whole message is kept
    finally:
        process.terminate()
        process.wait(timeout=30)
