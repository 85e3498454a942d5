"""Grading sessions in the browser app: one grader per process (the coder and judge model load once)."""

from __future__ import annotations

import threading

from evals.grading import Graded, Grader
from simulator.session import Session

_grader: Grader | None = None
_lock = threading.Lock()


def grader() -> Grader:
    global _grader
    with _lock:
        if _grader is None:
            _grader = Grader()
        return _grader


async def grade_session(session: Session) -> Graded:
    """Grade once per ended session; the result is kept on the session."""
    graded = getattr(session, "graded", None)
    if graded is None:
        graded = await grader().grade(session.transcript(), session.persona)
        session.graded = graded
    return graded
