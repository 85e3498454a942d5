"""Rapport's engine: personas, the role-play loop and the model seam. It never imports `evals` or the shells."""

from .errors import ConfigError, DataFileError, ModelError, PersonaNotFoundError, RapportError, SessionError
from .persona import Difficulty, PersonaLibrary, PersonaSpec, load_persona
from .session import Delta, EndReason, ReplyDone, Reset, Session
from .transcript import Speaker, Transcript, Turn

__all__ = [
    "ConfigError",
    "DataFileError",
    "Delta",
    "Difficulty",
    "EndReason",
    "ModelError",
    "PersonaLibrary",
    "PersonaNotFoundError",
    "PersonaSpec",
    "RapportError",
    "ReplyDone",
    "Reset",
    "Session",
    "SessionError",
    "Speaker",
    "Transcript",
    "Turn",
    "load_persona",
]
