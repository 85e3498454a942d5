"""User-written regular expressions (rubric phrases, suite reply patterns): checked once, when the file loads."""

from __future__ import annotations

import re
from collections.abc import Iterable


def require_valid_regexes(patterns: Iterable[str]) -> None:
    """Raise ValueError naming the first of `patterns` that does not compile (for pydantic field validators)."""
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
