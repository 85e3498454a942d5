"""The one error family of Rapport: messages a user can act on, never tracebacks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class RapportError(Exception):
    """Base of every error Rapport reports to a user; `str(error)` is the message to show."""


@dataclass(frozen=True)
class Problem:
    """One located problem in a data file: `path:line: field: message`."""

    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: {self.message}"


class DataFileError(RapportError):
    """A YAML/JSON data file (persona, rubric, suite) that does not load; holds every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @classmethod
    def single(cls, path: str | Path, line: int | None, field: str, message: str) -> "DataFileError":
        return cls([Problem(str(path), line, field, message)])


class PersonaNotFoundError(RapportError):
    """No persona with the requested id."""


class ConfigError(RapportError):
    """A model role or setting is misconfigured; the message names what to set."""


class ModelError(RapportError):
    """A model call failed; the message says why in one line and what to change."""

    def __init__(self, message: str, *, retryable: bool = True):
        self.retryable = retryable
        super().__init__(message)


class SessionError(RapportError):
    """An operation that the session's current state does not allow (e.g. sending after it ended)."""
