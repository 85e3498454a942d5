"""Who is practising when nobody logged in: the machine's learner."""

from __future__ import annotations

from simulator.settings import settings
from simulator.store import DEFAULT_LEARNER


def default_learner() -> str:
    """The learner's name for history and memory (RAPPORT_LEARNER, default 'local')."""
    return settings().learner or DEFAULT_LEARNER
