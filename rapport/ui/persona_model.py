"""The persona chat model, built once per process and shared by every browser session."""

from __future__ import annotations

import threading
from pathlib import Path

from simulator.config import ModelSpec
from simulator.errors import RapportError
from simulator.models import chat_model_for


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
        """Load the embedded model in the background so the first reply does not wait for it."""
        if self.spec is None or self.spec.provider != "embedded":
            return
        from simulator.models.embedded import load_llama

        def load() -> None:
            try:
                load_llama(Path(self.model.model_path))
            except RapportError:
                pass  # the same error is shown when the learner sends a message

        threading.Thread(target=load, daemon=True).start()
