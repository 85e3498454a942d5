"""Read persona files with errors of the form `path:line: field.path: message`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..yaml_source import validate_yaml_file
from .spec import PersonaSpec

SCHEMA_FILE_NAME = "persona.schema.json"


def load_persona(path: str | Path) -> PersonaSpec:
    """Load and validate one persona YAML file; raises `DataFileError` listing every problem."""
    return validate_yaml_file(Path(path), PersonaSpec)


def persona_json_schema() -> dict[str, Any]:
    """The JSON Schema of persona files, for editors (`# yaml-language-server: $schema=...`)."""
    schema = PersonaSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Rapport persona"
    return schema


def persona_json_schema_text() -> str:
    return json.dumps(persona_json_schema(), indent=2, ensure_ascii=False) + "\n"
