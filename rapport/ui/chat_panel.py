"""A chat panel bound to a `Session` in `gr.State`: streamed replies, the rapport meter and coach hints,
retry after a failure (shown in the chat, nothing lost), undo, restart, and the scorecard when it ends.

Used by the practice tab and by the persona studio's "try it" chat.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import gradio as gr

from simulator.errors import RapportError
from simulator.session import Delta, ReplyDone, Reset, Session

from .chat_view import as_text, chat_messages, status_line
from .session_view import hints_markdown, meter_html


@dataclass
class ChatPanel:
    chatbot: gr.Chatbot
    message: gr.Textbox
    status: gr.Markdown
    meter: gr.HTML
    hints: gr.Markdown
    scorecard: gr.HTML
    downloads: gr.File
    retry: gr.Button
    undo: gr.Button
    restart: gr.Button
    end: gr.Button

    @property
    def views(self) -> list:
        """The components every handler refreshes, in order (see `views_for`)."""
        return [self.chatbot, self.status, self.meter, self.hints, self.retry, self.scorecard, self.downloads]


def error_bubble(message: str) -> dict:
    """A failed model call, shown in the chat (it is not part of the transcript)."""
    return {"role": "assistant", "content": f"{as_text(message)}\n\nYour message is kept: press **Retry**.",
            "metadata": {"title": "⚠️ The reply failed"}}


def views_for(session: Session | None, exam: bool, *, status: str | None = None, history: list | None = None,
              scorecard: str | None = None, downloads: list | None = None) -> tuple:
    """Values for `ChatPanel.views`; `None` for scorecard/downloads leaves them as they are.

    Plain values where possible: any `gr.update(...)` (even `gr.skip()`, which is an empty update) makes gradio
    rebuild the component and its config, tens of ms each. Exam mode hides the meter and hints by toggling them
    once (`exam_views`); downloads are shown or hidden only when a session starts or ends.
    """
    hidden = exam or session is None
    return (
        history if history is not None else chat_messages(session),
        status if status is not None else status_line(session),
        "" if hidden else meter_html(session),
        "" if hidden else hints_markdown(session),
        "Retry",
        "" if scorecard is None else scorecard,
        None if downloads is None else gr.update(value=downloads or None, visible=bool(downloads)),
    )


def exam_views(session: Session | None, exam: bool) -> tuple:
    """Switching exam mode: hide or show the meter and the hints themselves."""
    hidden = exam or session is None
    return (gr.update(value="" if hidden else meter_html(session), visible=not exam),
            gr.update(value="" if hidden else hints_markdown(session), visible=not exam))


STREAM_INTERVAL = 0.04


def streaming_views(session: Session, exam: bool, history: list, status: str) -> tuple:
    """While a reply streams: the chat and the status, with the meter already showing the learner's last turn."""
    hidden = exam or session is None
    return (history, status, "" if hidden else meter_html(session), "" if hidden else hints_markdown(session),
            "Retry", "", None)


Finish = Callable[[Session, gr.Request | None], "AsyncIterator | object"]


