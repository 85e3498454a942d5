"""Import and export Character Cards (V1, V2, V3; JSON or PNG) so that nothing is lost either way.

Rapport → card → Rapport: the whole persona travels in `data.extensions.rapport.persona`.
Card → Rapport → card: the card fields Rapport maps are read into the persona (see `card_mapping`); every
other difference between the card and what Rapport would write is kept in `card_extensions["card_patch"]`,
keyed by JSON Pointer, as the card's value (`card`; absent = the key was absent) and Rapport's value at import
time (`rapport`). Export writes the card's value back only while Rapport still writes that same `rapport`
value there, so an edit made in Rapport wins over the stored original, and an untouched card comes back equal.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import DataFileError
from ..yaml_source import problems_from_validation
from .card_mapping import (
    SPECS,
    CardVersion,
    apply_card_fields,
    card_data,
    community_persona,
    same,
)
from .card_png import PNG_SIGNATURE, card_json_from_png, initials_picture, png_with_text
from .spec import PersonaSpec

MAX_CARD_BYTES = 20 * 1024 * 1024  # community cards with big lorebooks and pictures stay well below
CARD_PATCH = "card_patch"
CARD_VERSION = "card_version"  # the version `card_patch` was taken against
V1_FIELDS = {"description", "personality", "scenario", "first_mes", "mes_example"}
_ABSENT = object()

__all__ = [
    "CardVersion",
    "MAX_CARD_BYTES",
    "card_normal_form",
    "card_png_bytes",
    "card_to_persona",
    "convert_card",
    "export_card",
    "persona_file_text",
    "persona_to_card",
    "read_card",
    "save_imported_persona",
]


# -- the boundary: what Rapport reads from a card must have the right type; everything else is kept as is --


class _CardModel(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class CardBookEntry(_CardModel):
    keys: list[str] = Field(default_factory=list)
    content: str | None = None
    enabled: bool = True
    name: str | None = None
    comment: str | None = None


class CardBook(_CardModel):
    entries: list[CardBookEntry] = Field(default_factory=list)


class CardData(_CardModel):
    name: str
    description: str | None = None
    personality: str | None = None
    scenario: str | None = None
    first_mes: str | None = None
    mes_example: str | None = None
    creator_notes: str | None = None
    alternate_greetings: list[str] | None = None
    tags: list[str] | None = None
    character_book: CardBook | None = None
    extensions: dict[str, Any] | None = None
    nickname: str | None = None


class CardFile(_CardModel):
    spec: Literal["chara_card_v2", "chara_card_v3"]
    spec_version: Any = None
    data: CardData


def _one_line(exc: ValidationError, value: Any, source: str, model: type[BaseModel], prefix: str = "") -> DataFileError:
    """The first validation problem as a one-line error (and how many more there are)."""
    problems = problems_from_validation(exc, value, source, model)
    first, more = problems[0], len(problems) - 1
    field = prefix.rstrip(".") if first.field == "<root>" and prefix else prefix + first.field
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return DataFileError.single(source, None, field, first.message + suffix)


def _normalized(card: Any, source: str) -> dict[str, Any]:
    """A deep copy of `card` in V2/V3 shape (a V1 card wrapped in `data`), its mapped fields type-checked."""
    if not isinstance(card, dict):
        problem = f"not a Character Card: the JSON is a {type(card).__name__}, not an object"
        raise DataFileError.single(source, None, "<root>", problem)
    if "spec" in card or isinstance(card.get("data"), dict):
        spec_version = SPECS["ccv3" if card.get("spec") == "chara_card_v3" else "ccv2"][1]
        card = {"spec": "chara_card_v2", "spec_version": spec_version, **card}  # early V2 cards lack spec_version
        try:
            CardFile.model_validate(card)
        except ValidationError as exc:
            raise _one_line(exc, card, source, CardFile) from None
        return copy.deepcopy(card)
    if "name" in card and V1_FIELDS & card.keys():
        try:
            CardData.model_validate(card)
        except ValidationError as exc:
            raise _one_line(exc, card, source, CardData) from None
        return {"spec": "chara_card_v2", "spec_version": "2.0", "data": copy.deepcopy(card)}
    problem = "not a Character Card: expected 'spec' and 'data' (V2/V3), or a V1 card's 'name' and 'first_mes'"
    raise DataFileError.single(source, None, "<root>", problem)


def _rapport_persona(card: dict[str, Any], source: str) -> PersonaSpec | None:
    """The persona Rapport stored in the card's extensions, if any."""
    extensions = card["data"].get("extensions")
    rapport = extensions.get("rapport") if isinstance(extensions, dict) else None
    if not isinstance(rapport, dict) or "persona" not in rapport:
        return None
    try:
        return PersonaSpec.model_validate(rapport["persona"])
    except ValidationError as exc:
        raise _one_line(exc, rapport["persona"], source, PersonaSpec, "data.extensions.rapport.persona.") from None


