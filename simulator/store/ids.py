"""Checks on the ids the store is asked about, before any of them reaches SQL."""

from __future__ import annotations

import re

from ..errors import RapportError

# A session id is a uuid4 hex (dashes allowed for other uuids). No SQL wildcard (`%`, `_`) can pass, and the
# length is the column's, so a hostile id fails here in one line instead of matching others or the driver.
SESSION_ID_PATTERN = r"^[A-Za-z0-9-]{1,32}$"
_SESSION_ID = re.compile(SESSION_ID_PATTERN)
LEARNER_ID_MAX = 200  # the width of `learner_id` in every table


class InvalidIdError(RapportError):
    """An id the store refuses to look up (wrong characters or length)."""


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def check_session_id(value: str) -> str:
    """`value` if it can be a session id or a prefix of one; else a one-line InvalidIdError."""
    if not isinstance(value, str) or not _SESSION_ID.fullmatch(value):
        shown = _shown(value) if isinstance(value, str) else type(value).__name__
        raise InvalidIdError(f"{shown} is not a session id (1-32 letters, digits or '-'); see `rapport sessions list`")
    return value


def check_learner_id(value: str) -> str:
    """`value` if it can be a learner id (the owner every stored row is scoped by)."""
    if not isinstance(value, str) or not value.strip() or len(value) > LEARNER_ID_MAX or not value.isprintable():
        shown = _shown(value) if isinstance(value, str) else type(value).__name__
        raise InvalidIdError(f"{shown} is not a learner id (1-{LEARNER_ID_MAX} printable characters)")
    return value
