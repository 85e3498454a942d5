"""Persona files: the format, loading with located errors, and where personas live."""

from .library import PersonaLibrary, PersonaSource
from .loader import load_persona, persona_json_schema
from .spec import Difficulty, Domain, PersonaSpec

__all__ = [
    "Difficulty",
    "Domain",
    "PersonaLibrary",
    "PersonaSource",
    "PersonaSpec",
    "load_persona",
    "persona_json_schema",
]
