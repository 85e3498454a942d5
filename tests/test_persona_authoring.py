"""Authoring personas without Python: lint, the wizard, drafting from a description, YAML writing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.errors import DataFileError
from simulator.models import ScriptedChatModel
from simulator.paths import bundled_personas_dir
from simulator.persona import PersonaLibrary, load_persona
from simulator.persona.drafting import DraftError, draft_persona
from simulator.persona.lint import lint_file
from simulator.persona.spec import PersonaSpec
from simulator.persona.writer import persona_to_yaml
from simulator.yaml_source import load_yaml, plain_data

EXAMPLE = (bundled_personas_dir() / "procurement-skeptic.yaml").read_text(encoding="utf-8")
WIZARD_INPUT = Path(__file__).parent / "data" / "wizard_answers.txt"


def rapport(*args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rapport.cli", *args],
        capture_output=True, text=True, input=input, env={**os.environ, "COLUMNS": "200", **env}, timeout=120,
    )


@pytest.mark.parametrize("source", list(PersonaLibrary()), ids=lambda s: s.spec.id)
def test_bundled_personas_lint_clean_and_round_trip_through_the_writer(source):
    assert lint_file(source.path) == []
    text = persona_to_yaml(source.spec)
    assert text.startswith("# yaml-language-server: $schema=persona.schema.json\n")
    assert PersonaSpec.model_validate(plain_data(load_yaml(text, "x"))) == source.spec


def test_lint_reports_what_validation_cannot_catch(tmp_path):
    spec = load_persona(bundled_personas_dir() / "procurement-skeptic.yaml")
    thin = spec.model_copy(
        update={
            "hidden_information": [],
            "opening_line": "",
            "background": "Dana buys software.",
            "triggers": spec.triggers.model_copy(update={"builds": spec.triggers.builds[:1], "breaks": spec.triggers.breaks[:1]}),
            "scenario": spec.scenario.model_copy(update={"learner_goal": "", "learner_brief": "Dana is busy."}),
        }
    )
    path = tmp_path / "thin.yaml"
    path.write_text(persona_to_yaml(thin), encoding="utf-8")
    warnings = {p.field: str(p) for p in lint_file(path)}
    assert set(warnings) >= {"hidden_information", "triggers", "opening_line", "background", "scenario.learner_goal"}
    assert warnings["triggers"].startswith(f"{path}:") and "only 2 triggers" in warnings["triggers"]
    result = rapport("personas", "lint", str(path))
    assert result.returncode == 1 and len(result.stdout.splitlines()) == len(warnings)


def test_lint_reports_an_invalid_file_as_an_error_and_a_thin_one_as_warnings(tmp_path):
    spec = load_persona(bundled_personas_dir() / "procurement-skeptic.yaml")
    thin = tmp_path / "thin.yaml"
    thin.write_text(persona_to_yaml(spec.model_copy(update={"hidden_information": []})), encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(EXAMPLE.replace("    trust: 40\n", "    trust: 400\n", 1), encoding="utf-8")
    result = rapport("personas", "lint", str(tmp_path))
    lines = result.stdout.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert result.returncode == 2, result.stdout + result.stderr  # invalid beats thin: the file does not load
    assert len(errors) == 1 and errors[0].startswith(f"error: {broken}:")
    assert "difficulty.easy.trust: input should be less than or equal to 100" in errors[0]
    assert len(warnings) == 1 and warnings[0].startswith(f"warning: {thin}:") and "hidden_information" in warnings[0]
    assert len(lines) == 2 and "2 file(s) linted, 1 error(s), 1 warning(s)" in result.stderr
    only_thin = rapport("personas", "lint", str(thin))
    assert only_thin.returncode == 1 and only_thin.stdout.splitlines() == warnings  # warnings stay warnings


def test_wizard_validates_as_you_go_and_writes_a_clean_persona(tmp_path):
    result = rapport("personas", "new", input=WIZARD_INPUT.read_text(), RAPPORT_HOME=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "retired-teacher"
    assert "use 3-64 lowercase letters" in result.stderr  # the bad id was refused and asked again
    assert "give a whole number from 0 to 100" in result.stderr
    path = tmp_path / "personas" / "retired-teacher.yaml"
    spec = load_persona(path)
    assert spec.name == "Harold Finch" and spec.scenario.learner_label == "Volunteer"
    assert [t.behaviour for t in spec.triggers.breaks] == ["jargon", "pushing_agenda"]
    assert spec.difficulty.easy.trust > spec.difficulty.medium.trust == 30 > spec.difficulty.hard.trust
    assert lint_file(path) == []
    again = rapport("personas", "new", input=WIZARD_INPUT.read_text(), RAPPORT_HOME=str(tmp_path))
    assert "already used by another persona" in again.stderr  # never overwrites a persona by accident


def _draft_of(spec_id: str, name: str) -> str:
    return EXAMPLE.replace("id: procurement-skeptic", f"id: {spec_id}").replace("name: Dana Whitfield", f"name: {name}")


def test_drafting_repairs_an_invalid_first_draft_once():
    invalid = "```yaml\n" + _draft_of("retired-teacher", "Harold Finch").replace("domain: sales", "domain: banking") + "```"
    valid = "Here you go:\n```yaml\n" + _draft_of("retired-teacher", "Harold Finch") + "```"
    model = ScriptedChatModel(replies=[invalid, valid])
    draft = asyncio.run(draft_persona("a retired teacher", model, example_yaml=EXAMPLE, taken_ids={"procurement-skeptic"}))
    assert draft.repaired and draft.spec.id == "retired-teacher"
    repair_request = model.prompts[1][-1].content
    assert "draft:" in repair_request and "domain: input should be 'sales'" in repair_request


def test_drafting_gives_up_after_one_repair_and_keeps_the_draft():
    taken = _draft_of("procurement-skeptic", "Dana")  # an id that is already taken, twice
    model = ScriptedChatModel(replies=[taken, taken])
    with pytest.raises(DraftError) as caught:
        asyncio.run(draft_persona("x", model, example_yaml=EXAMPLE, taken_ids={"procurement-skeptic"}))
    assert "already taken" in str(caught.value.problems[0]) and "id: procurement-skeptic" in caught.value.draft


def test_new_from_description_on_the_command_line(tmp_path):
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["```yaml\n" + _draft_of("retired-teacher", "Harold Finch") + "```"]))
    result = rapport(
        "personas", "new", "--from-description", "a retired teacher who distrusts online banking",
        "--model", f"fake:{replies}", RAPPORT_HOME=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "retired-teacher"
    assert load_persona(tmp_path / "personas" / "retired-teacher.yaml").name == "Harold Finch"

    replies.write_text(json.dumps(["not yaml: [", "still: not: valid"]))
    failed = rapport("personas", "new", "--from-description", "x", "--model", f"fake:{replies}", RAPPORT_HOME=str(tmp_path))
    assert failed.returncode == 1
    assert "still invalid after one repair" in failed.stderr and "draft-needs-fixing.yaml" in failed.stderr
    with pytest.raises(DataFileError):
        load_persona(tmp_path / "drafts" / "draft-needs-fixing.yaml")


def test_drafting_refuses_the_tiny_default_model_and_points_to_what_works(tmp_path):
    """With no model configured, drafting would fail twice on the 270M default: say what to set instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAPPORT_"))}
    result = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "personas", "new", "--from-description", "a retired teacher"],
        capture_output=True, text=True, env={**env, "RAPPORT_HOME": str(tmp_path)}, cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "too small" in result.stderr and "OPENAI_API_KEY" in result.stderr and "wizard" in result.stderr
    assert not (tmp_path / "drafts").exists()  # no model was called, nothing half-written
