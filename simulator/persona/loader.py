"""Read persona files with errors of the form `path:line: field.path: message`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import DataFileError, Problem
from ..yaml_source import MAX_DATA_FILE_BYTES, load_yaml, plain_data, problems_from_validation, validate_yaml_file
from .spec import PersonaSpec

SCHEMA_FILE_NAME = "persona.schema.json"


def load_persona(path: str | Path) -> PersonaSpec:
    """Load and validate one persona YAML file; raises `DataFileError` listing every problem."""
    return validate_yaml_file(Path(path), PersonaSpec)


def persona_from_text(text: str, label: str = "<editor>") -> tuple[PersonaSpec | None, list[Problem]]:
    """Validate persona YAML held in memory (an editor, a model's draft): the spec, or every located problem."""
    spec, problems, _ = parse_persona_text(text, label)
    return spec, problems


def parse_persona_text(text: str, label: str = "<editor>", limit: int = MAX_DATA_FILE_BYTES
                       ) -> tuple[PersonaSpec | None, list[Problem], Any]:
    """(spec or None, located problems, the parsed YAML with line numbers for lint) from one parse of `text`."""
    try:
        data = load_yaml(text, label, limit=limit)
    except DataFileError as exc:
        return None, exc.problems, None
    if not hasattr(data, "keys"):
        return None, [Problem(label, 1, "<root>", "expected a mapping of persona fields")], data
    try:
        return PersonaSpec.model_validate(plain_data(data)), [], data
    except ValidationError as exc:
        return None, problems_from_validation(exc, data, label, PersonaSpec), data


def persona_json_schema() -> dict[str, Any]:
    """The JSON Schema of persona files, for editors (`# yaml-language-server: $schema=...`)."""
    schema = PersonaSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Rapport persona"
    return schema


def persona_json_schema_text() -> str:
    return json.dumps(persona_json_schema(), indent=2, ensure_ascii=False) + "\n"