def chat_panel(session_state: gr.State, exam_state: gr.State, prefix: str, finish=None, height: int = 460) -> ChatPanel:
    """Build the panel and wire it to the session in `session_state`. `finish(session, request)` grades an ended
    session and returns (scorecard HTML, download paths); without it nothing is graded."""
    # The floating label would cover the first message; the panel is obviously the conversation.
    chatbot = gr.Chatbot(label="Conversation", show_label=False, height=height, elem_id=f"{prefix}chat", buttons=["copy"])
    with gr.Row():
        with gr.Column(scale=4):
            with gr.Row():
                message = gr.Textbox(placeholder="Type your message and press Enter", show_label=False, scale=5,
                                     elem_id=f"{prefix}message")
                send = gr.Button("Send", variant="primary", scale=1, elem_id=f"{prefix}send")
            status = gr.Markdown(elem_id=f"{prefix}status")
            hints = gr.Markdown(elem_id=f"{prefix}hints")
        with gr.Column(scale=2, min_width=220):
            meter = gr.HTML(elem_id=f"{prefix}meter")
    with gr.Row():
        retry = gr.Button("Retry", elem_id=f"{prefix}retry", size="sm")
        undo = gr.Button("Undo last exchange", elem_id=f"{prefix}undo", size="sm")
        restart = gr.Button("Restart", elem_id=f"{prefix}restart", size="sm")
        end = gr.Button("End session", variant="stop", elem_id=f"{prefix}end", size="sm")
    scorecard = gr.HTML(elem_id=f"{prefix}scorecard")
    downloads = gr.File(label="Download transcript and scorecard", file_count="multiple", visible=False,
                        elem_id=f"{prefix}downloads", interactive=False)
    panel = ChatPanel(chatbot, message, status, meter, hints, scorecard, downloads, retry, undo, restart, end)

    async def stream(session: Session, events: AsyncIterator, exam: bool, request: gr.Request | None):
        history = chat_messages(session) + [{"role": "assistant", "content": "…"}]
        replying = f"*{as_text(session.persona.short_name)} is replying…*"
        yield views_for(session, exam, status=replying, history=history)
        reply, shown_at = "", 0.0
        try:
            async for event in events:
                if isinstance(event, Delta):
                    reply += event.text
                elif isinstance(event, Reset):
                    reply = ""
                elif isinstance(event, ReplyDone):
                    reply = event.turn.text
                # At most ~25 screen updates a second: each one re-sends the chat, and a fast model streams faster.
                now = time.monotonic()
                if isinstance(event, ReplyDone) or now - shown_at >= STREAM_INTERVAL:
                    shown_at = now
                    history[-1]["content"] = as_text(reply) or "…"
                    yield streaming_views(session, exam, history, replying)
        except RapportError as exc:
            yield views_for(session, exam, status="The reply failed; your message is kept.",
                            history=chat_messages(session) + [error_bubble(str(exc))])
            return
        yield views_for(session, exam)
        if session.ended and finish is not None:
            yield views_for(session, exam, status="*Grading your conversation…*")
            html, files = await finish(session, request)
            yield views_for(session, exam, scorecard=html, downloads=files)

    async def on_send(text: str, session: Session | None, exam: bool, request: gr.Request):
        if session is None:
            yield ("", *views_for(None, exam, status="Choose a persona first."))
            return
        problem = _cannot_send(session, text)
        if problem:
            yield (gr.skip(), *views_for(session, exam, status=problem))
            return
        async for views in stream(session, session.send(text), exam, request):
            yield ("", *views)

    async def on_retry(session: Session | None, exam: bool, request: gr.Request):
        if session is None or not session.awaiting_reply:
            yield views_for(session, exam)
            return
        async for views in stream(session, session.retry(), exam, request):
            yield views

    async def on_end(session: Session | None, exam: bool, request: gr.Request):
        if session is None:
            yield views_for(None, exam)
            return
        session.end()
        if finish is None:
            yield views_for(session, exam)
            return
        yield views_for(session, exam, status="*Grading your conversation…*")
        html, files = await finish(session, request)
        yield views_for(session, exam, scorecard=html, downloads=files)

    def command(action):
        def run(session: Session | None, exam: bool):
            if session is not None:
                action(session)
            return views_for(session, exam, scorecard="", downloads=[])

        return run

    views = panel.views
    api = prefix.replace("-", "_")  # stable API names (`/send`, `/end`, ...) for the gradio client and load tests
    message.submit(on_send, [message, session_state, exam_state], [message, *views], api_name=f"{api}send")
    send.click(on_send, [message, session_state, exam_state], [message, *views], api_visibility="private")
    retry.click(on_retry, [session_state, exam_state], views, api_name=f"{api}retry")
    undo.click(command(Session.undo), [session_state, exam_state], views, api_name=f"{api}undo")
    restart.click(command(Session.restart), [session_state, exam_state], views, api_name=f"{api}restart")
    chatbot.clear(command(Session.restart), [session_state, exam_state], views, api_visibility="private")
    end.click(on_end, [session_state, exam_state], views, api_name=f"{api}end")
    exam_state.change(exam_views, [session_state, exam_state], [meter, hints], api_visibility="private")
    return panel


def _cannot_send(session: Session, text: str) -> str | None:
    if not text.strip():
        return "Type a message first."
    if session.ended:
        return "This conversation has ended: restart or choose another persona."
    if session.awaiting_reply:
        return "Your last message has no reply yet: press Retry, or Undo to take it back."
    return None
