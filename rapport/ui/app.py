"""The browser app: practice, history and progress, the persona studio, eval reports and settings."""

from __future__ import annotations

import gradio as gr

from simulator.persona import PersonaLibrary

from .auth import authenticator
from .cards import model_banner
from .context import AppContext, LibraryHolder
from .downloads import CACHE_CLEANUP, private_gradio_cache
from .history import history_tab
from .login_throttle import ClientAddress
from .persona_model import PersonaModel
from .practice import practice_tab
from .reports import reports_tab
from .settings import settings_tab
from .studio import studio_tab
from .tabs import AppStates, TabSpec, build_tab
from .trainer import TRAINER_JS, trainer_tab
from .voice_panel import VOICE_JS

CSS = """
.rapport-card { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 14px; height: 100%; }
.rapport-card h3 { margin: 4px 0; }
.rapport-card-domain { font-size: 0.8em; text-transform: uppercase; letter-spacing: 0.05em; opacity: 0.7; }
.rapport-card-role { font-style: italic; margin-bottom: 6px; }
.rapport-card-levels { font-size: 0.85em; opacity: 0.8; }
.rapport-card p, .rapport-card details { margin: 4px 0; font-size: 0.92em; }
.rapport-meter { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px; }
.meter-row { display: flex; align-items: center; gap: 8px; margin: 6px 0; }
.meter-label { width: 86px; font-size: 0.9em; }
.meter-track { flex: 1; height: 10px; border-radius: 5px; background: var(--border-color-primary); overflow: hidden; }
.meter-fill { display: block; height: 100%; transition: width 0.6s ease; }
.meter-value { width: 28px; text-align: right; font-variant-numeric: tabular-nums; }
.meter-mood { margin-top: 6px; font-size: 0.9em; }
.scorecard h3 { margin-top: 1.2em; }
.sc-grid { display: grid; grid-template-columns: minmax(260px, 1fr) 2fr; gap: 16px; align-items: start; }
.sc-pair { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; align-items: start; }
@media (max-width: 800px) { .sc-grid, .sc-pair { grid-template-columns: 1fr; } }
.criterion { border-bottom: 1px solid var(--border-color-primary); padding: 6px 0; }
.criterion-head { display: flex; justify-content: space-between; }
.criterion .score { font-weight: 700; font-variant-numeric: tabular-nums; }
.criterion p { margin: 2px 0; font-size: 0.92em; }
.sc-overall { font-size: 1.2em; margin: 6px 0; }
.sc-transcript { padding-left: 0; list-style: none; }
.sc-transcript .turn { padding: 6px 8px; border-radius: 8px; margin: 4px 0; scroll-margin-top: 80px; }
.sc-transcript .turn:target { outline: 2px solid #E69F00; }
.sc-transcript .learner { background: rgba(0, 114, 178, 0.08); }
.sc-transcript .turn-n { opacity: 0.5; margin-right: 6px; font-size: 0.85em; }
.sc-transcript .turn-trust { opacity: 0.7; font-size: 0.85em; }
.rapport-hidden { display: none !important; }
.voice-note { margin: 4px 0; }
.voice-problem { color: #B3261E; }
.rapport-assignments ul { list-style: none; padding-left: 0; }
.rapport-assignments li { margin: 6px 0; }
.rapport-assignments .badge { color: #fff; border-radius: 8px; padding: 1px 8px; font-size: 0.8em; margin-left: 6px; }
.cohort-heatmap .cell:focus { outline: 2px solid #E69F00; }
.sc-review { border-left: 4px solid #E69F00; padding-left: 10px; }
"""


APP_JS = f"() => {{ ({VOICE_JS})(); ({TRAINER_JS})(); }}"


def _theme() -> gr.themes.Base:
    # System fonts only: the default theme would fetch fonts from Google, and nothing should leave the machine.
    return gr.themes.Soft(
        font=["system-ui", "-apple-system", "Segoe UI", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "monospace"],
    )


