"""The one bounded loader for every YAML, JSON and TOML file Rapport reads.

Personas, rubrics, suites, cards, transcripts, session exports and config can come from anyone, so each
is checked for size, nesting depth and alias expansion *before* anything is built from it: a few hundred
bytes of nested anchors would otherwise expand to gigabytes, and deep nesting overflows the C stack of
the YAML loader (a crash, not an exception). Every violation is a `DataFileError`: one line naming the file.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from .errors import DataFileError

MAX_DATA_FILE_BYTES = 5 * 1024 * 1024  # personas, rubrics and suites are hand-written; bigger is a mistake
MAX_DEPTH = 64  # the deepest bundled file nests 8 levels
MAX_NODES = 200_000  # values after alias expansion; the biggest bundled file has about 9,000
MAX_ALIASES = 10_000


def read_text(path: Path, limit: int = MAX_DATA_FILE_BYTES) -> str:
    """Read a data file as UTF-8, refusing files over `limit` bytes or binary ones with a clear message."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise DataFileError.single(path, None, "<file>", "not a regular file")
        if size > limit:
            raise DataFileError.single(path, None, "<file>", f"file is {size:,} bytes; the limit is {limit:,}")
        with path.open("rb") as handle:
            raw = handle.read(size + 1)  # (not limit + 1: read() would allocate that much up front)
            if len(raw) > size:  # it grew after stat(); never read past the limit
                raw += handle.read(limit + 1 - len(raw))
    except OSError as exc:
        raise DataFileError.single(path, None, "<file>", f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise DataFileError.single(path, None, "<file>", f"file is over the limit of {limit:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError.single(path, None, "<file>", f"not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise DataFileError.single(path, None, "<file>", "binary data (a NUL byte), not text")
    return text.removeprefix("\ufeff")


# --- YAML -------------------------------------------------------------------------------------------------


def check_yaml(text: str, source: str | Path, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
    """Walk the YAML event stream (no objects built) and refuse deep nesting and alias expansion bombs.

    Each anchor's expanded size is known when its node ends, so an alias costs its full expanded size
    here, in constant time, instead of when a loader would copy it.
    """
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        _walk(_events(text, fast=True), source, max_depth, max_nodes)
        return
    except YAMLError:
        pass  # libyaml is stricter than ruamel's YAML 1.2 parser (e.g. `[Why?]`); ask the loader's own parser
    try:
        _walk(_events(text, fast=False), source, max_depth, max_nodes)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise DataFileError.single(source, mark.line + 1 if mark is not None else None, "<yaml>", _one_line(message)) from None
    except YAMLError as exc:
        raise DataFileError.single(source, None, "<yaml>", _one_line(str(exc))) from None


def _walk(events: Any, source: str | Path, max_depth: int, max_nodes: int) -> None:
    sizes: dict[str, int] = {}  # anchor -> values it expands to
    open_nodes: list[list[Any]] = []  # [values so far, anchor] of each mapping/sequence still open
    expanded = aliases = 0
    for event in events:
        kind = type(event).__name__
        if kind in ("MappingStartEvent", "SequenceStartEvent"):
            open_nodes.append([1, event.anchor])
            if len(open_nodes) > max_depth:
                _refuse(source, event, f"nested more than {max_depth} levels deep")
            size = 1
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            size, anchor = open_nodes.pop()
            if anchor is not None:
                sizes[anchor] = size
            if open_nodes:
                open_nodes[-1][0] += size
            continue
        elif kind == "ScalarEvent":
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif kind == "AliasEvent":
            aliases += 1
            if event.anchor not in sizes:
                _refuse(source, event, f"alias *{event.anchor} refers to no complete anchor (undefined, or it contains itself)")
            if aliases > MAX_ALIASES:
                _refuse(source, event, f"more than {MAX_ALIASES:,} aliases")
            size = sizes[event.anchor]
        else:
            continue
        expanded += size
        if expanded > max_nodes:
            _refuse(source, event, f"expands to more than {max_nodes:,} values (aliases repeat whole subtrees)")
        if open_nodes and kind != "MappingStartEvent" and kind != "SequenceStartEvent":
            open_nodes[-1][0] += size


def _events(text: str, fast: bool):
    """YAML parse events, from libyaml when `fast` and available, else ruamel's own; both parsers are
    state machines with an explicit stack, so no input can recurse them."""
    try:
        from _ruamel_yaml import CParser
    except ImportError:  # pragma: no cover - the C extension ships with ruamel.yaml wheels
        fast = False
    if not fast:
        from ruamel.yaml import YAML

        yield from YAML(typ="rt").parse(text)
        return
    parser = CParser(text)
    while (event := parser.get_event()) is not None:
        yield event


def _refuse(source: str | Path, event: Any, message: str) -> None:
    mark = getattr(event, "start_mark", None)
    line = mark.line + 1 if mark is not None and getattr(mark, "line", None) is not None else None
    raise DataFileError.single(source, line, "<yaml>", message)


def check_size(text: str, source: str | Path, limit: int = MAX_DATA_FILE_BYTES) -> None:
    """Text that did not come from a file (an editor, a card's embedded JSON) gets the same size limit."""
    if len(text) > limit:
        raise DataFileError.single(source, None, "<file>", f"text is {len(text):,} characters; the limit is {limit:,}")


def load_yaml(text: str, source: str | Path, *, round_trip: bool = True, checked: bool = False,
              limit: int = MAX_DATA_FILE_BYTES) -> Any:
    """Parse YAML after `check_yaml` (skipped if the caller already ran it on this text); round trip keeps
    line numbers (`.lc`) for located validation errors."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    if not checked:
        check_size(text, source, limit)
        check_yaml(text, source)
    if not round_trip:
        fast = fast_load(text)
        if fast is not None:
            return fast  # else libyaml refused it (stricter than YAML 1.2, e.g. `[Why?]`): the pure loader decides
    yaml = YAML(typ="rt") if round_trip else YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise DataFileError.single(source, line, "<yaml>", _one_line(message) or "invalid YAML") from None
    except YAMLError as exc:  # e.g. duplicate keys, reported without a mark by some versions
        raise DataFileError.single(source, None, "<yaml>", _one_line(str(exc))) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # bad timestamps, 5,000-digit ints, ...
        raise DataFileError.single(source, None, "<yaml>", f"a value cannot be read: {_one_line(str(exc))}") from None


def fast_load(text: str) -> Any:
    """Plain data via libyaml (about 20x faster than ruamel's own loaders), or None when libyaml refuses the text
    or it is empty. Only for text `check_yaml` has already bounded."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=False).load(text)
    except (YAMLError, ValueError, TypeError, OverflowError):
        return None


def read_yaml_file(path: Path, limit: int = MAX_DATA_FILE_BYTES, *, round_trip: bool = True) -> Any:
    return load_yaml(read_text(path, limit), path, round_trip=round_trip, limit=limit)


# --- JSON -------------------------------------------------------------------------------------------------

_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def check_json_depth(text: str, source: str | Path, max_depth: int = MAX_DEPTH) -> None:
    """Refuse JSON nested deeper than `max_depth` (the json module would raise RecursionError, later)."""
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                line = text.count("\n", 0, match.start()) + 1
                raise DataFileError.single(source, line, "<json>", f"nested more than {max_depth} levels deep")
        elif token in "]}":
            depth -= 1


def load_json(text: str, source: str | Path, *, max_depth: int = MAX_DEPTH, limit: int = MAX_DATA_FILE_BYTES) -> Any:
    """Parse JSON text; syntax errors, NaN/Infinity, huge numbers and deep nesting are one-line `DataFileError`s."""
    check_size(text, source, limit)
    check_json_depth(text, source, max_depth)

    def reject(constant: str) -> None:
        raise ValueError(f"{constant} is not a JSON value")

    try:
        return json.loads(text, parse_constant=reject)
    except json.JSONDecodeError as exc:
        raise DataFileError.single(source, exc.lineno, "<json>", f"{exc.msg[0].lower()}{exc.msg[1:]} (column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise DataFileError.single(source, None, "<json>", _one_line(str(exc)) or "invalid JSON") from None


def read_json_file(path: Path, limit: int = MAX_DATA_FILE_BYTES) -> Any:
    return load_json(read_text(path, limit), path, limit=limit)


# --- TOML -------------------------------------------------------------------------------------------------

MAX_CONFIG_BYTES = 1024 * 1024


def read_toml_file(path: Path, limit: int = MAX_CONFIG_BYTES) -> dict[str, Any]:
    """Config and user files; tomllib has no aliases, and its recursion is caught rather than pre-scanned."""
    text = read_text(path, limit)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError.single(path, None, "<toml>", f"invalid TOML: {_one_line(str(exc))}") from None
    except (RecursionError, ValueError) as exc:
        raise DataFileError.single(path, None, "<toml>", f"invalid TOML: {_one_line(str(exc)) or 'nested too deeply'}") from None


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
