"""The learner's assignments at the top of the Practice tab: what is due, done and passed, and a button to start
the next attempt (with the assigned persona at the assigned difficulty)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape

import gradio as gr

from evals.cohort import Standing, standing
from simulator.errors import RapportError

from .chat_view import refusal
from .context import AppContext

# (label, background): dark text on the light ones, white on the dark ones, for contrast
BADGES = {Standing.PASSED: ("passed", "#006d4f"), Standing.DONE: ("done, not passed yet", "#f2c14e"),
          Standing.NOT_PASSED: ("not passed, no attempts left", "#5f5f5f"), Standing.DUE: ("due", "#005a8c"),
          Standing.OVERDUE: ("overdue", "#a33a00")}
LIGHT = {"#f2c14e"}


def my_assignments(ctx: AppContext, request: gr.Request | None):
    """(assignment, standing) for each assignment of the cohorts this user is a learner in."""
    viewer = ctx.viewer(request)
    assigned = ctx.practice.teams.assignments(viewer, as_learner=True)
    if not assigned:
        return []
    tried = ctx.practice.teams.my_attempts(viewer)
    now = datetime.now(UTC)
    return [(a, standing(a, [t for t in tried if t.assignment_id == a.id], viewer.name, now)) for a in assigned]


def assignments_html(rows, persona_names: dict[str, str]) -> str:
    if not rows:
        return ""
    items = []
    for assignment, where in rows:
        label, colour = BADGES[where.standing]
        due = f"due {assignment.due_at:%d %b %Y}" if assignment.due_at else "no due date"
        who = persona_names.get(assignment.persona_id, assignment.persona_id)
        items.append(
            f'<li class="assignment" data-standing="{where.standing.value}"><b>{escape(assignment.title)}</b> '
            f'<span class="badge" style="background:{colour};color:{"#1a1a1a" if colour in LIGHT else "#fff"}">'
            f"{label}</span><br>"
            f"<small>{escape(who)} on {assignment.difficulty.value} · {due} · pass: "
            f"{escape(assignment.pass_bar.describe())} · attempts {where.used}/{assignment.max_attempts} · "
            f"{escape(assignment.cohort_name)}</small></li>")
    return '<div class="rapport-assignments"><h3>Your assignments</h3><ul>' + "".join(items) + "</ul></div>"


def assignments_panel(ctx: AppContext, start: Callable, inputs: list, outputs: list) -> tuple[Callable, list]:
    """The panel's components; returns (refresh, its outputs) for the tab to run when the page opens.

    `start(persona_id, level, choice, judge, exam_on, request, assignment=...)` is the practice tab's own start;
    `inputs` are its model choice, judge choice and exam mode."""
    with gr.Column(visible=False, elem_id="assignments") as box:
        listing = gr.HTML(elem_id="assignments-list")
        with gr.Row():
            pick = gr.Dropdown(label="Start an assignment", choices=[], elem_id="assignment-pick", scale=4,
                               allow_custom_value=True)  # the store checks it is theirs
            go = gr.Button("Start attempt", variant="primary", elem_id="assignment-start", scale=1)

    def refresh(request: gr.Request):
        try:
            rows = my_assignments(ctx, request)
        except RapportError as exc:
            return gr.update(visible=True), f"<p>{escape(str(exc))}</p>", gr.update(choices=[], value=None)
        names = {s.spec.id: s.spec.short_name for s in ctx.library_for(request)}
        open_ = [(f"{a.title} ({names.get(a.persona_id, a.persona_id)}, {a.difficulty.value})", a.id)
                 for a, where in rows if where.left > 0 and where.standing is not Standing.PASSED]
        return (gr.update(visible=bool(rows)), assignments_html(rows, names),
                gr.update(choices=open_, value=open_[0][1] if open_ else None))

    def begin(assignment_id: str | None, choice, judge, exam_on: bool, request: gr.Request):
        if not assignment_id:
            raise gr.Error("Choose an assignment first.")
        try:
            found = ctx.practice.teams.assignment(assignment_id, ctx.viewer(request), as_learner=True)
        except RapportError as exc:
            raise refusal(exc) from None
        # The server's persona model and judge, whatever this browser chose in Settings: the learner does not pick
        # who plays or grades an assessed attempt.
        return start(found.persona_id, found.difficulty.value, None, None, exam_on, request, assignment=found.id)

    go.click(begin, [pick, *inputs], outputs, api_name="start_assignment").then(refresh, None, [box, listing, pick])
    return refresh, [box, listing, pick]
