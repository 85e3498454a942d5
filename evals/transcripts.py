"""Transcript files: `{"persona": str|null, "turns": [{"speaker": "learner"|"persona", "text": str}]}`."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from simulator.errors import DataFileError
from simulator.transcript import Transcript

MAX_TRANSCRIPT_BYTES = 20 * 1024 * 1024


def read_transcript(path: str | Path) -> Transcript:
    """Load and validate a transcript file; errors name the file and the field."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataFileError.single(path, None, "<file>", f"cannot read: {exc.strerror or exc}") from None
    if size > MAX_TRANSCRIPT_BYTES:
        raise DataFileError.single(path, None, "<file>", f"file is {size:,} bytes; the limit is {MAX_TRANSCRIPT_BYTES:,}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataFileError.single(path, None, "<file>", f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise DataFileError.single(path, exc.lineno, "<json>", exc.msg) from None
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
