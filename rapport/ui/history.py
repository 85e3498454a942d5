"""The history and progress tab: past sessions, each can be opened (or resumed), scores over time, what next."""

from __future__ import annotations

from html import escape

import gradio as gr

from evals.charts import criteria_over_time_chart
from evals.grading import Graded
from evals.progress import criterion_series, history_from_store, suggest_next
from evals.scorecard import Scorecard
from rapport.service.cohorts import attempt_verdict
from simulator.errors import RapportError
from simulator.record import END_WORDS

from .chat_view import md_text
from .context import AppContext
from .scorecard_view import review_html, scorecard_html
from .tabs import TabParts

COLUMNS = ["When", "Persona", "Level", "Turns", "Ended", "Overall"]


def _ended(reason: str | None) -> str:
    return END_WORDS.get(reason, reason) if reason else "unfinished"


def _rows(history) -> list[list]:
    rows = []
    for summary, card in reversed(history):  # newest first
        rows.append([summary.started_at.strftime("%Y-%m-%d %H:%M"), summary.persona_name, summary.difficulty,
                     summary.turns, _ended(summary.end_reason), round(card["overall"], 1) if card else None])
    return rows


def _choices(history, reviewed: dict[str, tuple[int, int]]) -> list[tuple[str, str]]:
    def note(session_id: str) -> str:
        remarks, scores = reviewed.get(session_id, (0, 0))
        parts = ([f"{remarks} comment{'s' if remarks > 1 else ''}"] if remarks else []) + (
            [f"{scores} score{'s' if scores > 1 else ''}"] if scores else [])
        return f" — reviewed by your trainer ({', '.join(parts)})" if parts else ""

    return [(f"{s.started_at:%Y-%m-%d %H:%M} — {s.persona_name} — {_ended(s.end_reason)}{note(s.id)}", s.id)
            for s, _ in reversed(history)]


def stored_graded(cards: list[dict]) -> Graded | None:
    """The scorecards saved with a session, as shown when it ended."""
    if not cards:
        return None
    built = [Scorecard.model_validate({**{k: v for k, v in c.items() if k != "file"}, "source": c.get("source", "offline")})
             for c in cards]
    main = built[0]
    offline = next((c for c in built if c.source == "offline"), main)
    return Graded(main, offline)


def history_tab(ctx: AppContext) -> TabParts:
    """Lists this learner's sessions when selected; shares the session `picker` and the `resume` button so the app
    can wire resuming into practice."""
    gr.Markdown("Your past sessions. Open one to see its scorecard again; an unfinished one can be resumed.")
    refresh = gr.Button("Refresh", elem_id="history-refresh", size="sm")
    suggestion = gr.Markdown(elem_id="history-suggestion")
    table = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="history-table", wrap=True)
    progress = gr.HTML(elem_id="history-progress")
    with gr.Row():
        picker = gr.Dropdown(label="Session", choices=[], elem_id="history-picker", scale=4)
        open_button = gr.Button("Open", elem_id="history-open", scale=1)
        resume = gr.Button("Resume in Practice", elem_id="history-resume", scale=1)
    opened = gr.HTML(elem_id="history-opened")

    def load(request: gr.Request):
        history = history_from_store(ctx.practice.store, ctx.learner(request))
        if not history:
            return ("No sessions yet: practise with someone first.", [], "", gr.update(choices=[], value=None))
        tip = suggest_next(history, [s.spec for s in ctx.holder.library])
        advice = (f"**Practise next:** {md_text(tip.persona_name)} on {tip.difficulty.value}. {md_text(tip.reason)}")
        chart = criteria_over_time_chart(criterion_series(history))
        reviewed = ctx.practice.teams.reviewed(ctx.viewer(request))
        return advice, _rows(history), chart, gr.update(choices=_choices(history, reviewed), value=None)

    def open_session(session_id: str | None, request: gr.Request):
        if not session_id:
            return "Choose a session first."
        learner = ctx.learner(request)  # the store answers only for this learner's own sessions
        try:  # the stored record, shown as it is: no model is built to show it
            record = ctx.practice.store.load_record(session_id, learner_id=learner)
        except RapportError as exc:
            return f"<p>{escape(str(exc))}</p>"
        viewer = ctx.viewer(request)
        review = review_html(ctx.practice.teams.comments(record.id, viewer),
                             ctx.practice.teams.overrides(viewer, session_id=record.id),
                             attempt_verdict(ctx.practice.teams, record.id, viewer, ctx.holder.library))
        graded = stored_graded([card.data for card in record.scorecards])
        if graded is None:
            return review + "<p>This session has no scorecard yet (it is unfinished): resume it in Practice.</p>"
        return review + scorecard_html(record, graded)

    refresh.click(load, None, [suggestion, table, progress, picker])
    open_button.click(open_session, picker, opened)
    return TabParts(on_select=load, select_outputs=[suggestion, table, progress, picker],
                    shared={"picker": picker, "resume": resume})
