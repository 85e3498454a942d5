"""Transcript files: `{"persona": str|null, "turns": [{"speaker": "learner"|"persona", "text": str}]}`."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from simulator.data_files import load_json, read_text
from simulator.errors import DataFileError
from simulator.transcript import Transcript

MAX_TRANSCRIPT_BYTES = 20 * 1024 * 1024


def read_transcript(path: str | Path) -> Transcript:
    """Load and validate a transcript file; errors name the file and the field."""
    path = Path(path)
    text = read_text(path, MAX_TRANSCRIPT_BYTES)
    data = load_json(text, path, limit=MAX_TRANSCRIPT_BYTES)
    if not isinstance(data, dict):
        raise DataFileError.single(path, 1, "<root>", "expected an object with 'persona' and 'turns'")
    try:
        transcript = Transcript.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in error["loc"]) or "<root>"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise DataFileError.single(path, None, field, error["msg"][0].lower() + error["msg"][1:] + more) from None
    if "turns" not in data:
        raise DataFileError.single(path, None, "turns", "required field is missing")
    return transcript
