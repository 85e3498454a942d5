"""Persistence: sessions committed turn by turn to SQLite (default) or PostgreSQL, with numbered migrations."""

from .database import database_url, engine_for
from .exports import SessionExport
from .ids import InvalidIdError
from .sessions import DEFAULT_LEARNER, SessionNotFoundError, SessionRecorder, SessionStore, SessionSummary
from .teams import Assignment, AssignmentSpec, Cohort, CohortResults, PassBar, TeamError, TeamStore, Viewer

__all__ = [
    "Assignment",
    "AssignmentSpec",
    "Cohort",
    "CohortResults",
    "PassBar",
    "TeamError",
    "TeamStore",
    "Viewer",
    "DEFAULT_LEARNER",
    "InvalidIdError",
    "SessionExport",
    "SessionNotFoundError",
    "SessionRecorder",
    "SessionStore",
    "SessionSummary",
    "database_url",
    "engine_for",
]
