"""Where Rapport keeps things on disk."""

from __future__ import annotations

import os
from pathlib import Path

from .settings import settings


def rapport_home() -> Path:
    """The user's Rapport directory (`RAPPORT_HOME`, default `~/.rapport`)."""
    return settings().home.expanduser()


def bundled_personas_dir() -> Path:
    """The personas shipped with Rapport."""
    import personas

    return Path(personas.__file__).parent


def user_personas_dir() -> Path:
    """The user's personas (`RAPPORT_USER_PERSONAS`, default `~/.rapport/personas`); with a login, the shared
    personas that trainers and admins edit."""
    override = settings().user_personas
    return override.expanduser() if override else rapport_home() / "personas"


def learner_personas_dir(learner: str) -> Path:
    """A logged-in learner's own personas, seen only by them (`<RAPPORT_HOME>/personas/learners/<learner>`)."""
    if learner in {"", ".", ".."} or any(sep in learner for sep in ("/", "\\", "\0")):
        raise ValueError(f"{learner!r} cannot name a folder")  # login names are checked; this is a last guard
    return rapport_home() / "personas" / "learners" / learner


def extra_persona_paths() -> list[Path]:
    """Further persona files or folders listed in `RAPPORT_PERSONAS` (separated by the OS path separator)."""
    raw = settings().personas
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def model_cache_dir() -> Path:
    """Where model files assembled from packages are kept (`RAPPORT_MODEL_CACHE`, default `~/.cache/rapport/models`)."""
    override = settings().model_cache
    return override.expanduser() if override else Path.home() / ".cache" / "rapport" / "models"
