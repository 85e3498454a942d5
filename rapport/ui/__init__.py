"""The gradio browser app. Analytics are off before gradio is imported: conversations stay on this machine."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from .app import PersonaModel, build_app, launch, serve  # noqa: E402

__all__ = ["PersonaModel", "build_app", "launch", "serve"]
