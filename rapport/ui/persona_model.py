"""The persona chat model, built once per process and shared by every browser session."""

from __future__ import annotations

from simulator.config import ModelSpec
from simulator.errors import RapportError
from simulator.models import chat_model_for, provider_for


class PersonaModel:
    """The configured persona model, or the one-line reason it is unavailable."""

    def __init__(self, override: ModelSpec | str | None = None):
        self.spec: ModelSpec | None = None
        self.model = None
        self.error: str | None = None
        try:
            self.spec, self.model = chat_model_for("persona", override)
        except RapportError as exc:
            self.error = str(exc)

    def warm_up(self) -> None:
        """Start loading the model (the embedded one loads in the background) so the first reply does not wait."""
        if self.spec is not None and self.model is not None:
            provider_for(self.spec).warm_up(self.model)
