"""Write personas as tidy YAML (schema header, folded long text) without ever overwriting silently."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..errors import RapportError
from .loader import SCHEMA_FILE_NAME, persona_json_schema_text
from .spec import PersonaSpec

SCHEMA_HEADER = f"# yaml-language-server: $schema={SCHEMA_FILE_NAME}\n"
FOLD_AT = 60  # longer strings become folded blocks, so no plain scalar wraps mid-value
WIDTH = 90


class PersonaExistsError(RapportError):
    """Refusing to overwrite an existing persona file."""


def _styled(value: Any) -> Any:
    """Long single-line strings as folded scalars (`>-`), multi-line ones as literal blocks (`|-`)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

    if isinstance(value, dict):
        return CommentedMap((k, _styled(v)) for k, v in value.items())
    if isinstance(value, list):
        seq = CommentedSeq(_styled(v) for v in value)
        if value and all(isinstance(v, str) and len(v) < 30 for v in value) and sum(map(len, value)) < 70:
            seq.fa.set_flow_style()  # short word lists read best inline: [a, b, c]
        return seq
    if isinstance(value, str) and value == value.strip() and "  " not in value:
        if "\n" in value:
            return LiteralScalarString(value)
        if len(value) > FOLD_AT:
            return FoldedScalarString(value)
    return value


def persona_to_yaml(spec: PersonaSpec) -> str:
    """The persona as YAML text that loads back to an equal `PersonaSpec`."""
    from ruamel.yaml import YAML

    data = spec.model_dump(mode="json", exclude_defaults=True)
    data = {"schema_version": spec.schema_version, **data}
    yaml = YAML()
    yaml.width = WIDTH
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    yaml.dump(_styled(data), buffer)
    text = SCHEMA_HEADER + buffer.getvalue()
    return text


def save_persona(spec: PersonaSpec, directory: Path, *, force: bool = False, text: str | None = None) -> Path:
    """Write `<id>.yaml` (and the schema it points to) into `directory`; refuse to overwrite without `force`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{spec.id}.yaml"
    if path.exists() and not force:
        raise PersonaExistsError(f"{path} already exists; use --force to overwrite it")
    path.write_text(text if text is not None else persona_to_yaml(spec), encoding="utf-8")
    schema = directory / SCHEMA_FILE_NAME
    schema_text = persona_json_schema_text()
    if not schema.exists() or schema.read_text(encoding="utf-8") != schema_text:
        schema.write_text(schema_text, encoding="utf-8")
    return path