# The tabs, in order. Adding one: a builder module returning `TabParts` and one line here.
TABS = (
    TabSpec("practice", "Practice",
            lambda ctx, s: practice_tab(ctx, s.library_version, s.model_choice, s.judge_choice)),
    TabSpec("history", "History & progress", lambda ctx, s: history_tab(ctx)),
    TabSpec("studio", "Persona studio", lambda ctx, s: studio_tab(ctx, s.library_version, s.model_choice)),
    TabSpec("trainer", "Trainer", lambda ctx, s: trainer_tab(ctx), shown_to=lambda role: role.trains),
    TabSpec("reports", "Reports", lambda ctx, s: reports_tab()),
    TabSpec("settings", "Settings", lambda ctx, s: settings_tab(ctx, s.model_choice, s.judge_choice)),
)


def build_app(library: PersonaLibrary | None = None, persona_model: PersonaModel | None = None,
              context: AppContext | None = None) -> gr.Blocks:
    """The gradio app. Per-browser state lives in `gr.State`, so sessions and tabs never see each other."""
    private_gradio_cache()  # before any component is built: each one notes where its files go
    ctx = context or AppContext(LibraryHolder(library or PersonaLibrary()), persona_model or PersonaModel())
    with gr.Blocks(title="Rapport", analytics_enabled=False, delete_cache=CACHE_CLEANUP) as demo:
        states = AppStates(library_version=gr.State(0), model_choice=gr.State(None), judge_choice=gr.State(None))
        gr.Markdown("# Rapport\nPractise building rapport with people who react to *how* you talk.")
        gr.Markdown(model_banner(ctx.persona_model.spec, ctx.persona_model.error), elem_id="model-banner")
        with gr.Tabs(selected="practice") as tabs:
            parts = {spec.id: build_tab(spec, ctx, states) for spec in TABS}
        # The one link between tabs: the history's Resume opens the session in Practice.
        history, practice = parts["history"].shared, parts["practice"].shared
        history["resume"].click(
            practice["resume"], [history["picker"], states.model_choice, states.judge_choice, practice["exam_state"]],
            practice["outputs"]).then(lambda: gr.Tabs(selected="practice"), None, tabs)
        restricted = [(spec, parts[spec.id].tab) for spec in TABS if spec.shown_to is not None]

        def show_tabs(request: gr.Request):  # who may see which tab is known only once someone has logged in
            role = ctx.role(request)
            shown = [gr.update(visible=spec.shown_to(role)) for spec, _ in restricted]
            return shown if len(shown) != 1 else shown[0]  # gradio takes one output's value bare

        demo.load(show_tabs, None, [tab for _, tab in restricted])
    demo.context = ctx  # for tests and the launcher
    demo.persona_model = ctx.persona_model
    return demo


def serve(demo: gr.Blocks, host: str | None = None, port: int | None = None, **kwargs):
    """Serve `demo`; host and port default to GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, then 127.0.0.1:7860."""
    from starlette.middleware import Middleware

    app_kwargs = kwargs.pop("app_kwargs", None) or {}
    # The login limit counts failures per client address; gradio's `auth` callable is not told it.
    app_kwargs["middleware"] = [*app_kwargs.get("middleware", []), Middleware(ClientAddress)]
    kwargs.setdefault("max_file_size", "20mb")  # uploads are cards (20 MB at most); nothing bigger reaches the disk
    return demo.queue(default_concurrency_limit=32).launch(
        server_name=host, server_port=port, theme=_theme(), css=CSS, js=APP_JS, share=False, show_error=True,
        auth=authenticator(), auth_message="Log in to keep your own history.", app_kwargs=app_kwargs, **kwargs
    )


def launch(host: str | None = None, port: int | None = None) -> None:
    """Build the app with the configured persona model and serve it until interrupted."""
    demo = build_app()
    demo.persona_model.warm_up()
    serve(demo, host, port)
