"""The Trainer tab (trainers and admins only): cohorts and their learners, assigned practice, the cohort view
(heatmap, distributions, progress, who needs attention) and the review of one attempt (comments, overrides).

Every handler asks the team store as the logged-in user, so the same scope holds for the page and for its HTTP
API: a cohort someone does not train is "not found" whichever way they ask.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path

import gradio as gr
from pydantic import ValidationError

from evals.charts import criteria_over_time_chart, distribution_chart, heatmap_chart
from evals.cohort import concerns, criteria, distributions, heatmap, progress_series, standings
from rapport.service.cohorts import (attempt_verdict, check_assignment, cohort_results, due_date, results_csv,
                                     results_json, transcripts_zip)
from simulator.errors import RapportError
from simulator.persona import Difficulty
from simulator.store import AssignmentSpec, PassBar

from .auth import auth_file, read_users
from .chat_view import md_text, refusal
from .context import AppContext
from .downloads import download_folder
from .history import stored_graded
from .scorecard_view import review_html, scorecard_html, transcript_html
from .tabs import TabParts

ALL = ""  # the assignment filter's "all assignments"
STANDING_COLUMNS = ["Learner", "Assignment", "Standing", "Attempts", "Left"]

# Opens the review of a heatmap cell: the cell's session id goes into a hidden box, then its hidden button runs.
TRAINER_JS = r"""
() => {
  if (window.rapportTrainer) return;
  window.rapportTrainer = true;
  function open(cell) {
    const tab = document.querySelector("#trainer-review-tab-button");
    if (tab) tab.click();
    let tries = 0;
    const fill = () => {  // the Review tab's contents are drawn when it is first shown
      const box = document.querySelector("#trainer-session textarea, #trainer-session input");
      const button = document.querySelector("#trainer-open");
      if (!box || !button) { if (++tries < 40) setTimeout(fill, 50); return; }
      box.value = cell.dataset.session + " " + (cell.dataset.criterion || "");
      box.dispatchEvent(new Event("input", { bubbles: true }));
      setTimeout(() => button.click(), 50);
    };
    fill();
  }
  const cellOf = (e) => e.target.closest && e.target.closest(".cohort-heatmap .cell");
  document.addEventListener("click", (e) => { const cell = cellOf(e); if (cell) open(cell); });
  document.addEventListener("keydown", (e) => {
    const cell = cellOf(e);
    if (cell && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); open(cell); }
  });
}
"""


def _fail(exc: Exception) -> gr.Error:
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        return refusal(f"{'.'.join(map(str, error['loc'])) or 'assignment'}: {error['msg']}")
    return refusal(exc)


def _cohort_choices(ctx: AppContext, request: gr.Request) -> list[tuple[str, str]]:
    return [(f"{c.name} ({len(c.learners)} learners)", c.id) for c in ctx.practice.teams.cohorts(ctx.viewer(request))]


def _files(folder: Path, named: dict[str, bytes | str]) -> list[str]:
    paths = []
    for name, data in named.items():
        path = folder / name
        path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data, encoding="utf-8")
        paths.append(str(path))
    return paths


def trainer_tab(ctx: AppContext) -> TabParts:
    gr.Markdown("Your cohorts: assign practice, see who is improving and who is stuck, and review attempts. "
                "Click a cell of the heatmap to review that attempt.")
    with gr.Row():
        cohort = gr.Dropdown(label="Cohort", choices=[], elem_id="trainer-cohort", scale=4,
                             allow_custom_value=True)  # the store decides what is theirs, not the list
        refresh = gr.Button("Refresh", elem_id="trainer-refresh", size="sm", scale=1)
    # Three views of the chosen cohort; a heatmap cell switches to Review (TRAINER_JS clicks its tab button).
    with gr.Tabs(elem_id="trainer-sections"):
        with gr.Tab("Cohort view", id="cohort", elem_id="trainer-cohort-view"):
            only = gr.Dropdown(label="Assignment", choices=[("All assignments", ALL)], value=ALL,
                               elem_id="trainer-only", allow_custom_value=True)
            attention = gr.Markdown(elem_id="trainer-attention")
            heat = gr.HTML(elem_id="trainer-heatmap")
            table = gr.Dataframe(headers=STANDING_COLUMNS, interactive=False, elem_id="trainer-standings", wrap=True)
            with gr.Row():
                spread = gr.HTML(elem_id="trainer-distribution")
                over_time = gr.HTML(elem_id="trainer-progress")
            with gr.Row():
                export_csv = gr.Button("Results (CSV + JSON)", elem_id="trainer-export", size="sm")
                export_zip = gr.Button("Transcripts of the assignment (zip)", elem_id="trainer-export-zip", size="sm")
            export_note = gr.Markdown(elem_id="trainer-export-note")
            files = gr.File(label="Exports: click a file to download it", elem_id="trainer-files",
                            file_count="multiple", interactive=False, visible=False)  # shown once there is one
        with gr.Tab("Review", id="review", elem_id="trainer-review-tab"):
            with gr.Row():
                pick = gr.Dropdown(label="Attempt", choices=[], elem_id="trainer-attempt", scale=4,
                                   allow_custom_value=True)
                open_pick = gr.Button("Open", elem_id="trainer-open-pick", scale=1)
            session_box = gr.Textbox(elem_id="trainer-session", elem_classes=["rapport-hidden"], show_label=False,
                                     container=False)
            open_cell = gr.Button("Open cell", elem_id="trainer-open", elem_classes=["rapport-hidden"])
            reviewed = gr.State(None)  # the session under review
            with gr.Row():
                turn = gr.Number(label="Turn", value=1, minimum=0, precision=0, elem_id="review-turn", scale=1)
                remark = gr.Textbox(label="Comment for the learner", elem_id="review-comment", scale=4)
                post = gr.Button("Add comment", elem_id="review-post", scale=1)
            with gr.Row():
                criterion = gr.Dropdown(label="Criterion", choices=[], elem_id="review-criterion", scale=2,
                                        allow_custom_value=True)
                score = gr.Number(label="Your score (1-5)", value=3, minimum=1, maximum=5, elem_id="review-score",
                                  scale=1)
                reason = gr.Textbox(label="Why", elem_id="review-reason", scale=4)
                set_score = gr.Button("Override score", elem_id="review-override", scale=1)
            review_note = gr.Markdown(elem_id="review-note")
            review = gr.HTML(elem_id="trainer-review")
        with gr.Tab("Assign and members", id="manage", elem_id="trainer-manage"):
            with gr.Group(elem_id="trainer-members"):
                with gr.Row():
                    new_name = gr.Textbox(label="New cohort's name", elem_id="trainer-new-name", scale=3)
                    create = gr.Button("Create cohort", elem_id="trainer-create", scale=1)
                with gr.Row():
                    members = gr.Textbox(label="Learners to add (login names, comma-separated)",
                                         elem_id="trainer-learners", scale=3)
                    add = gr.Button("Add to cohort", elem_id="trainer-add", scale=1)
                members_note = gr.Markdown(elem_id="trainer-members-note")
            with gr.Group(elem_id="trainer-assign"):
                with gr.Row():
                    title = gr.Textbox(label="Title", elem_id="assign-title", scale=2)
                    persona = gr.Dropdown(label="Persona", choices=[], elem_id="assign-persona", scale=2)
                    level = gr.Radio([d.value for d in Difficulty], value=Difficulty.MEDIUM.value, label="Difficulty",
                                     elem_id="assign-level", scale=2)
                with gr.Row():
                    due = gr.Textbox(label="Due (YYYY-MM-DD, optional)", elem_id="assign-due")
                    tries = gr.Number(label="Attempts", value=3, minimum=1, maximum=20, precision=0,
                                      elem_id="assign-attempts")
                    bar = gr.Textbox(label="Pass bar", placeholder="empathy>=3.5, overall>=3", elem_id="assign-bar")
                    goal = gr.Checkbox(label="The persona's goal must be reached", elem_id="assign-goal")
                assign = gr.Button("Assign", variant="primary", elem_id="assign-go")
                assign_note = gr.Markdown(elem_id="assign-note")

    def opened(current: str | None, only_id: str, request: gr.Request):
        """The cohorts this user trains (the one chosen stays chosen), the personas every learner can see, and the
        chosen cohort's view, drawn afresh."""
        choices = _cohort_choices(ctx, request)
        ids = [cid for _, cid in choices]
        chosen = current if current in ids else (ids[0] if ids else None)
        personas = [(f"{s.spec.name} ({s.spec.id})", s.spec.id) for s in ctx.holder.library]  # not a private one
        return (gr.update(choices=choices, value=chosen),
                gr.update(choices=personas, value=personas[0][1] if personas else None),
                *view(chosen, only_id, request))

    def view(cohort_id: str | None, only_id: str, request: gr.Request):
        """The cohort view, the assignment filter and the attempts to review, for the chosen cohort."""
        if not cohort_id:
            empty = "No cohort yet: create one under Assign and members, add learners, and assign practice."
            return (empty, "", [], "", "", gr.update(choices=[("All assignments", ALL)], value=ALL),
                    gr.update(choices=[], value=None))
        try:
            results = cohort_results(ctx.practice.teams, cohort_id, ctx.viewer(request), ctx.holder.library)
        except RapportError as exc:
            raise _fail(exc) from None
        titles = {a.id: a.title for a in results.assignments}
        only_id = only_id if only_id in titles else ALL
        now = datetime.now(UTC)
        names = criteria(results)
        cells = heatmap(results, only_id or None)
        worries = concerns(results, now)
        notes = "\n".join(f"- **{md_text(c.learner)}** {md_text(c.reason)}" for c in worries)  # Markdown, as written
        rows = [[s.learner, titles[s.assignment_id], s.standing.value, s.used, s.left] for s in standings(results, now)
                if not only_id or s.assignment_id == only_id]
        attempts = [(f"{a.learner_id} · {titles[a.assignment_id]} · {a.started_at:%Y-%m-%d %H:%M}"
                     + (f" · overall {a.scores['overall']:.1f}" if "overall" in a.scores else " · not graded"), a.session_id)
                    for a in reversed(results.attempts) if not only_id or a.assignment_id == only_id]
        return (f"**Needs attention**\n{notes}" if worries else "**Needs attention:** nobody right now.",
                heatmap_chart(cells, names), rows, distribution_chart(distributions(cells, names)),
                criteria_over_time_chart(progress_series(results, only_id or None)),
                gr.update(choices=[("All assignments", ALL), *((t, i) for i, t in titles.items())], value=only_id),
                gr.update(choices=attempts, value=None))

    view_outputs = [attention, heat, table, spread, over_time, only, pick]

    def make_cohort(name: str, request: gr.Request):
        try:
            made = ctx.practice.teams.create_cohort((name or "").strip(), ctx.viewer(request))
        except RapportError as exc:
            raise _fail(exc) from None
        return gr.update(choices=_cohort_choices(ctx, request), value=made.id), "", f"Created **{md_text(made.name)}**."

    def add_learners(cohort_id: str | None, names: str, request: gr.Request):
        if not cohort_id:
            raise gr.Error("Choose a cohort first.")
        wanted = [n.strip() for n in (names or "").replace("\n", ",").split(",") if n.strip()]
        if not wanted:
            raise gr.Error("Name the learners to add, separated by commas.")
        try:
            viewer = ctx.viewer(request)
            ctx.practice.teams.cohort(cohort_id, viewer)  # theirs first: the users file is nobody else's business
            path = auth_file()
            if path is not None:  # with logins on, only people who can log in can be added
                known = read_users(path)
                missing = [n for n in wanted if n not in known]
                if missing:
                    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
                    raise RapportError(f"no user {', '.join(n[:64] for n in missing[:5])}{more} in the users file; "
                                       "add them with `rapport users add NAME`")
            found = ctx.practice.teams.add_members(cohort_id, wanted, viewer)
        except RapportError as exc:
            raise _fail(exc) from None
        return (gr.update(choices=_cohort_choices(ctx, request), value=found.id), "",
                f"**{md_text(found.name)}** learners: {md_text(', '.join(found.learners))}")

    def make_assignment(cohort_id, title_text, persona_id, level_value, due_text, attempts, bar_text, goal_on,
                        request: gr.Request):
        if not cohort_id:
            raise gr.Error("Choose a cohort first.")
        try:
            spec = AssignmentSpec(title=title_text or "", persona_id=persona_id or "", difficulty=level_value,
                                  due_at=due_date(due_text), max_attempts=int(attempts or 1),
                                  pass_bar=PassBar.parse(bar_text, goal=bool(goal_on)))
            check_assignment(spec, ctx.holder.library)  # a persona every learner in the cohort can practise with
            made = ctx.practice.teams.assign(cohort_id, spec, ctx.viewer(request))
        except (RapportError, ValidationError) as exc:
            raise _fail(exc) from None
        return (f"Assigned **{md_text(made.title)}** to {md_text(made.cohort_name)}: {md_text(made.persona_id)} on "
                f"{made.difficulty.value}, pass: {md_text(made.pass_bar.describe())}.")

    def open_review(opened: str | None, request: gr.Request):
        return show_review(opened, request)

    def show_review(opened: str | None, request: gr.Request, focus: str | None = None):
        """The attempt `opened` names ("SESSION_ID", or "SESSION_ID CRITERION" from a heatmap cell) for review."""
        session_id, _, cell = (opened or "").strip().partition(" ")
        if not session_id:
            raise gr.Error("Choose an attempt first.")
        viewer = ctx.viewer(request)
        try:
            record = ctx.practice.teams.session_record(session_id, viewer)
            remarks = ctx.practice.teams.comments(record.id, viewer)
            scored = ctx.practice.teams.overrides(viewer, session_id=record.id)
            standing = attempt_verdict(ctx.practice.teams, record.id, viewer, ctx.holder.library)
        except RapportError as exc:
            raise _fail(exc) from None
        try:
            graded = stored_graded([card.data for card in record.scorecards])
        except ValidationError:  # a card from an older or damaged store: the transcript is still worth reviewing
            graded = None
        head = (f"<h3>{escape(record.learner_id or '')} with {escape(record.persona.name)} "
                f"({record.difficulty.value}, {len(record.turns)} turns, started {record.started_at:%Y-%m-%d %H:%M})"
                "</h3>")
        body = scorecard_html(record, graded) if graded else (
            "<p>Not graded yet: the learner has not ended this session.</p>" + transcript_html(record))
        names = list(graded.scorecard.criteria) if graded else []
        chosen = next((n for n in (focus, cell) if n in names), names[0] if names else None)
        return (record.id, head + review_html(remarks, scored, standing) + body,
                gr.update(choices=names, value=chosen), "", gr.update(value=record.id))

    review_outputs = [reviewed, review, criterion, review_note, pick]

    def add_comment(session_id, turn_number, text, name, request: gr.Request):
        if not session_id:
            raise gr.Error("Open an attempt first.")
        try:
            ctx.practice.teams.comment(session_id, int(turn_number if turn_number is not None else -1), text or "",
                                       ctx.viewer(request))
        except RapportError as exc:
            raise _fail(exc) from None
        shown = show_review(session_id, request, focus=name)  # the criterion chosen for an override stays
        return *shown[:3], f"Comment added to turn {int(turn_number)}.", shown[4], ""

    def override(session_id, name, value, why, cohort_id, only_id, request: gr.Request):
        if not session_id:
            raise gr.Error("Open an attempt first.")
        if value is None:
            raise gr.Error("Give your score, from 1 to 5.")
        try:
            made = ctx.practice.teams.override(session_id, name or "", float(value), why or "", ctx.viewer(request))
        except RapportError as exc:
            raise _fail(exc) from None
        machine = f" (machine {made.machine_score:.1f})" if made.machine_score is not None else ""
        note = f"{made.criterion.replace('_', ' ')} is now {made.score:.1f}{machine}."
        shown = show_review(session_id, request, focus=made.criterion)
        redrawn = list(view(cohort_id, only_id, request))
        redrawn[-1] = {**redrawn[-1], "value": session_id}  # (an update dict) the attempt under review stays chosen
        return *shown[:3], note, shown[4], "", *redrawn

    def export(cohort_id: str | None, request: gr.Request):
        if not cohort_id:
            return gr.update(visible=False), "*Choose a cohort first.*"
        viewer, library = ctx.viewer(request), ctx.holder.library
        try:
            name = ctx.practice.teams.cohort(cohort_id, viewer).name.replace(" ", "_")
            files = _files(download_folder("export-"), {
                f"{name}.csv": results_csv(ctx.practice.teams, cohort_id, viewer, library),
                f"{name}.json": results_json(ctx.practice.teams, cohort_id, viewer, library)})
        except RapportError as exc:
            raise _fail(exc) from None
        return gr.update(visible=True, value=files), "*One row per attempt; the machine's scores beside those that count.*"

    def export_transcripts(only_id: str, request: gr.Request):
        if not only_id:  # said beside the button, not as an error: it is the next step, not a fault
            return gr.update(visible=False), "*Choose one assignment above first: its attempts' transcripts go in the zip.*"
        try:
            name, data = transcripts_zip(ctx.practice.teams, only_id, ctx.viewer(request), ctx.holder.library)
        except RapportError as exc:
            return gr.update(visible=False), f"*{md_text(exc)}*"
        return gr.update(visible=True, value=_files(download_folder("export-"), {name: data})), ""

    opened_outputs = [cohort, persona, *view_outputs]
    refresh.click(opened, [cohort, only], opened_outputs)
    cohort.input(view, [cohort, only], view_outputs, api_name="cohort_view")
    only.input(view, [cohort, only], view_outputs)
    create.click(make_cohort, new_name, [cohort, new_name, members_note], api_name="create_cohort").then(
        view, [cohort, only], view_outputs)
    add.click(add_learners, [cohort, members], [cohort, members, members_note], api_name="add_learners").then(
        view, [cohort, only], view_outputs)
    assign.click(make_assignment, [cohort, title, persona, level, due, tries, bar, goal], assign_note,
                 api_name="assign").then(view, [cohort, only], view_outputs)
    open_pick.click(open_review, pick, review_outputs)
    open_cell.click(open_review, session_box, review_outputs, api_name="review")
    post.click(add_comment, [reviewed, turn, remark, criterion], [*review_outputs, remark], api_name="comment")
    set_score.click(override, [reviewed, criterion, score, reason, cohort, only],
                    [*review_outputs, reason, *view_outputs], api_name="override")
    export_csv.click(export, cohort, [files, export_note], api_name="export_cohort")
    export_zip.click(export_transcripts, only, [files, export_note], api_name="export_transcripts")
    return TabParts(on_select=opened, select_inputs=[cohort, only], select_outputs=opened_outputs)
