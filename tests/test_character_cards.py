"""Character Cards in and out: lossless round trips both ways, one-line errors, and the `rapport personas` commands.

Cards are compared in the normal form of `card_normal_form`: canonical JSON (key order ignored) without
`data.extensions.rapport`, and without a `data.extensions` that is then empty or null; all else must be equal.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.errors import DataFileError
from simulator.models import ScriptedChatModel
from simulator.paths import user_personas_dir
from simulator.persona import PersonaLibrary, load_persona
from simulator.persona.card_mapping import IMPORT_NOTES, parse_mes_example
from simulator.persona.card_png import card_json_from_png, initials_picture, png_text_chunks, png_with_text
from simulator.persona.cards import (
    MAX_CARD_BYTES,
    card_normal_form,
    card_png_bytes,
    card_to_persona,
    export_card,
    persona_to_card,
    read_card,
    save_imported_persona,
)
from simulator.persona.spec import ID_PATTERN, Domain
from simulator.persona.writer import save_persona
from simulator.session import Session
from simulator.transcript import Speaker

VERSIONS = ["ccv2", "ccv3"]


def community_card(version: str) -> dict:
    """A card as other tools write it: lorebook, greetings, dialogue examples, fields Rapport has no use for."""
    data = {
        "name": "Mira Okonkwo",
        "description": "{{char}} is a 24-year-old barista who loves jazz.\nShe grew up in Lagos and moved to Leeds at 19.",
        "personality": "warm, curious and a little stubborn",
        "scenario": "A quiet café after closing time; {{user}} stayed behind to help clean up.",
        "first_mes": "*wipes the counter* We're closed, you know.  ",
        "mes_example": "<START>\n{{user}}: Hi there.\n{{char}}: Hey. You're the one who always orders oat flat whites.\n"
        "Right?\n<START>\n{{char}}: *yawns* Long day.",
        "creator_notes": "A cosy slice-of-life character for low-stakes conversation practice. " * 4,
        "system_prompt": "Write {{char}}'s next reply in a fictional chat.",
        "post_history_instructions": "Stay in character as {{char}}.",
        "alternate_greetings": ["Oh! A customer. Sorry, we just closed.", "  Back again? "],
        "character_book": {
            "name": "Café lore",
            "description": "Things Mira knows",
            "scan_depth": 4,
            "token_budget": 512,
            "recursive_scanning": False,
            "extensions": {"sillytavern": {"world": "cafe"}},
            "entries": [
                {
                    "keys": ["jazz", "saxophone"],
                    "content": "{{char}} plays alto saxophone at an open-mic night on Thursdays.",
                    "extensions": {"depth": 4, "probability": 100},
                    "enabled": True,
                    "insertion_order": 100,
                    "case_sensitive": False,
                    "name": "Jazz",
                    "priority": 10,
                    "id": 1,
                    "comment": "music",
                    "selective": True,
                    "secondary_keys": ["music"],
                    "constant": False,
                    "position": "before_char",
                },
                {"keys": ["secret"], "content": "A switched-off entry.", "extensions": {}, "enabled": False, "insertion_order": 0},
                {"keys": ["Lagos", "family"], "content": "Her parents still live in Lagos.", "extensions": {}, "enabled": True,
                 "insertion_order": 5},
                {"keys": ["Jazz"], "content": "Same name as the first entry.", "extensions": {}, "enabled": True, "insertion_order": 6,
                 "name": "jazz"},
            ],
        },
        "tags": ["Slice of Life", "Female", "SFW"],
        "creator": "someone@example",
        "character_version": "1.2",
        "extensions": {"talkativeness": "0.5", "fav": False, "depth_prompt": {"prompt": "", "depth": 4}, "chub": {"id": 42}},
        "x_unknown_data_field": [1, 2.5, None, {"nested": True}],
    }
    card = {"spec": "chara_card_v2", "spec_version": "2.0", "data": data, "x_unknown_top_level": {"kept": "yes"}}
    if version == "ccv3":
        card.update(spec="chara_card_v3", spec_version="3.0")
        for entry in data["character_book"]["entries"]:
            entry["use_regex"] = False
        data.update(
            assets=[{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"},
                    {"type": "background", "uri": "https://example.com/cafe.webp", "name": "cafe", "ext": "webp"}],
            nickname="Mimi",
            creator_notes_multilingual={"en": "Cosy.", "fr": "Douillet."},
            source=["https://example.com/cards/mira"],
            group_only_greetings=["Hi everyone!"],
            creation_date=1700000000,
            modification_date=1700000500,
        )
    return card


def write(path: Path, content: bytes | str | dict) -> Path:
    if isinstance(content, dict):
        content = json.dumps(content)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def through_file(card: dict, version: str, png: bool, tmp_path: Path) -> dict:
    """The card as a file of that kind, read back."""
    contents = card_png_bytes(card, version) if png else json.dumps(card, indent=2).encode("utf-8")
    return read_card(write(tmp_path / ("card.png" if png else "card.json"), contents))


# -- Rapport → card → Rapport ----------------------------------------------------------------------


@pytest.mark.parametrize("png", [False, True], ids=["json", "png"])
@pytest.mark.parametrize("version", VERSIONS)
def test_every_bundled_persona_survives_a_card_round_trip(library, tmp_path, version, png):
    for source in library:
        contents = export_card(source.spec, version, png)
        card = read_card(write(tmp_path / "card", contents))
        assert card["spec"] == f"chara_card_v{version[-1]}"
        back = card_to_persona(card, taken_ids=set(library.ids()))  # its own id stays: it is the same persona
        assert back == source.spec, source.spec.id


@pytest.mark.parametrize("version", VERSIONS)
def test_card_fields_edited_in_another_tool_win_and_rapport_data_stays(library, version):
    for source in library:
        card = persona_to_card(source.spec, version)
        card["data"]["first_mes"] = "Edited elsewhere."
        card["data"]["description"] = source.spec.background + " Also likes chess."
        card["data"]["alternate_greetings"] = ["Another way to start."]
        back = card_to_persona(card, taken_ids=set())
        expected = source.spec.model_copy(
            update={
                "opening_line": "Edited elsewhere.",
                "background": source.spec.background + " Also likes chess.",
                "alternate_openings": ["Another way to start."],
            }
        )
        assert back == expected, source.spec.id


def test_exported_card_maps_the_persona_onto_card_fields(library):
    spec = library.get("procurement-skeptic")
    data = persona_to_card(spec, "ccv3")["data"]
    assert (data["name"], data["description"], data["first_mes"]) == (spec.name, spec.background, spec.opening_line)
    assert data["personality"] == spec.personality.communication_style and data["scenario"] == spec.scenario.setting
    assert data["creator_notes"] == spec.summary and data["system_prompt"] == "" and data["tags"] == ["sales"]
    assert data["mes_example"].startswith("<START>\n{{char}}: ")
    assert parse_mes_example(data["mes_example"]) == spec.personality.speech_examples
    assert [e["keys"] for e in data["character_book"]["entries"]] == [k.keywords for k in spec.knowledge]
    assert all(e["use_regex"] is False and e["enabled"] is True for e in data["character_book"]["entries"])
    assert data["group_only_greetings"] == [] and data["extensions"]["rapport"]["persona"]["id"] == spec.id


# -- card → Rapport → card -------------------------------------------------------------------------


@pytest.mark.parametrize("png", [False, True], ids=["json", "png"])
@pytest.mark.parametrize("version", VERSIONS)
def test_community_card_survives_a_round_trip(tmp_path, version, png):
    original = community_card(version)
    spec = card_to_persona(through_file(original, version, png, tmp_path), taken_ids=set())
    exported = read_card(write(tmp_path / "exported", export_card(spec, version, png)))
    assert card_normal_form(exported) == card_normal_form(original)
    assert exported["data"]["extensions"]["rapport"]["persona"]["id"] == spec.id
    assert card_to_persona(exported, taken_ids={spec.id}) == spec  # and back again: the same persona


@pytest.mark.parametrize("version", VERSIONS)
def test_community_card_survives_the_persona_yaml_file(tmp_path, version):
    original = community_card(version)
    spec = card_to_persona(original, taken_ids=set())
    loaded = load_persona(save_persona(spec, tmp_path))
    assert loaded == spec
    assert card_normal_form(persona_to_card(loaded, version)) == card_normal_form(original)


def test_normal_form_ignores_only_the_rapport_extension():
    card = community_card("ccv3")
    assert card_normal_form(card) != card_normal_form({**card, "x_unknown_top_level": {"kept": "no"}})
    changed = copy.deepcopy(card)
    changed["data"]["character_book"]["entries"][1]["enabled"] = 0  # 0 is not false in JSON
    assert card_normal_form(card) != card_normal_form(changed)
    with_rapport = copy.deepcopy(card)
    with_rapport["data"]["extensions"]["rapport"] = {"persona": {}}
    assert card_normal_form(card) == card_normal_form(with_rapport)


def test_card_without_fields_or_extensions_round_trips():
    card = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Bare", "character_book": None}}
    spec = card_to_persona(card, taken_ids=set())
    assert card_normal_form(persona_to_card(spec, "ccv2")) == card_normal_form(card)


def test_community_card_becomes_a_valid_persona_with_listed_defaults():
    card = community_card("ccv3")
    spec = card_to_persona(card, taken_ids={"mira-okonkwo", "mira-okonkwo-2"})
    assert spec.id == "mira-okonkwo-3" and spec.name == "Mira Okonkwo" and spec.domain.value == "personal"
    assert spec.background.startswith("Mimi is a 24-year-old barista")  # {{char}} is the V3 nickname
    assert spec.role == "24-year-old barista"
    assert spec.opening_line == "*wipes the counter* We're closed, you know."
    assert spec.alternate_openings == ["Oh! A customer. Sorry, we just closed.", "Back again?"]
    assert spec.personality.speech_examples == ["Hey. You're the one who always orders oat flat whites.\nRight?", "*yawns* Long day."]
    assert spec.personality.traits == ["warm", "curious", "a little stubborn"]
    assert len(spec.summary) <= 200 and spec.summary.startswith("A cosy slice-of-life character")
    assert spec.hidden_information == []
    assert [k.id for k in spec.knowledge] == ["jazz", "lagos", "jazz-2"]  # the switched-off entry is not used
    assert all(re.fullmatch(ID_PATTERN, k.id) for k in spec.knowledge)
    assert spec.knowledge[0].content == "Mimi plays alto saxophone at an open-mic night on Thursdays."
    assert spec.scenario.learner_role == "Someone talking with Mira Okonkwo"
    assert spec.scenario.learner_brief == "A quiet café after closing time; you stayed behind to help clean up."
    notes = "\n".join(spec.card_extensions[IMPORT_NOTES])
    for field in ("role", "domain", "triggers", "difficulty", "outcomes", "goals", "hidden_information", "{{user}}"):
        assert field in notes
    assert "summary" not in notes  # the card had creator notes


def test_tag_naming_a_domain_sets_it_and_the_other_tags_come_back():
    card = community_card("ccv2")
    card["data"]["tags"] = ["Roleplay", "Customer service", "English"]
    spec = card_to_persona(card, taken_ids=set())
    assert spec.domain.value == "customer_service"
    assert persona_to_card(spec, "ccv2")["data"]["tags"] == ["Roleplay", "Customer service", "English"]
    renamed = spec.model_copy(update={"domain": Domain.SALES})  # changed in Rapport: the domain tag follows
    assert persona_to_card(renamed, "ccv2")["data"]["tags"] == ["sales", "Roleplay", "English"]


def test_edits_made_in_rapport_win_over_the_card_originals():
    spec = card_to_persona(community_card("ccv2"), taken_ids=set())
    knowledge = [spec.knowledge[0].model_copy(update={"content": "Plays tenor now."}), *spec.knowledge[1:]]
    edited = spec.model_copy(update={"opening_line": "Hello!", "summary": "New summary.", "knowledge": knowledge})
    data = persona_to_card(edited, "ccv2")["data"]
    assert data["first_mes"] == "Hello!" and data["creator_notes"] == "New summary."
    entries = data["character_book"]["entries"]
    assert [e["content"] for e in entries][:2] == ["Plays tenor now.", "A switched-off entry."]
    assert entries[0]["extensions"] == {"depth": 4, "probability": 100} and entries[0]["secondary_keys"] == ["music"]
    assert data["system_prompt"] == "Write {{char}}'s next reply in a fictional chat."  # untouched: as imported
    assert data["alternate_greetings"] == ["Oh! A customer. Sorry, we just closed.", "  Back again? "]


def test_card_exported_in_the_other_version_keeps_its_fields():
    spec = card_to_persona(community_card("ccv3"), taken_ids=set())
    as_v2 = persona_to_card(spec, "ccv2")
    assert (as_v2["spec"], as_v2["spec_version"]) == ("chara_card_v2", "2.0")
    assert as_v2["data"]["nickname"] == "Mimi" and as_v2["data"]["post_history_instructions"] == "Stay in character as {{char}}."
    assert card_to_persona(as_v2, taken_ids=set()) == spec
    v2_spec = card_to_persona(community_card("ccv2"), taken_ids=set())
    as_v3 = persona_to_card(v2_spec, "ccv3")
    assert as_v3["spec"] == "chara_card_v3" and as_v3["data"]["group_only_greetings"] == []
    assert all(e["use_regex"] is False for e in as_v3["data"]["character_book"]["entries"])


def test_v1_card_imports():
    v1 = {"name": "Old Tom", "description": "Old Tom is a retired fisherman.", "personality": "gruff, kind",
          "scenario": "", "first_mes": "Eh?", "mes_example": "", "avatar": "none"}
    spec = card_to_persona(v1, taken_ids=set())
    assert (spec.id, spec.role, spec.opening_line, spec.personality.traits) == ("old-tom", "Retired fisherman", "Eh?", ["gruff", "kind"])
    assert spec.scenario.learner_brief == "Old Tom is a retired fisherman."
    data = persona_to_card(spec, "ccv2")["data"]
    assert data["avatar"] == "none" and data["name"] == "Old Tom"


def test_a_card_with_a_name_that_makes_no_id_gets_one():
    spec = card_to_persona({"spec": "chara_card_v2", "data": {"name": "美咲"}}, taken_ids={"character"})
    assert spec.id == "character-2" and spec.name == "美咲"


# -- PNG -------------------------------------------------------------------------------------------


def test_v3_png_carries_a_v2_chunk_and_v3_is_preferred(library):
    from PIL import Image

    contents = export_card(library.get("disengaged-student"), "ccv3", png=True)
    chunks = png_text_chunks(contents, "card.png")
    assert set(chunks) == {"ccv3", "chara"}
    assert json.loads(base64.b64decode(chunks["chara"]))["spec"] == "chara_card_v2"
    assert card_json_from_png(contents, "card.png")[0] == "ccv3"
    assert Image.open(io.BytesIO(contents)).size == (400, 600)
    assert export_card(library.get("disengaged-student"), "ccv3", png=True) == contents  # deterministic
    v2_only = export_card(library.get("disengaged-student"), "ccv2", png=True)
    assert set(png_text_chunks(v2_only, "card.png")) == {"chara"}


def test_png_reader_prefers_ccv3_even_after_chara(tmp_path):
    def b64(card: dict) -> str:
        return base64.b64encode(json.dumps(card).encode()).decode()

    old = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Old"}}
    new = {"spec": "chara_card_v3", "spec_version": "3.0", "data": {"name": "New"}}
    png = png_with_text(png_with_text(initials_picture("x"), {"chara": b64(old)}), {"ccv3": b64(new)})
    assert read_card(write(tmp_path / "card.png", png))["data"]["name"] == "New"


# -- errors ----------------------------------------------------------------------------------------


def one_line_error(path: Path) -> str:
    with pytest.raises(DataFileError) as caught:
        read_card(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    return message


def test_error_messages_are_one_line_and_name_the_file_and_field(tmp_path, library):
    png = export_card(library.get("procurement-skeptic"), "ccv3", png=True)
    good = community_card("ccv2")
    cases = {
        "malformed.json": ('{"spec": "chara_card_v2", "data": {"name": "x",}}', "<json>: not valid JSON: expecting property name"),
        "truncated.json": (json.dumps(good)[:200], "<json>: not valid JSON"),
        "nan.json": ('{"spec": "chara_card_v2", "data": {"name": NaN}}', "NaN is not a JSON value"),
        "empty.json": ("  \n", "<json>: empty"),
        "plain.png": (initials_picture("No Card"), "<file>: a PNG image without a character card"),
        "truncated.png": (png[: len(png) // 2], "<file>: truncated PNG"),
        "corrupt.png": (png[:-20] + bytes([png[-20] ^ 1]) + png[-19:], "<file>: corrupted PNG: checksum mismatch"),
        "base64.png": (png_with_text(initials_picture("x"), {"chara": "not*base64!"}), "<chara chunk>: not valid base64"),
        "list.json": ("[1, 2]", "<root>: not a Character Card: the JSON is a list"),
        "other.json": ('{"hello": "world"}', "<root>: not a Character Card"),
        "lorebook.json": ('{"spec": "lorebook_v3", "data": {"entries": []}}', "spec: input should be 'chara_card_v2' or 'chara_card_v3'"),
        "binary.jpg": (b"\xff\xd8\xff\xe0\x00\x10JFIF", "<file>: neither a PNG image nor JSON text"),
    }
    for name, (content, expected) in cases.items():
        assert expected in one_line_error(write(tmp_path / name, content)), name
    wrong_types = {
        ("alternate_greetings",): ("hello", "data.alternate_greetings: input should be a valid list"),
        ("name",): (42, "data.name: input should be a valid string"),
        ("character_book", "entries", 0, "keys"): ("jazz", "data.character_book.entries[0].keys: input should be a valid list"),
        ("tags", 1): (7, "data.tags[1]: input should be a valid string"),
        ("extensions",): ([], "data.extensions: input should be a valid dictionary"),
    }
    for (*parents, key), (value, expected) in wrong_types.items():
        card = copy.deepcopy(good)
        node = card["data"]
        for part in parents:
            node = node[part]
        node[key] = value
        assert expected in one_line_error(write(tmp_path / "card.json", card)), key
    missing_name = copy.deepcopy(good)
    del missing_name["data"]["name"]
    missing_name["data"]["alternate_greetings"] = 3
    message = one_line_error(write(tmp_path / "card.json", missing_name))
    assert "data.name: required field is missing (and 1 more problem)" in message
    broken_rapport = persona_to_card(library.get("procurement-skeptic"), "ccv2")
    broken_rapport["data"]["extensions"]["rapport"]["persona"]["difficulty"]["easy"]["trust"] = 400
    message = one_line_error(write(tmp_path / "card.json", broken_rapport))
    assert "data.extensions.rapport.persona.difficulty.easy.trust: input should be less than or equal to 100" in message
    assert "cannot read" in one_line_error(tmp_path / "missing.json")


def test_huge_card_file_is_rejected_before_it_is_read(tmp_path, monkeypatch):
    huge = tmp_path / "huge.png"
    with huge.open("wb") as file:
        file.truncate(50 * 1024 * 1024)  # sparse: 50 MB without writing them

    def refuse(self):
        raise AssertionError("read a file that is over the size limit")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    message = one_line_error(huge)
    assert f"file is 52,428,800 bytes; a card may be at most {MAX_CARD_BYTES:,} bytes (20 MB)" in message


def test_card_to_persona_checks_a_dict_given_directly():
    with pytest.raises(DataFileError, match=r"^card: data.alternate_greetings: input should be a valid list$"):
        card_to_persona({"spec": "chara_card_v2", "data": {"name": "x", "alternate_greetings": "hi"}}, taken_ids=set())


# -- the library and a session ---------------------------------------------------------------------


def test_imported_community_card_is_in_the_library_and_starts_a_session():
    spec = card_to_persona(community_card("ccv3"), taken_ids=set(PersonaLibrary().ids()))
    save_persona(spec, user_personas_dir())
    library = PersonaLibrary()
    assert [p for p in library.problems if spec.id in p.path] == []
    persona = library.get(spec.id)
    session = Session(persona, ScriptedChatModel(replies=["Hi."]), nonverbal=False)
    assert session.turns[0].text == "*wipes the counter* We're closed, you know."
    list(session.send_sync("Hello, sorry, I can help you clean up if you like."))
    assert (session.turns[-1].speaker, session.turns[-1].text) == (Speaker.PERSONA, "Hi.")


# -- the command line ------------------------------------------------------------------------------


def rapport(*args: str, home: Path, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "RAPPORT_HOME": str(home), "RAPPORT_USER_PERSONAS": str(home / "mine")}
    return subprocess.run([sys.executable, "-m", "rapport.cli", *args], stdout=stdout, stderr=subprocess.PIPE, env=env, timeout=120)


def test_cli_imports_a_community_card_and_prints_its_id(tmp_path):
    card = write(tmp_path / "mira.png", card_png_bytes(community_card("ccv3"), "ccv3"))
    first = rapport("personas", "import", str(card), home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.decode() == "mira-okonkwo\n"
    stderr = first.stderr.decode()
    assert "Filled in with defaults" in stderr and "role: guessed from the description" in stderr and "Traceback" not in stderr
    assert load_persona(tmp_path / "mine" / "mira-okonkwo.yaml").name == "Mira Okonkwo"
    again = rapport("personas", "import", str(card), home=tmp_path)
    assert again.stdout.decode() == "mira-okonkwo-2\n"  # a second copy, never an overwrite
    listed = rapport("personas", "list", home=tmp_path).stdout.decode()
    assert "mira-okonkwo " in listed and "mira-okonkwo-2" in listed


def test_cli_exports_and_reimports_over_an_existing_persona_only_with_force(tmp_path):
    exported = rapport("personas", "export", "procurement-skeptic", "--format", "ccv2", home=tmp_path)
    assert exported.returncode == 0, exported.stderr
    card = json.loads(exported.stdout)
    assert card["spec"] == "chara_card_v2" and card["data"]["name"] == "Dana Whitfield"
    card["data"]["first_mes"] = "Edited in another tool."
    path = write(tmp_path / "dana.json", card)
    first = rapport("personas", "import", str(path), home=tmp_path)
    assert first.returncode == 0 and first.stdout.decode() == "procurement-skeptic\n"
    assert "replaces the bundled persona" in first.stderr.decode()
    clash = rapport("personas", "import", str(path), home=tmp_path)
    assert clash.returncode == 1 and clash.stdout == b""
    assert re.fullmatch(r"error: .*procurement-skeptic\.yaml already exists; use --force to overwrite it\n", clash.stderr.decode())
    forced = rapport("personas", "import", str(path), "--force", home=tmp_path)
    assert forced.returncode == 0
    assert load_persona(tmp_path / "mine" / "procurement-skeptic.yaml").opening_line == "Edited in another tool."


def test_cli_writes_png_files_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "dana.png"
    written = rapport("personas", "export", "procurement-skeptic", "--format", "ccv3", "--png", "-o", str(target), home=tmp_path)
    assert written.returncode == 0, written.stderr
    assert read_card(target)["spec"] == "chara_card_v3"
    refused = rapport("personas", "export", "procurement-skeptic", "--format", "ccv2", "-o", str(target), home=tmp_path)
    assert refused.returncode == 1 and "already exists; use --force" in refused.stderr.decode()
    assert read_card(target)["spec"] == "chara_card_v3"
    forced = rapport("personas", "export", "procurement-skeptic", "--format", "ccv2", "-o", str(target), "--force", home=tmp_path)
    assert forced.returncode == 0 and read_card(target)["spec"] == "chara_card_v2"
    piped = rapport("personas", "export", "procurement-skeptic", "--format", "ccv3", "--png", home=tmp_path)
    assert piped.stdout.startswith(b"\x89PNG\r\n\x1a\n")  # a pipe is fine; only a terminal is refused


def test_cli_refuses_png_bytes_on_a_terminal(tmp_path):
    leader, follower = os.openpty()
    try:
        result = rapport("personas", "export", "procurement-skeptic", "--format", "ccv3", "--png", home=tmp_path, stdout=follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert result.returncode == 1
    assert result.stderr.decode() == "error: refusing to write a PNG image to the terminal; give a file with -o FILE\n"


def test_cli_reports_a_bad_card_in_one_line(tmp_path):
    path = write(tmp_path / "card.json", {"spec": "chara_card_v2", "data": {"name": "x", "alternate_greetings": "hi"}})
    result = rapport("personas", "import", str(path), home=tmp_path)
    assert result.returncode == 2  # a bad data file (issue 14: DataFileError exits 2)
    assert result.stderr.decode() == f"error: {path}: data.alternate_greetings: input should be a valid list\n"


# -- a card Rapport could import but never load (issue 14, item 10) ---------------------------------


def big_lorebook_card(entries: int) -> dict:
    """A community card over the persona file limit but well under the card limit: a long lorebook."""
    card = community_card("ccv2")
    note = "The cafe's old espresso machine hisses and rattles every morning before opening. " * 12
    card["data"]["character_book"]["entries"] = [
        {"keys": [f"note {i}"], "content": f"Note {i}: {note}", "enabled": True, "insertion_order": i} for i in range(entries)
    ]
    return card


def test_cli_refuses_a_card_whose_persona_file_would_never_load(tmp_path):
    from simulator.yaml_source import MAX_DATA_FILE_BYTES

    card = write(tmp_path / "big.json", big_lorebook_card(5_000))
    assert MAX_DATA_FILE_BYTES < card.stat().st_size < MAX_CARD_BYTES  # the card itself is allowed
    result = rapport("personas", "import", str(card), home=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b"", stderr
    assert stderr.count("\n") == 1 and stderr.startswith(f"error: {card}: <card>: it makes a persona file of at least ")
    assert f"a persona file may be at most {MAX_DATA_FILE_BYTES:,}" in stderr
    assert list((tmp_path / "mine").glob("*.yaml")) == []  # nothing written that `personas list` would trip on


def test_an_imported_persona_is_loaded_back_and_a_file_that_does_not_load_is_not_left(tmp_path, monkeypatch):
    import simulator.persona.loader as loader

    spec = card_to_persona(community_card("ccv3"), taken_ids=set())
    folder = tmp_path / "mine"
    path = save_imported_persona(spec, folder, "mira.json")
    assert load_persona(path) == spec  # the happy path: written, read back equal

    def unreadable(written):
        raise DataFileError.single(written, 3, "name", "cannot be read back")

    monkeypatch.setattr(loader, "load_persona", unreadable)
    before = path.read_bytes()
    with pytest.raises(DataFileError) as caught:
        save_imported_persona(spec, folder, "mira.json", force=True)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("mira.json: <card>: the persona file written to")
    assert "name: cannot be read back" in message
    assert path.read_bytes() == before  # --force put the working file back
    other = spec.model_copy(update={"id": "mira-two"})
    with pytest.raises(DataFileError, match="was removed"):
        save_imported_persona(other, folder, "mira.json")
    assert not (folder / "mira-two.yaml").exists()
