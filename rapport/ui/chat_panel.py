"""A chat panel bound to a `Session` in `gr.State`: streamed replies, retry, undo, restart, end.

Used by the practice tab and by the persona studio's "try it" chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import gradio as gr

from simulator.errors import RapportError
from simulator.session import Delta, ReplyDone, Reset, Session
from simulator.trajectory import trajectory_markdown

from .chat_view import as_text, chat_messages, status_line


@dataclass
class ChatPanel:
    chatbot: gr.Chatbot
    message: gr.Textbox
    status: gr.Markdown
    review: gr.Markdown
    retry: gr.Button
    undo: gr.Button
    restart: gr.Button
    end: gr.Button


async def _stream_reply(session: Session, events: AsyncIterator) -> AsyncIterator[tuple]:
    """Yield (messages, status) as the reply streams; on failure keep the learner's message and offer Retry."""
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
        yield chat_messages(session), f"**Error:** {as_text(str(exc))}  \nYour message is kept: press **Retry** to try again."
        return
    yield chat_messages(session), status_line(session)


def review_markdown(session: Session | None) -> str:
    """After the session: which turns moved the relationship, and why (empty while it is going on)."""
    if session is None or session.ending is None or session.dynamics is None:
        return ""
    return "### How the relationship moved\n" + trajectory_markdown(session.trajectory_points(), session.persona)


def chat_panel(session_state: gr.State, prefix: str, height: int = 460) -> ChatPanel:
    """Build the panel's components and wire them to the session in `session_state`."""
    chatbot = gr.Chatbot(label="Conversation", height=height, elem_id=f"{prefix}chat", buttons=["copy"])
    with gr.Row():
        message = gr.Textbox(
            placeholder="Type your message and press Enter", show_label=False, scale=5, elem_id=f"{prefix}message"
        )
        send = gr.Button("Send", variant="primary", scale=1, elem_id=f"{prefix}send")
    status = gr.Markdown(elem_id=f"{prefix}status")
    with gr.Row():
        retry = gr.Button("Retry", elem_id=f"{prefix}retry", size="sm")
        undo = gr.Button("Undo last exchange", elem_id=f"{prefix}undo", size="sm")
        restart = gr.Button("Restart", elem_id=f"{prefix}restart", size="sm")
        end = gr.Button("End session", variant="stop", elem_id=f"{prefix}end", size="sm")
    review = gr.Markdown(elem_id=f"{prefix}review")
    panel = ChatPanel(chatbot, message, status, review, retry, undo, restart, end)

    async def on_send(text: str, session: Session | None):
        if session is None:
            yield gr.update(), [], "Choose a persona first.", ""
            return
        problem = _cannot_send(session, text)
        if problem:
            yield gr.update(), chat_messages(session), problem, review_markdown(session)
            return
        async for history, line in _stream_reply(session, session.send(text)):
            yield "", history, line, review_markdown(session)

    async def on_retry(session: Session | None):
        if session is None or not session.awaiting_reply:
            yield chat_messages(session), status_line(session) or "Nothing to retry.", review_markdown(session)
            return
        async for history, line in _stream_reply(session, session.retry()):
            yield history, line, review_markdown(session)

    def command(action):
        def run(session: Session | None):
            if session is not None:
                action(session)
            return chat_messages(session), status_line(session), review_markdown(session)

        return run

    inputs, outputs = [message, session_state], [message, chatbot, status, review]
    shown = [chatbot, status, review]
    message.submit(on_send, inputs, outputs)
    send.click(on_send, inputs, outputs)
    retry.click(on_retry, [session_state], shown)
    undo.click(command(Session.undo), [session_state], shown)
    restart.click(command(Session.restart), [session_state], shown)
    chatbot.clear(command(Session.restart), [session_state], shown)
    end.click(command(Session.end), [session_state], shown)
    return panel


def _cannot_send(session: Session, text: str) -> str | None:
    if not text.strip():
        return "Type a message first."
    if session.ended:
        return "This conversation has ended: restart or choose another persona."
    if session.awaiting_reply:
        return "Your last message has no reply yet: press Retry, or Undo to take it back."
    return None
