"""Persistence: sessions committed turn by turn to SQLite (default) or PostgreSQL, with numbered migrations."""

from .database import database_url, engine_for
from .sessions import DEFAULT_LEARNER, SessionExport, SessionNotFoundError, SessionRecorder, SessionStore, SessionSummary

__all__ = [
    "DEFAULT_LEARNER",
    "SessionExport",
    "SessionNotFoundError",
    "SessionRecorder",
    "SessionStore",
    "SessionSummary",
    "database_url",
    "engine_for",
]
