"""Session transcript ⇄ gradio chat messages, with every text shown as text (never as HTML)."""

from __future__ import annotations

from html import escape

from simulator.session import Session
from simulator.transcript import Speaker


def as_text(text: str) -> str:
    """Escape HTML so a learner's `<script>` (or a model's) is displayed, not run or rendered."""
    return escape(text, quote=False)


def chat_messages(session: Session | None) -> list[dict]:
    """The transcript as gradio messages: the persona is the assistant, the learner the user."""
    if session is None:
        return []
    return [
        {"role": "assistant" if turn.speaker is Speaker.PERSONA else "user", "content": as_text(turn.text)}
        for turn in session.turns
    ]


def status_line(session: Session | None) -> str:
    if session is None:
        return ""
    if session.ending is not None:
        return f"**Conversation over:** {escape(session.ending.detail)}. Restart or choose another persona."
    if session.awaiting_reply:
        return "Your last message has no reply yet: press **Retry**, or **Undo** to take it back."
    return f"Your messages: {session.learner_turn_count} of at most {session.max_turns}."
