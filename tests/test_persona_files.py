"""Persona files: every bundled one loads; every kind of mistake is reported as `path:line: field: message`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.errors import DataFileError
from simulator.paths import bundled_personas_dir
from simulator.persona import PersonaLibrary, load_persona
from simulator.persona.library import Origin
from simulator.persona.loader import persona_json_schema_text

from .conftest import FOUNDING_PERSONAS

BUNDLED = sorted(bundled_personas_dir().glob("*.yaml"))
GOOD = bundled_personas_dir() / "procurement-skeptic.yaml"


def test_every_bundled_persona_loads(library):
    assert library.problems == []
    assert set(FOUNDING_PERSONAS) <= set(library.ids())


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_file_is_valid_and_points_editors_at_the_schema(path: Path):
    assert path.read_text(encoding="utf-8").splitlines()[0] == "# yaml-language-server: $schema=persona.schema.json"
    spec = load_persona(path)
    assert spec.id == path.stem
    assert len(spec.hidden_information) >= 2
    assert len(spec.triggers.builds) + len(spec.triggers.breaks) >= 4


def test_committed_schema_matches_the_models():
    committed = (bundled_personas_dir() / "persona.schema.json").read_text(encoding="utf-8")
    assert committed == persona_json_schema_text(), "run: rapport personas schema -o personas/persona.schema.json"


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = GOOD.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _problems(path: Path) -> list[str]:
    with pytest.raises(DataFileError) as caught:
        load_persona(path)
    return [str(p) for p in caught.value.problems]


def test_unknown_field_names_the_line_and_the_allowed_fields(tmp_path):
    path = _broken(tmp_path, "domain: sales\n", "domain: sales\nfavourite_colour: blue\n")
    [message] = _problems(path)
    line = _line_of(path, "favourite_colour")
    assert message.startswith(f"{path}:{line}: favourite_colour: unknown field; expected one of: schema_version, id,")


def test_wrong_type_points_at_the_nested_field(tmp_path):
    path = _broken(tmp_path, "    trust: 15\n", "    trust: very low\n")
    line = _line_of(path, "trust: very low")
    assert _problems(path) == [
        f"{path}:{line}: difficulty.hard.trust: input should be a valid integer, unable to parse string as an integer"
    ]


def test_missing_field_is_reported_at_its_parent(tmp_path):
    path = _broken(tmp_path, "  learner_brief: >-\n", "  learner_briefing: >-\n")
    messages = _problems(path)
    scenario_line = _line_of(path, "scenario:")
    assert f"{path}:{scenario_line}: scenario.learner_brief: required field is missing" in messages
    assert any(m.startswith(f"{path}:{_line_of(path, 'learner_briefing')}: scenario.learner_briefing: unknown field") for m in messages)


def test_bad_yaml_gives_the_line_of_the_syntax_error(tmp_path):
    path = _broken(tmp_path, "  traits: [skeptical,", "  traits: [skeptical,,, {")
    [message] = _problems(path)
    assert message.startswith(f"{path}:")
    line = int(message.split(":")[1])
    assert abs(line - _line_of(path, "traits: [skeptical")) <= 2
    assert ": <yaml>: " in message


def test_list_item_errors_carry_their_index(tmp_path):
    path = _broken(tmp_path, "      behaviour: open_question\n      weight: 2.0", "      behaviour: asking_nicely\n      weight: 2.0")
    [message] = _problems(path)
    line = _line_of(path, "behaviour: asking_nicely")
    assert message.startswith(f"{path}:{line}: triggers.builds[0].behaviour: input should be 'reflection_simple'")


def test_references_between_fields_are_checked(tmp_path):
    path = _broken(tmp_path, "    min_trust: 65\n", "    min_trust: 65\n    requires_hidden: [no-such-item]\n")
    [message] = _problems(path)
    assert "outcomes: value error, success.requires_hidden names unknown hidden items: no-such-item" in message


def test_empty_binary_and_huge_files_give_clear_errors(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert _problems(empty) == [f"{empty}:1: <root>: file is empty"]
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert _problems(binary)[0].startswith(f"{binary}: <file>: not UTF-8 text")
    huge = tmp_path / "huge.yaml"
    huge.write_text("a: " + "x" * (6 * 1024 * 1024))
    assert "the limit is" in _problems(huge)[0]


def test_user_persona_overrides_bundled_one_and_list_says_where_it_came_from(tmp_path, monkeypatch):
    user_dir = tmp_path / "mine"
    user_dir.mkdir()
    (user_dir / "procurement-skeptic.yaml").write_text(
        GOOD.read_text().replace("name: Dana Whitfield", "name: Dana Whitfield-Jones"), encoding="utf-8"
    )
    monkeypatch.setenv("RAPPORT_USER_PERSONAS", str(user_dir))
    library = PersonaLibrary()
    source = library.source("procurement-skeptic")
    assert source.origin is Origin.USER and source.spec.name == "Dana Whitfield-Jones"
    assert source.overrides == GOOD  # the bundled file it replaces
    result = _rapport("personas", "list")
    row = next(line for line in result.stdout.splitlines() if line.startswith("procurement-skeptic "))
    assert "Dana Whitfield-Jones" in row and "procurement-skeptic.yaml (overrides bundled)" in row and "user:" in row
    # In an 80-column terminal the role gives way; the ids, which users type next, are never cut.
    narrow = _rapport("personas", "list", env={"COLUMNS": "80", "FORCE_COLOR": "1"})
    plain = re.sub(r"\x1b\[[0-9;]*m", "", narrow.stdout)
    assert "role" not in plain.splitlines()[0] and max(map(len, plain.splitlines())) <= 80
    assert all(f"{persona_id} " in plain for persona_id in library.ids())


def _rapport(*args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "rapport.cli", *args],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=120,
    )


def test_cli_validate_exits_2_with_one_line_per_error(tmp_path):
    bad = _broken(tmp_path, "domain: sales\n", "domain: retail\nextra_field: 1\n")
    result = _rapport("personas", "validate", str(bad), str(GOOD))
    assert result.returncode == 2
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{bad}:") for line in lines)
    assert "Traceback" not in result.stderr


def test_cli_validate_all_bundled_exits_0():
    result = _rapport("personas", "validate")
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_schema_is_json_schema():
    result = _rapport("personas", "schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "Rapport persona" and "hidden_information" in schema["properties"]
