"""Load YAML keeping line numbers, so validation errors can point at `path:line`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .data_files import MAX_DATA_FILE_BYTES, check_yaml, fast_load, load_yaml, read_text
from .errors import DataFileError, Problem

M = TypeVar("M", bound=BaseModel)

__all__ = ["MAX_DATA_FILE_BYTES", "read_text", "load_yaml", "line_of", "problems_from_validation",
           "validate_yaml_file", "plain_data"]


def line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest node of `loc` present in `data` (the parent's line for a missing key)."""
    node, line = data, _start_line(data)
    for part in loc:
        lc = getattr(node, "lc", None)
        if lc is None:
            break
        try:
            if isinstance(part, str) and hasattr(node, "keys") and part in node:
                line = lc.key(part)[0] + 1
                node = node[part]
            elif isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
                line = lc.item(part)[0] + 1
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
    return line


def _start_line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else None


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "<root>"


def _message(error: dict[str, Any], model: type[BaseModel] | None) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field" + _allowed_fields(model, error["loc"][:-1])
    if kind == "missing":
        return "required field is missing"
    message = error["msg"]
    return message[0].lower() + message[1:] if message else kind


def _allowed_fields(model: type[BaseModel] | None, parent_loc: tuple[int | str, ...]) -> str:
    """`; expected one of: ...` for the model at `parent_loc`, when it can be found."""
    if model is None:
        return ""
    current: Any = model
    for part in parent_loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return ""
        current = _inner_model(fields[part].annotation)
        if current is None:
            return ""
    fields = getattr(current, "model_fields", None)
    return f"; expected one of: {', '.join(fields)}" if fields else ""


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def problems_from_validation(
    exc: ValidationError, data: Any, path: str | Path, model: type[BaseModel] | None = None
) -> list[Problem]:
    """Turn a pydantic `ValidationError` into one located `Problem` per error."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        problems.append(Problem(str(path), line_of(data, loc), _field_path(loc), _message(error, model)))
    return sorted(problems, key=lambda p: p.line or 0)


def validate_yaml_file(path: Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Load `path` as YAML and validate it as `model`; raise `DataFileError` listing every problem.

    Valid files take the fast path; the slower round-trip loader runs only to locate problems by line.
    """
    text = read_text(path)
    check_yaml(text, path)
    fast = fast_load(text)
    if isinstance(fast, dict):
        try:
            return model.model_validate(fast, context=context)
        except ValidationError:
            pass  # reload with line numbers below, to report every problem where it is
    data = load_yaml(text, path, checked=True)
    if data is None:
        raise DataFileError.single(path, 1, "<root>", "file is empty")
    if not hasattr(data, "keys"):
        raise DataFileError.single(path, _start_line(data) or 1, "<root>", "expected a mapping of fields at the top level")
    try:
        return model.model_validate(plain_data(data), context=context)
    except ValidationError as exc:
        raise DataFileError(problems_from_validation(exc, data, path, model)) from None


def plain_data(node: Any) -> Any:
    """ruamel's commented containers as plain dicts/lists, so pydantic sees ordinary data."""
    if hasattr(node, "keys"):
        return {str(k) if not isinstance(k, (str, int, float, bool)) else k: plain_data(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain_data(v) for v in node]
    if type(node).__module__.startswith("ruamel"):
        for base in (bool, int, float, str):
            if isinstance(node, base):
                return base(node)
    return node
