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
    scorecard: gr.Markdown
    offline_scorecard: gr.Markdown
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


async def _scorecards(session: Session) -> tuple[str, dict]:
    """(the main scorecard, the offline one beside it when a judge graded) as Markdown updates."""
    from .grading import grade_session
    from .scorecard_view import scorecard_markdown

    try:
        graded = await grade_session(session)
    except RapportError as exc:
        return f"**Could not grade this session:** {as_text(str(exc))}", gr.update(visible=False)
    if graded.scorecard is graded.offline:
        return scorecard_markdown(graded.offline, "Scorecard (offline coder)"), gr.update(visible=False)
    return (scorecard_markdown(graded.scorecard, "Scorecard (judge model)"),
            gr.update(value=scorecard_markdown(graded.offline, "Offline coder, for comparison"), visible=True))


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
    with gr.Row():
        scorecard = gr.Markdown(elem_id=f"{prefix}scorecard")
        offline_scorecard = gr.Markdown(elem_id=f"{prefix}scorecard-offline", visible=False)
    review = gr.Markdown(elem_id=f"{prefix}review")
    panel = ChatPanel(chatbot, message, status, review, scorecard, offline_scorecard, retry, undo, restart, end)

    async def on_send(text: str, session: Session | None):
        if session is None:
            yield gr.update(), [], "Choose a persona first.", "", gr.update(), gr.update()
            return
        problem = _cannot_send(session, text)
        if problem:
            yield gr.update(), chat_messages(session), problem, review_markdown(session), gr.update(), gr.update()
            return
        async for history, line in _stream_reply(session, session.send(text)):
            yield "", history, line, review_markdown(session), gr.update(), gr.update()
        if session.ended:
            yield ("", chat_messages(session), status_line(session), review_markdown(session),
                   *(await _scorecards(session)))

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
                session.graded = None
            return chat_messages(session), status_line(session), review_markdown(session), "", gr.update(visible=False)

        return run

    async def on_end(session: Session | None):
        if session is None:
            yield [], "", "", "", gr.update(visible=False)
            return
        session.end()
        yield chat_messages(session), "*Grading your conversation…*", review_markdown(session), "", gr.update()
        yield (chat_messages(session), status_line(session), review_markdown(session), *(await _scorecards(session)))

    inputs, outputs = [message, session_state], [message, chatbot, status, review, scorecard, offline_scorecard]
    shown = [chatbot, status, review]
    cleared = [chatbot, status, review, scorecard, offline_scorecard]
    message.submit(on_send, inputs, outputs)
    send.click(on_send, inputs, outputs)
    retry.click(on_retry, [session_state], shown)
    undo.click(command(Session.undo), [session_state], cleared)
    restart.click(command(Session.restart), [session_state], cleared)
    chatbot.clear(command(Session.restart), [session_state], cleared)
    end.click(on_end, [session_state], cleared)
    return panel


def _cannot_send(session: Session, text: str) -> str | None:
    if not text.strip():
        return "Type a message first."
    if session.ended:
        return "This conversation has ended: restart or choose another persona."
    if session.awaiting_reply:
        return "Your last message has no reply yet: press Retry, or Undo to take it back."
    return None
