"""The browser app: tabs for practice and the persona studio, served by gradio on 127.0.0.1."""

from __future__ import annotations

import gradio as gr

from simulator.persona import PersonaLibrary

from .cards import model_banner
from .persona_model import PersonaModel
from .practice import LibraryHolder, practice_tab
from .studio import studio_tab

CSS = """
.rapport-card { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 14px; height: 100%; }
.rapport-card h3 { margin: 4px 0; }
.rapport-card-domain { font-size: 0.8em; text-transform: uppercase; letter-spacing: 0.05em; opacity: 0.7; }
.rapport-card-role { font-style: italic; margin-bottom: 6px; }
.rapport-card-levels { font-size: 0.85em; opacity: 0.8; }
.rapport-card p, .rapport-card details { margin: 4px 0; font-size: 0.92em; }
"""


def _theme() -> gr.themes.Base:
    # System fonts only: the default theme would fetch fonts from Google, and nothing should leave the machine.
    return gr.themes.Soft(
        font=["system-ui", "-apple-system", "Segoe UI", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "monospace"],
    )


def build_app(library: PersonaLibrary | None = None, persona_model: PersonaModel | None = None) -> gr.Blocks:
    """The gradio app. Per-browser state lives in `gr.State`, so sessions never see each other."""
    holder = LibraryHolder(library or PersonaLibrary())
    persona_model = persona_model or PersonaModel()
    with gr.Blocks(title="Rapport", analytics_enabled=False) as demo:
        library_version = gr.State(0)  # bumped when the studio saves, so the gallery re-renders
        gr.Markdown("# Rapport\nPractise building rapport with people who react to *how* you talk.")
        gr.Markdown(model_banner(persona_model.spec, persona_model.error), elem_id="model-banner")
        with gr.Tabs():
            with gr.Tab("Practice", id="practice", elem_id="tab-practice"):
                practice_tab(holder, persona_model, library_version)
            with gr.Tab("Persona studio", id="studio", elem_id="tab-studio"):
                studio_tab(holder, persona_model, library_version)
    demo.persona_model = persona_model  # for tests and the launcher
    return demo


def serve(demo: gr.Blocks, host: str | None = None, port: int | None = None, **kwargs):
    """Serve `demo`; host and port default to GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, then 127.0.0.1:7860."""
    return demo.queue(default_concurrency_limit=16).launch(
        server_name=host, server_port=port, theme=_theme(), css=CSS, share=False, show_error=True, **kwargs
    )


def launch(host: str | None = None, port: int | None = None) -> None:
    """Build the app with the configured persona model and serve it until interrupted."""
    demo = build_app()
    demo.persona_model.warm_up()
    serve(demo, host, port)
