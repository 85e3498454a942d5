"""Where a learner was: the id of their unfinished practice session, kept in the browser (localStorage).

With several app processes behind one address, a page reloaded after its process went away lands on another
one, whose per-page `gr.State` is empty; the id kept in the browser lets that process reopen the conversation
from the store instead of showing the gallery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gradio as gr
from gradio.context import Context

from simulator.errors import RapportError
from simulator.session import Session

from .context import AppContext

STORAGE_KEY = "rapport-live-session"
# Gradio sends this to the browser, which encrypts with it: it hides nothing, and must only be the same in every
# process so that what one wrote another can read. The id alone opens nothing: the store answers only the
# learner who owns the session.
SECRET = "rapport-live-session"
# The browser keeps the last value unless the new one is truthy, so "no session" is a value too, never None.
FORGOTTEN = {"session": None}


def live_session_state() -> gr.BrowserState:
    return gr.BrowserState(FORGOTTEN, storage_key=STORAGE_KEY, secret=SECRET)


def kept(session: Session) -> dict:
    """What the browser keeps while `session` is open."""
    return {"session": session.id}


def reopen_on_load(ctx: AppContext, live: gr.BrowserState, resume: Callable, inputs: Sequence, outputs: Sequence,
                   session_state: gr.State, scorecard: gr.HTML) -> None:
    """When a page loads, reopen the unfinished session the browser kept with `resume(session_id, choice, judge,
    exam, request)` (`inputs`: the model choice, judge choice and exam states; `outputs` end with `live`); forget
    it once it has ended.

    `Context.root_block` is the app being built (practice_tab runs inside its `with gr.Blocks()`): its load event
    fires once per page, after the browser has read its localStorage into `live`."""

    def reopen(stored, choice, judge, exam_on: bool, request: gr.Request):
        session_id = stored.get("session") if isinstance(stored, dict) else None
        if not isinstance(session_id, str) or not session_id:
            return tuple(gr.skip() for _ in outputs)
        try:  # a session ended since, or one of whoever used this browser before: forget it, quietly
            record = ctx.practice.store.load_record(session_id, learner_id=ctx.learner(request))
        except RapportError:
            record = None
        if record is None or record.ended:
            return (*(gr.skip() for _ in outputs[:-1]), FORGOTTEN)
        return resume(session_id, choice, judge, exam_on, request)

    def forget_ended(session: Session | None, stored):
        """The scorecard appears once the session has ended, however it ended (End, the persona, the turn limit)."""
        ended = session is not None and session.ended and stored == kept(session)
        return FORGOTTEN if ended else gr.skip()

    Context.root_block.load(reopen, [live, *inputs], list(outputs), api_name="reopen",
                            show_progress="hidden")
    scorecard.change(forget_ended, [session_state, live], live, api_visibility="private", show_progress="hidden")

