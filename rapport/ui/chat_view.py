"""Session transcript ⇄ gradio chat messages, with every text shown as text (never as HTML or Markdown).

Persona files, model replies and learner messages are data. Two ways to show them as such:

- `as_text` for chat bubbles: the chatbot renders no Markdown and no LaTeX (see `chat_panel`), so the text is
  HTML-escaped and only the stage directions between asterisks are set in italics and line breaks kept, by us.
- `md_text` for text placed inside a `gr.Markdown`: every Markdown and HTML special character is escaped, so
  `![x](http://host/x.png)`, `<img src=...>`, `<http://host>` or `[x][ref]` are shown, never fetched or linked.
"""

from __future__ import annotations

import re
import string
from html import escape

from simulator.session import Session
from simulator.transcript import Speaker

_STAGE_DIRECTION = re.compile(r"\*([^*\n]+)\*")
_HTML_SPECIALS = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
# CommonMark lets a backslash escape any ASCII punctuation; HTML's specials become entities instead, which
# Markdown shows as the character itself (a backslash before `<` would leave the `<` to a lax renderer).
_MARKDOWN_ESCAPES = str.maketrans(
    {c: _HTML_SPECIALS.get(c, "\\" + c) for c in string.punctuation} | {"\r": ""}
)


def as_text(text: str) -> str:
    """A chat bubble's HTML for `text`: escaped, `*stage directions*` in italics, line breaks kept."""
    parts = []
    last = 0
    for match in _STAGE_DIRECTION.finditer(text):
        parts.append(escape(text[last:match.start()], quote=False))
        parts.append(f"<em>{escape(match.group(1), quote=False)}</em>")
        last = match.end()
    parts.append(escape(text[last:], quote=False))
    return "".join(parts).replace("\r\n", "\n").replace("\n", "<br>")


def md_text(text: str) -> str:
    """`text` for a gr.Markdown, shown exactly as written: no link, image, HTML, heading or list can come of it."""
    return str(text).translate(_MARKDOWN_ESCAPES)


def md_code(text: str) -> str:
    """`text` as an inline code span (a file path, a model label); code spans show their content literally."""
    text = " ".join(str(text).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}" if text else ""


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
        again = "Choose another persona." if session.assessed else "Restart or choose another persona."
        return f"**Conversation over:** {md_text(session.ending.detail)}. {again}"
    if session.awaiting_reply:
        if session.assessed:
            return "Your last message has no reply yet: press **Retry**."
        return "Your last message has no reply yet: press **Retry**, or **Undo** to take it back."
    return f"Your messages: {session.learner_turn_count} of at most {session.max_turns}."


def refusal(message: object):
    """A `gr.Error` whose text is shown exactly as written. Gradio renders an error's message as HTML, and
    titles, names and file contents reach these messages: an assignment title with an image tag would otherwise
    make every learner's browser fetch it."""
    import gradio as gr

    return gr.Error(escape(str(message), quote=False))
