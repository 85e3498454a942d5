"""A chat panel bound to a `Session` in `gr.State`: streamed replies, the rapport meter and coach hints,
retry after a failure (shown in the chat, nothing lost), undo, restart, and the scorecard when it ends.

Used by the practice tab and by the persona studio's "try it" chat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

import gradio as gr

from simulator.errors import RapportError
from simulator.session import Delta, ReplyDone, Reset, Session
from simulator.voice.delivery import Delivery

from .chat_view import as_text, chat_messages, md_text, status_line
from .session_view import hints_markdown, meter_html

log = logging.getLogger(__name__)


class SpokenText(str):
    """A learner message that was spoken: its text, with how it was said and (if the learner keeps recordings)
    the recording. A `str`, so the outbox, the queue and the box treat it like anything typed."""

    delivery: Delivery | None = None
    recording: bytes | None = None

    @classmethod
    def of(cls, text: str, delivery: Delivery | None, recording: bytes | None = None) -> SpokenText:
        spoken = cls(text)
        spoken.delivery, spoken.recording = delivery, recording
        return spoken


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
    # For the voice controls (voice_panel.py): the steps after a message is taken, and the events that take one.
    controls: object = None
    drain: Callable | None = None
    restore: Callable | None = None
    accepted: list = field(default_factory=list)

    @property
    def views(self) -> list:
        """The components every handler refreshes, in order (see `views_for`)."""
        return [self.chatbot, self.status, self.meter, self.hints, self.retry, self.scorecard, self.downloads]


def error_bubble(message: str) -> dict:
    """A failed model call, shown in the chat (it is not part of the transcript)."""
    return {"role": "assistant", "content": f"{as_text(message)}<br><br>Your message is kept: press <b>Retry</b>.",
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


WAIT = "Wait for the reply to finish first."


def wait_status(box: Outbox) -> str:
    return box.busy or WAIT


@dataclass
class Outbox:
    """The learner's messages on their way to one session. A message sent while a reply streams waits here and
    is answered next; one that cannot be sent after all (the session ended, a reply failed) goes back to the box."""

    queued: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    replying: bool = False  # a handler is answering this session now
    busy: str | None = None  # an undo, restart or end is being committed now: what to tell a learner who sends
    shown: list[dict] | None = None  # while a reply streams: the chat with the reply so far
    failure: str | None = None  # why the last reply failed
    # What the voice (voice_panel.py) follows: the reply streaming now, as plain text; a count of replies, so it
    # knows a new one from the last; a count of restarts within the reply; the stored text of recent replies.
    reply_text: str = ""
    reply_serial: int = 0
    reply_resets: int = 0
    finals: dict[int, str] = field(default_factory=dict)
    speaking: bool = False  # a voice is following this conversation's replies
    speak_from: int = 1  # the first reply a new voice speaks: the answer to the message taken last
    hushed: int = 0  # replies up to this one were interrupted by the learner: not spoken further


_OUTBOXES: WeakKeyDictionary[Session, Outbox] = WeakKeyDictionary()


def outbox(session: Session) -> Outbox:
    """The session's outbox (a session lives in one browser's `gr.State`, so this is per browser too)."""
    return _OUTBOXES.setdefault(session, Outbox())


def queued_bubble(text: str) -> dict:
    return {"role": "user", "content": as_text(text)}


def live_history(session: Session, box: Outbox) -> list[dict]:
    """The chat as the learner should see it now: the transcript (or the reply streaming), then queued messages."""
    shown = box.shown if box.shown is not None else chat_messages(session)
    return shown + [queued_bubble(text) for text in box.queued]


def replying_status(session: Session, box: Outbox) -> str:
    waiting = len(box.queued)
    note = f" Your next message{'s are' if waiting > 1 else ' is'} answered after this reply." if waiting else ""
    return f"*{md_text(session.persona.short_name)} is replying…*{note}"


Finish = Callable[[Session, gr.Request | None], "AsyncIterator | object"]


def chat_panel(session_state: gr.State, exam_state: gr.State, prefix: str, finish=None, height: int = 460,
               keep_recording: Callable[[Session, int, bytes], None] | None = None,
               controls: Callable[[], object] | None = None) -> ChatPanel:
    """Build the panel and wire it to the session in `session_state`. `finish(session, request)` grades an ended
    session and returns (scorecard HTML, download paths); without it nothing is graded. `keep_recording(session,
    index, wav)` stores a spoken turn's recording (called only for a learner who chose to keep them); `controls()`
    lays out more controls under the buttons (the voice controls), kept as `panel.controls`."""
    # The floating label would cover the first message; the panel is obviously the conversation.
    # No Markdown and no LaTeX: persona files, model replies and learner messages are data, and Markdown would
    # turn `![x](http://host/x.png)` into a request to that host. `as_text` escapes the text and sets the stage
    # directions in italics itself.
    chatbot = gr.Chatbot(label="Conversation", show_label=False, height=height, elem_id=f"{prefix}chat", buttons=["copy"],
                         render_markdown=False, latex_delimiters=[], sanitize_html=True, allow_tags=False)
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
    extra = controls() if controls is not None else None
    scorecard = gr.HTML(elem_id=f"{prefix}scorecard")
    downloads = gr.File(label="Download transcript and scorecard", file_count="multiple", visible=False,
                        elem_id=f"{prefix}downloads", interactive=False)
    panel = ChatPanel(chatbot, message, status, meter, hints, scorecard, downloads, retry, undo, restart, end,
                      controls=extra)

    async def answer(session: Session, events: AsyncIterator, exam: bool, box: Outbox, sending: str | None = None):
        """Stream one reply into the chat; on failure `box.failure` says why (the learner's message is kept)."""
        shown = chat_messages(session)
        if sending is not None:  # committed by the first step of `events`: shown from the start, not after
            shown.append({"role": "user", "content": as_text(sending)})
        bubble = {"role": "assistant", "content": "…"}
        box.shown, box.failure = shown + [bubble], None
        box.reply_text, box.reply_serial, box.reply_resets = "", box.reply_serial + 1, 0
        committed = len(session.turns)
        yield views_for(session, exam, status=replying_status(session, box), history=live_history(session, box))
        reply, shown_at = "", 0.0
        try:
            async for event in events:
                if isinstance(event, Delta):
                    reply += event.text
                elif isinstance(event, Reset):
                    reply = ""
                    box.reply_resets += 1
                elif isinstance(event, ReplyDone):
                    reply = event.turn.text
                    box.finals[box.reply_serial] = reply
                    box.finals.pop(box.reply_serial - 8, None)
                box.reply_text = reply
                # At most ~25 screen updates a second: each one re-sends the chat, and a fast model streams faster.
                now = time.monotonic()
                if isinstance(event, ReplyDone) or now - shown_at >= STREAM_INTERVAL:
                    shown_at = now
                    bubble["content"] = as_text(reply) or "…"
                    yield streaming_views(session, exam, live_history(session, box), replying_status(session, box))
        except RapportError as exc:
            box.failure = str(exc)
            if sending is not None and len(session.turns) == committed:  # refused before it was added: not lost
                box.queued.insert(0, sending)
        finally:
            box.shown = None

    async def settle(session: Session, exam: bool, box: Outbox, request: gr.Request | None):
        """After the replies: the chat as it stands (a failure shown in it), messages that could not be sent are
        handed back to the box, and an ended session is graded."""
        leftover = bool(box.queued)
        if leftover:  # the session ended or a reply failed before they could be answered
            box.returned += box.queued
            box.queued.clear()
        failed = box.failure is not None and session.awaiting_reply  # else it was refused: back in the box
        history = chat_messages(session) + ([error_bubble(box.failure)] if failed else [])
        status = "The reply failed; your message is kept." if failed else status_line(session)
        if leftover:
            status += " The message(s) you sent after it were not sent: they are back in the box."
        box.failure = None
        yield views_for(session, exam, status=status, history=history + [queued_bubble(t) for t in box.queued])
        if session.ended and finish is not None:
            yield views_for(session, exam, status="*Grading your conversation…*", history=history)
            html, files = await finish(session, request)
            yield views_for(session, exam, status=status, history=history, scorecard=html, downloads=files)

    async def on_accept(text: str, session: Session | None, exam: bool):
        """Enter or Send: the message is shown at once and queued; the box is cleared only when it was taken.

        Async on purpose: it runs on the event loop, so the queue is never touched by two threads."""
        if session is None:
            return (gr.skip(), *views_for(None, exam, status="Choose a persona first."))
        box = outbox(session)
        problem = box.busy or refusal(session, text, box.replying)
        if problem:
            return (gr.skip(), *views_for(session, exam, status=problem, history=live_history(session, box)))
        box.queued.append(text.strip())
        box.speak_from = box.reply_serial + len(box.queued)  # its reply, should a voice start for it
        return ("", *views_for(session, exam, status=replying_status(session, box), history=live_history(session, box)))

    async def on_drain(session: Session | None, exam: bool, request: gr.Request):
        """Answer the queued messages in order. Only one drain per session runs: a message sent while a reply
        streams is picked up by the drain already running (this one then changes nothing)."""
        box = outbox(session) if session is not None else None
        if box is None or box.replying or box.busy or not box.queued:
            yield tuple(gr.skip() for _ in views)
            return
        box.replying = True
        try:
            while box.queued and not session.ended and not session.awaiting_reply and box.failure is None:
                text = box.queued.pop(0)
                delivery = getattr(text, "delivery", None)
                before = len(session.turns)
                async for update in answer(session, session.send(text, delivery=delivery), exam, box, sending=text):
                    yield update
                await keep(session, text, before)
        finally:
            box.replying = False
        async for update in settle(session, exam, box, request):
            yield update

    async def keep(session: Session, text: str, index: int) -> None:
        """After its reply, a spoken turn's recording (if the learner keeps them), when the turn was committed."""
        recording = getattr(text, "recording", None)
        if recording is None or keep_recording is None or len(session.turns) <= index:
            return
        text.recording = None
        try:
            await asyncio.to_thread(keep_recording, session, index, recording)
        except RapportError as exc:  # the turn itself is stored, and says its recording was not kept
            log.warning("recording of turn %s not kept: %s", index, exc)
            return
        turn = session.turns[index] if index < len(session.turns) else None
        if turn is not None and turn.delivery is not None:  # as the store now says
            turn.delivery = turn.delivery.model_copy(update={"audio_kept": True})

    async def on_restore(text: str, session: Session | None):
        """Messages that could not be sent go back into the box, before whatever was typed since."""
        box = outbox(session) if session is not None else None
        if box is None or not box.returned:
            return gr.skip()
        back = "\n".join([*box.returned, *([text] if text and text.strip() else [])])
        box.returned.clear()
        return back

    async def on_send(text: str, session: Session | None, exam: bool, request: gr.Request):
        """The whole of a send in one call, for programs (the gradio client's `/send`, load tests)."""
        first = await on_accept(text, session, exam)
        yield first
        if first[0] != "":
            return
        message_value = ""
        async for update in on_drain(session, exam, request):
            yield (message_value, *update)
        restored = await on_restore("", session)
        if isinstance(restored, str):
            yield (restored, *update)

    async def on_retry(session: Session | None, exam: bool, request: gr.Request):
        box = outbox(session) if session is not None else None
        if box is None or box.replying or box.busy or not session.awaiting_reply:
            yield views_for(session, exam, history=live_history(session, box) if box else None)
            return
        box.replying = True
        box.speak_from = box.reply_serial + 1
        try:
            async for update in answer(session, session.retry(), exam, box):
                yield update
        finally:
            box.replying = False
        async for update in settle(session, exam, box, request):
            yield update

    async def committed(session: Session, box: Outbox, waiting: str, action: Callable[[Session], Awaitable]) -> None:
        """Undo, restart or end: the session changes here, on the loop; its store commit runs off it (it writes to
        disk, and other learners' replies keep streaming meanwhile). Until the commit is done, messages are
        refused with the text left in the box; a cancelled handler does not cut the commit short."""
        box.busy = waiting
        work = asyncio.ensure_future(action(session))
        work.add_done_callback(lambda _: setattr(box, "busy", None))
        await asyncio.shield(work)

    async def on_end(session: Session | None, exam: bool, request: gr.Request):
        if session is None:
            yield views_for(None, exam)
            return
        box = outbox(session)
        if box.replying or box.busy or box.queued:
            yield views_for(session, exam, status=wait_status(box), history=live_history(session, box))
            return
        await committed(session, box, "Wait until the session has ended.", Session.aend)
        if finish is None:
            yield views_for(session, exam)
            return
        yield views_for(session, exam, status="*Grading your conversation…*")
        html, files = await finish(session, request)
        yield views_for(session, exam, scorecard=html, downloads=files)

    def command(waiting: str, action: Callable[[Session], Awaitable]):
        async def run(session: Session | None, exam: bool):  # async: checks the outbox on the event loop
            box = outbox(session) if session is not None else None
            if box is not None and (box.replying or box.busy or box.queued):  # queued: a send is on its way
                return views_for(session, exam, status=wait_status(box), history=live_history(session, box))
            if session is not None and (refused := session.why_cannot_rewind()) is not None:
                return views_for(session, exam, status=f"*{md_text(refused[0].upper() + refused[1:])}.*",
                                 scorecard=gr.skip())  # an ended attempt keeps its scorecard on show
            if session is not None:
                await committed(session, box, waiting, action)
            return views_for(session, exam, scorecard="", downloads=[])

        return run

    views = panel.views
    api = prefix.replace("-", "_")  # stable API names (`/send`, `/end`, ...) for the gradio client and load tests
    # In the browser a send is three steps, so that nothing typed is lost: take the message (shown at once, box
    # cleared), answer the queue (streamed updates never touch the box, so typing goes on), then hand back any
    # message that could not be sent. "multiple": Enter works while a reply streams; the message waits its turn.
    for trigger in (message.submit, send.click):
        taken = trigger(on_accept, [message, session_state, exam_state], [message, *views], api_visibility="private",
                        trigger_mode="multiple")
        taken.then(on_drain, [session_state, exam_state], views, api_visibility="private").then(
            on_restore, [message, session_state], [message], api_visibility="private")
        panel.accepted.append(taken)
    panel.drain, panel.restore = on_drain, on_restore
    api_send = gr.Button(visible=False, elem_id=f"{prefix}api-send")
    api_send.click(on_send, [message, session_state, exam_state], [message, *views], api_name=f"{api}send")
    panel.accepted.append(retry.click(on_retry, [session_state, exam_state], views, api_name=f"{api}retry"))
    undoing = command("Wait for the undo to finish first.", Session.aundo)
    restarting = command("Wait for the restart to finish first.", Session.arestart)
    undo.click(undoing, [session_state, exam_state], views, api_name=f"{api}undo")
    restart.click(restarting, [session_state, exam_state], views, api_name=f"{api}restart")
    chatbot.clear(restarting, [session_state, exam_state], views, api_visibility="private")
    end.click(on_end, [session_state, exam_state], views, api_name=f"{api}end")
    exam_state.change(exam_views, [session_state, exam_state], [meter, hints], api_visibility="private")
    return panel


def refusal(session: Session, text: str, replying: bool) -> str | None:
    """Why the message cannot be taken now (it stays in the box), as a status line, or None.

    The rule is the session's (`Session.why_cannot_send`, which `send` enforces); while a reply streams the message
    is queued behind it. Escaped: an ended session's reason can name the persona, which is data."""
    reason = session.why_cannot_send(text, queued=replying)
    return None if reason is None else md_text(reason[:1].upper() + reason[1:]) + "."
