"""The gradio browser app. Analytics are off before gradio is imported: conversations stay on this machine."""

from __future__ import annotations

from simulator.settings import quiet_library

quiet_library("GRADIO_ANALYTICS_ENABLED", keep_user_choice=True)

from .app import PersonaModel, build_app, launch, serve  # noqa: E402

__all__ = ["PersonaModel", "build_app", "launch", "serve"]
