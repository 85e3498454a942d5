"""The browser app: pick a persona from cards, then role-play with streamed replies."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from functools import partial

import gradio as gr

from simulator.config import ModelSpec
from simulator.errors import RapportError, SessionError
from simulator.models import chat_model_for
from simulator.persona import Difficulty, PersonaLibrary
from simulator.session import Delta, ReplyDone, Reset, Session

from .cards import brief_markdown, model_banner, persona_card_html
from .chat_view import as_text, chat_messages, status_line

CSS = """
.rapport-card { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 14px; height: 100%; }
.rapport-card h3 { margin: 4px 0; }
.rapport-card-domain { font-size: 0.8em; text-transform: uppercase; letter-spacing: 0.05em; opacity: 0.7; }
.rapport-card-role { font-style: italic; margin-bottom: 6px; }
.rapport-card-levels { font-size: 0.85em; opacity: 0.8; }
.rapport-card p { margin: 4px 0; font-size: 0.92em; }
"""


class PersonaModel:
    """The persona chat model, built once per process and shared by every browser session."""

    def __init__(self, override: ModelSpec | str | None = None):
        self._lock = threading.Lock()
        self.spec: ModelSpec | None = None
        self.model = None
        self.error: str | None = None
        try:
            self.spec, self.model = chat_model_for("persona", override)
        except RapportError as exc:
            self.error = str(exc)

    def warm_up(self) -> None:
        """Load the embedded model in the background so the first reply does not wait for it."""
        if self.spec is not None and self.spec.provider == "embedded":
            from simulator.models.embedded import load_llama

            threading.Thread(target=lambda: _quietly(load_llama, self.model.model_path), daemon=True).start()


def _quietly(fn, *args) -> None:
    try:
        from pathlib import Path

        fn(Path(*args))
    except RapportError:
        pass  # the same error is shown when the learner sends a message


def _theme() -> gr.themes.Base:
    # System fonts only: the default theme would fetch fonts from Google, and nothing should leave the machine.
    return gr.themes.Soft(
        font=["system-ui", "-apple-system", "Segoe UI", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "monospace"],
    )


def build_app(library: PersonaLibrary | None = None, persona_model: PersonaModel | None = None) -> gr.Blocks:
    """The gradio Blocks app; each browser session gets its own `Session` in `gr.State`."""
    library = library or PersonaLibrary()
    persona_model = persona_model or PersonaModel()
    personas = list(library)

    with gr.Blocks(title="Rapport", analytics_enabled=False) as demo:
        session_state = gr.State(None)
        gr.Markdown("# Rapport\nPractise building rapport with people who react to *how* you talk.")
        gr.Markdown(model_banner(persona_model.spec, persona_model.error), elem_id="model-banner")

        with gr.Column(visible=True, elem_id="picker") as picker:
            difficulty = gr.Radio(
                [d.value for d in Difficulty], value=Difficulty.MEDIUM.value, label="Difficulty", elem_id="difficulty"
            )
            start_buttons: list[tuple[str, gr.Button]] = []
            for row_start in range(0, len(personas), 3):
                with gr.Row(equal_height=True):
                    for source in personas[row_start : row_start + 3]:
                        with gr.Column(min_width=280):
                            gr.HTML(persona_card_html(source.spec))
                            button = gr.Button(
                                f"Practise with {source.spec.name}",
                                variant="primary",
                                elem_id=f"start-{source.spec.id}",
                            )
                            start_buttons.append((source.spec.id, button))
            if library.problems:
                gr.Markdown("**Some persona files did not load:**\n" + "\n".join(f"- `{p}`" for p in library.problems))

        with gr.Column(visible=False, elem_id="conversation") as conversation:
            brief = gr.Markdown(elem_id="brief")
            chatbot = gr.Chatbot(label="Conversation", height=480, elem_id="chat", buttons=["copy"])
            with gr.Row():
                message = gr.Textbox(
                    placeholder="Type your message and press Enter", show_label=False, scale=5, elem_id="message"
                )
                send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
            status = gr.Markdown(elem_id="status")
            with gr.Row():
                retry = gr.Button("Retry", elem_id="retry")
                undo = gr.Button("Undo last exchange", elem_id="undo")
                restart = gr.Button("Restart", elem_id="restart")
                end = gr.Button("End session", variant="stop", elem_id="end")
                back = gr.Button("Choose another persona", elem_id="back")

        def start(persona_id: str, level: str):
            if persona_model.model is None:
                raise gr.Error(persona_model.error or "no persona model is configured")
            session = Session(
                library.get(persona_id), persona_model.model, difficulty=level, model_spec=persona_model.spec
            )
            return (
                session,
                gr.update(visible=False),
                gr.update(visible=True),
                brief_markdown(session.persona, level),
                chat_messages(session),
                status_line(session),
            )

        for persona_id, button in start_buttons:
            button.click(
                partial(start, persona_id),
                inputs=[difficulty],
                outputs=[session_state, picker, conversation, brief, chatbot, status],
            )

        async def stream_reply(session: Session, events: AsyncIterator) -> AsyncIterator[tuple]:
            history = chat_messages(session) + [{"role": "assistant", "content": "…"}]
            replying = f"*{as_text(session.persona.short_name)} is replying…*"
            yield history, replying
            reply = ""
            try:
                async for event in events:
                    if isinstance(event, Delta):
                        reply += event.text
                    elif isinstance(event, Reset):
                        reply = ""
                    elif isinstance(event, ReplyDone):
                        reply = event.turn.text
                    history[-1]["content"] = as_text(reply) or "…"
                    yield history, replying
            except RapportError as exc:
                history = chat_messages(session)
                yield history, f"**Error:** {as_text(str(exc))}  \nYour message is kept: press **Retry** to try again."
                return
            yield chat_messages(session), status_line(session)

        async def on_send(text: str, session: Session | None):
            if session is None:
                yield gr.update(), [], "Choose a persona first."
                return
            if not text.strip():
                yield gr.update(), chat_messages(session), "Type a message first."
                return
            if session.ended or session.awaiting_reply:
                yield gr.update(), chat_messages(session), as_text(
                    "This conversation has ended: restart or choose another persona."
                    if session.ended
                    else "Your last message has no reply yet: press Retry, or Undo to take it back."
                )
                return
            async for history, line in stream_reply(session, session.send(text)):
                yield "", history, line

        async def on_retry(session: Session | None):
            if session is None or not session.awaiting_reply:
                yield chat_messages(session), status_line(session) or "Nothing to retry."
                return
            async for update in stream_reply(session, session.retry()):
                yield update

        def on_undo(session: Session | None):
            if session is not None:
                session.undo()
            return chat_messages(session), status_line(session)

        def on_restart(session: Session | None):
            if session is not None:
                session.restart()
            return chat_messages(session), status_line(session)

        def on_end(session: Session | None):
            if session is not None:
                session.end()
            return chat_messages(session), status_line(session)

        def on_back():
            return None, gr.update(visible=True), gr.update(visible=False), [], ""

        send_inputs, send_outputs = [message, session_state], [message, chatbot, status]
        message.submit(on_send, send_inputs, send_outputs)
        send.click(on_send, send_inputs, send_outputs)
        retry.click(on_retry, [session_state], [chatbot, status])
        undo.click(on_undo, [session_state], [chatbot, status])
        restart.click(on_restart, [session_state], [chatbot, status])
        end.click(on_end, [session_state], [chatbot, status])
        back.click(on_back, None, [session_state, picker, conversation, chatbot, status])

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
