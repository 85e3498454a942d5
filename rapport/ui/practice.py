"""The practice tab: a gallery of persona cards (filtered by field), then a conversation with a live meter."""

from __future__ import annotations

import gradio as gr
from gradio.context import Context

from simulator.errors import RapportError
from simulator.persona import Difficulty
from simulator.persona.spec import Domain

from .cards import brief_markdown, domain_label, persona_card_html
from .chat_panel import chat_panel, views_for
from .assignments_panel import assignments_panel
from .chat_view import md_code, md_text, refusal
from .context import AppContext
from .live_session import FORGOTTEN, kept, live_session_state, reopen_on_load
from .tabs import TabParts
from .voice_panel import voice_controls, voice_panel

ALL_FIELDS = "all"


def practice_tab(ctx: AppContext, library_version: gr.State, model_choice: gr.State,
                 judge_choice: gr.State) -> TabParts:
    """Shares what other tabs need to hand it a session (the history's Resume): `resume`, its `outputs`, and
    `exam_state`."""
    session_state = gr.State(None)
    exam_state = gr.State(False)
    live = live_session_state()  # the open session's id, kept in the browser: see live_session.py
    exam = gr.Checkbox(label="Exam mode: hide the rapport meter and the coach's hints", elem_id="exam-mode")
    with gr.Column(visible=True, elem_id="picker") as picker:
        assignments_slot = gr.Column()  # filled below, once the start it calls exists
        with gr.Row():
            field = gr.Dropdown(
                [("All fields", ALL_FIELDS)] + [(domain_label(d.value), d.value) for d in Domain],
                value=ALL_FIELDS, label="Field", elem_id="field-filter", scale=1,
            )
            difficulty = gr.Radio([d.value for d in Difficulty], value=Difficulty.MEDIUM.value, label="Difficulty",
                                  elem_id="difficulty", scale=2)
        gallery_slot = gr.Column()

    with gr.Column(visible=False, elem_id="conversation") as conversation:
        brief = gr.Markdown(elem_id="brief")
        panel = chat_panel(session_state, exam_state, prefix="", finish=ctx.finish,
                           keep_recording=ctx.practice.keep_recording, controls=voice_controls)
        voice_panel(panel, session_state, exam_state)
        back = gr.Button("Choose another persona", elem_id="back", size="sm")

    exam.change(lambda value: value, exam, exam_state)

    def opened(run, level: str, exam_on: bool):
        session, remembered = run.session, run.remembered
        note = (f"\n\n*{md_text(session.persona.short_name)} remembers {remembered} thing(s) from your earlier sessions.*"
                if remembered else "")
        if run.assignment is not None:  # say so up front: this one is reviewed, and cannot be rewound
            note += (f"\n\n**Assessed attempt: {md_text(run.assignment.title)}** (pass: "
                     f"{md_text(run.assignment.pass_bar.describe())}). Your trainer reviews this conversation; "
                     "undo and restart are off.")
        return (session, gr.update(visible=False), gr.update(visible=True),
                brief_markdown(session.persona, level) + note,
                *views_for(session, exam_on, scorecard="", downloads=[]), kept(session))

    def start(persona_id: str, level: str, choice, judge, exam_on: bool, request: gr.Request,
              assignment: str | None = None):
        try:  # a choice made before the operator changed the endpoints is refused in one line, not a server error
            spec, model = ctx.model_for(choice)
        except RapportError as exc:
            raise refusal(f"{exc}; choose again in Settings") from None
        if model is None:
            raise refusal(ctx.persona_model.error or "no persona model is configured")
        try:
            persona = ctx.library_for(request).get(persona_id)  # never another learner's own persona
            run = ctx.practice.start(persona, model, learner=ctx.learner(request), difficulty=level,
                                     model_spec=spec, judge_choice=judge, assignment=assignment,
                                     viewer=ctx.viewer(request) if assignment else None)
        except RapportError as exc:
            raise refusal(exc) from None
        return opened(run, level, exam_on)

    def resume(session_id: str | None, choice, judge, exam_on: bool, request: gr.Request):
        if not session_id:
            raise gr.Error("Choose a session first.")
        try:
            if ctx.practice.is_attempt(session_id, ctx.learner(request)):
                choice = judge = None  # an assigned attempt is played and graded by the server's models
            spec, model = ctx.model_for(choice)
            run = ctx.practice.resume(session_id, model, learner=ctx.learner(request), model_spec=spec,
                                      judge_choice=judge)
        except RapportError as exc:
            raise refusal(exc) from None
        if run.session.ended:
            raise gr.Error("That session has ended; open it to see its scorecard.")
        return opened(run, run.session.difficulty.value, exam_on)

    start_outputs = [session_state, picker, conversation, brief, *panel.views, live]
    # The same start, for programs (the gradio client, load tests): `/start` with a persona id and a difficulty.
    api_persona = gr.Textbox(visible=False)
    api_start = gr.Button(visible=False)

    def start_api(persona_id: str, level: str, choice, judge, exam_on: bool, request: gr.Request):
        return start(persona_id, level, choice, judge, exam_on, request)

    api_start.click(start_api, [api_persona, difficulty, model_choice, judge_choice, exam_state], start_outputs,
                    api_name="start")
    with gallery_slot:

        @gr.render(inputs=[field, library_version])
        def gallery(chosen_field: str, _version: int):
            from gradio.context import LocalContext  # a render function is not handed the request; gradio keeps it here

            library = ctx.library_for(LocalContext.request.get(None))  # shared personas plus this learner's own
            sources = [s for s in library if chosen_field in (ALL_FIELDS, s.spec.domain.value)]
            if not sources:
                gr.Markdown("No personas in this field yet.")
            for row_start in range(0, len(sources), 3):
                with gr.Row(equal_height=True):
                    for source in sources[row_start : row_start + 3]:
                        with gr.Column(min_width=280):
                            gr.HTML(persona_card_html(source.spec))
                            button = gr.Button(
                                f"Practise with {source.spec.short_name}", variant="primary",
                                elem_id=f"start-{source.spec.id}", key=f"start-{source.spec.id}",
                            )
                            button.click(_starter(start, source.spec.id),
                                         inputs=[difficulty, model_choice, judge_choice, exam_state],
                                         outputs=start_outputs)
            if library.problems:
                gr.Markdown("**Some persona files did not load:**\n" + "\n".join(f"- {md_code(p)}" for p in library.problems))

    went_back = back.click(lambda exam_on: (None, gr.update(visible=True), gr.update(visible=False),
                                *views_for(None, exam_on, status="", scorecard="", downloads=[]), FORGOTTEN),
               [exam_state], [session_state, picker, conversation, *panel.views, live])
    reopen_on_load(ctx, live, resume, [model_choice, judge_choice, exam_state], start_outputs, session_state,
                   panel.scorecard)
    with assignments_slot:
        refresh, listed = assignments_panel(ctx, start, [model_choice, judge_choice, exam_state], start_outputs)
    Context.root_block.load(refresh, None, listed)  # the tab is open when the page loads: list assignments then
    went_back.then(refresh, None, listed)  # a finished attempt changes what is due
    return TabParts(on_select=refresh, select_outputs=listed,
                    shared={"session_state": session_state, "exam_state": exam_state, "outputs": start_outputs,
                            "resume": resume})


def _starter(start, persona_id: str):
    """A click handler bound to one persona (gradio reads the `request` parameter by its annotation)."""
    def handler(level: str, choice, judge, exam_on: bool, request: gr.Request):
        return start(persona_id, level, choice, judge, exam_on, request)

    return handler