def _parse_json(text: str, source: str, where: str) -> Any:
    if not text.strip():
        raise DataFileError.single(source, None, where, "empty: no card in it")

    def reject(constant: str) -> None:
        raise ValueError(f"{constant} is not a JSON value")

    from ..data_files import MAX_DEPTH, check_json_depth

    check_json_depth(text, source, MAX_DEPTH)  # the same bound as every other file: a card nested deeper never loads
    try:
        return json.loads(text, parse_constant=reject)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg[0].lower()}{exc.msg[1:]} at line {exc.lineno}, column {exc.colno}"
        raise DataFileError.single(source, None, where, message) from None
    except ValueError as exc:
        raise DataFileError.single(source, None, where, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise DataFileError.single(source, None, where, "not valid JSON: nested too deeply") from None


def read_card(path: str | Path) -> dict[str, Any]:
    """The card JSON in a .json file or a PNG image (told apart by content), checked; errors are one line."""
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_CARD_BYTES:
            message = f"file is {size:,} bytes; a card may be at most {MAX_CARD_BYTES:,} bytes (20 MB)"
            raise DataFileError.single(source, None, "<file>", message)
        raw = path.read_bytes()
    except OSError as exc:
        raise DataFileError.single(source, None, "<file>", f"cannot read: {exc.strerror or exc}") from None
    if raw.startswith(PNG_SIGNATURE):
        keyword, text = card_json_from_png(raw, source)
        where = f"<{keyword} chunk>"
    else:
        try:
            text, where = raw.decode("utf-8-sig"), "<json>"
        except UnicodeDecodeError:
            raise DataFileError.single(source, None, "<file>", "neither a PNG image nor JSON text") from None
    card = _parse_json(text, source, where)
    _rapport_persona(_normalized(card, source), source)
    return card


# -- the patch: what a card has that Rapport would not write ------------------------------------------


def _pointer(parts: tuple[str, ...]) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _same(a: Any, b: Any) -> bool:
    return a is b if a is _ABSENT or b is _ABSENT else same(a, b)


def card_patch(card: Any, written: Any, parts: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """Where `card` differs from what Rapport `written`: objects compared key by key, anything else as a whole."""
    if isinstance(card, dict) and isinstance(written, dict):
        patch: dict[str, dict[str, Any]] = {}
        for key in [*card, *(k for k in written if k not in card)]:
            patch.update(card_patch(card.get(key, _ABSENT), written.get(key, _ABSENT), (*parts, key)))
        return patch
    if _same(card, written):
        return {}
    entry = {} if card is _ABSENT else {"card": copy.deepcopy(card)}
    if written is not _ABSENT:
        entry["rapport"] = copy.deepcopy(written)
    return {_pointer(parts): entry}


def apply_card_patch(card: dict[str, Any], patch: Any) -> dict[str, Any]:
    """A copy of `card` with each patch entry applied where Rapport still writes the value it wrote at import."""
    card = copy.deepcopy(card)
    for pointer, entry in (patch.items() if isinstance(patch, dict) else []):
        if not (isinstance(pointer, str) and pointer.startswith("/") and isinstance(entry, dict)):
            continue
        *parents, key = _parts(pointer)
        node: Any = card
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or not _same(node.get(key, _ABSENT), entry.get("rapport", _ABSENT)):
            continue  # changed in Rapport since the import (or no longer written): Rapport's value wins
        if "card" in entry:
            node[key] = copy.deepcopy(entry["card"])
        else:
            node.pop(key, None)
    return card


def _without_rapport(card: dict[str, Any]) -> dict[str, Any]:
    card = copy.deepcopy(card)
    extensions = card.get("data", {}).get("extensions") if isinstance(card.get("data"), dict) else None
    if isinstance(extensions, dict):
        extensions.pop("rapport", None)
    return card


def card_normal_form(card: dict[str, Any]) -> str:
    """Canonical JSON for comparing cards: ignores key order, `data.extensions.rapport`, and an `extensions`
    object that is empty (or null) once that is removed; everything else, value types included, counts."""
    card = _without_rapport(card)
    data = card.get("data")
    if isinstance(data, dict) and "extensions" in data and data["extensions"] in ({}, None):
        del data["extensions"]
    return json.dumps(card, sort_keys=True, ensure_ascii=False)


# -- public API -----------------------------------------------------------------------------------


def convert_card(card: dict[str, Any], version: CardVersion) -> dict[str, Any]:
    """The card labelled as `version`; V3 gains its required `group_only_greetings` and entries' `use_regex`."""
    spec, spec_version = SPECS[version]
    if card.get("spec") == spec:
        return card
    data = dict(card.get("data") or {})
    if version == "ccv3":
        data.setdefault("group_only_greetings", [])
        book = data.get("character_book")
        if isinstance(book, dict) and isinstance(book.get("entries"), list):
            entries = [{"use_regex": False, **e} if isinstance(e, dict) else e for e in book["entries"]]
            data["character_book"] = {**book, "entries": entries}
    return {**card, "spec": spec, "spec_version": spec_version, "data": data}


def persona_to_card(spec: PersonaSpec, version: CardVersion) -> dict[str, Any]:
    """The persona as a Character Card of `version`, with the whole persona in `data.extensions.rapport`."""
    stored = spec.card_extensions.get(CARD_VERSION)
    written_as: CardVersion = stored if stored in SPECS else version
    name, spec_version = SPECS[written_as]
    card = {"spec": name, "spec_version": spec_version, "data": card_data(spec, written_as)}
    card = convert_card(apply_card_patch(card, spec.card_extensions.get(CARD_PATCH)), version)
    data = card["data"]
    if not isinstance(data.get("extensions"), dict):
        data["extensions"] = {}
    data["extensions"]["rapport"] = {"persona": spec.model_dump(mode="json")}
    return card


def _validated(persona: dict[str, Any]) -> PersonaSpec:
    try:
        return PersonaSpec.model_validate(persona)
    except ValidationError as exc:
        raise _one_line(exc, persona, "card", PersonaSpec, "persona.") from None


def card_to_persona(card: dict[str, Any], *, taken_ids: set[str]) -> PersonaSpec:
    """The persona of a card: Rapport's own data when present, with the card's fields on top (they may have
    been edited in another tool); otherwise neutral defaults and an id not in `taken_ids`."""
    card = _normalized(card, "card")
    version: CardVersion = "ccv3" if card["spec"] == "chara_card_v3" else "ccv2"
    base = _rapport_persona(card, "card")
    if base is not None and card_normal_form(persona_to_card(base, version)) == card_normal_form(card):
        return base  # an unchanged Rapport export: exactly the persona that was exported
    persona = base.model_dump(mode="json") if base is not None else community_persona(card["data"], taken_ids)
    apply_card_fields(card["data"], persona, version)
    persona["card_extensions"] = {k: v for k, v in persona["card_extensions"].items() if k not in (CARD_PATCH, CARD_VERSION)}
    spec = _validated(persona)
    patch = card_patch(_without_rapport(card), _without_rapport(persona_to_card(spec, version)))
    if not patch:
        return spec
    persona["card_extensions"] = {**persona["card_extensions"], CARD_VERSION: version, CARD_PATCH: patch}
    return _validated(persona)


def persona_file_text(spec: PersonaSpec, source: str | Path) -> str:
    """The persona file a card becomes, refused in one line naming the card if Rapport could not load it back.

    A card may be four times the size of a persona file (pictures, lorebooks), so this is checked on the
    persona text itself, with the same bounded loader that reads persona files later.
    """
    from ..yaml_source import MAX_DATA_FILE_BYTES
    from .loader import persona_from_text
    from .writer import persona_to_yaml

    def too_big(size: int, least: str = "") -> DataFileError:
        message = f"it makes a persona file of {least}{size:,} bytes; a persona file may be at most {MAX_DATA_FILE_BYTES:,}"
        return DataFileError.single(source, None, "<card>", message)

    # Every string of the persona is in its file, so their total is a floor that costs nothing to check; writing
    # the YAML of a card far too big first would take minutes.
    floor = _text_bytes(spec.model_dump(mode="json", exclude_defaults=True))
    if floor > MAX_DATA_FILE_BYTES:
        raise too_big(floor, "at least ")
    text = persona_to_yaml(spec)
    size = len(text.encode("utf-8"))
    if size > MAX_DATA_FILE_BYTES:
        raise too_big(size)
    loaded, problems = persona_from_text(text, "<persona file>")
    if loaded is None:
        message = f"it makes a persona file that does not load ({problems[0].field}: {problems[0].message})"
        raise DataFileError.single(source, None, "<card>", message)
    if loaded != spec:
        raise DataFileError.single(source, None, "<card>", "it makes a persona file that loads back differently")
    return text


def _text_bytes(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, dict):
        return sum(_text_bytes(k) + _text_bytes(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_text_bytes(v) for v in value)
    return 0


def save_imported_persona(spec: PersonaSpec, folder: Path, source: str | Path, *, force: bool = False) -> Path:
    """Write the persona of a card, then load the written file back; a file that does not load is not left behind."""
    from .loader import load_persona
    from .writer import save_persona

    text = persona_file_text(spec, source)
    path = folder / f"{spec.id}.yaml"
    before = path.read_bytes() if force and path.is_file() else None
    path = save_persona(spec, folder, force=force, text=text)
    try:
        if load_persona(path) == spec:
            return path
        problem = "it loads back differently"
    except DataFileError as exc:
        problem = f"it does not load ({exc.problems[0].field}: {exc.problems[0].message})"
    if before is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(before)  # --force must not leave a broken file where a working one was
    raise DataFileError.single(source, None, "<card>", f"the persona file written to {path} was removed: {problem}")


def _base64_json(card: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode("utf-8")).decode("ascii")


def card_png_bytes(card: dict[str, Any], version: CardVersion) -> bytes:
    """A picture of the card's initials with the card embedded: `ccv3` (V3) plus a `chara` V2 chunk for older tools."""
    card = convert_card(card, version)
    texts = {"ccv3": _base64_json(card)} if version == "ccv3" else {}
    texts["chara"] = _base64_json(convert_card(card, "ccv2"))
    data = card.get("data") if isinstance(card.get("data"), dict) else {}
    name = data.get("name")
    return png_with_text(initials_picture(name if isinstance(name, str) else ""), texts)


def card_json_bytes(card: dict[str, Any]) -> bytes:
    return (json.dumps(card, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def export_card(spec: PersonaSpec, version: CardVersion, png: bool) -> bytes:
    """The persona as card file contents: a PNG image with the card embedded, or indented JSON."""
    card = persona_to_card(spec, version)
    return card_png_bytes(card, version) if png else card_json_bytes(card)
