"""The practice tab: a gallery of persona cards (filtered by field), then a conversation."""

from __future__ import annotations

import gradio as gr

from simulator.persona import Difficulty, PersonaLibrary
from simulator.persona.spec import Domain
from simulator.session import Session

from .cards import brief_markdown, domain_label, persona_card_html
from .chat_panel import chat_panel
from .chat_view import chat_messages, status_line
from .persona_model import PersonaModel

ALL_FIELDS = "all"


class LibraryHolder:
    """The persona library shared by every browser session; re-read after the studio saves a persona."""

    def __init__(self, library: PersonaLibrary):
        self.library = library

    def refresh(self) -> PersonaLibrary:
        self.library = PersonaLibrary(self.library.sources)
        return self.library


def practice_tab(holder: LibraryHolder, persona_model: PersonaModel, library_version: gr.State) -> None:
    session_state = gr.State(None)
    with gr.Column(visible=True, elem_id="picker") as picker:
        with gr.Row():
            field = gr.Dropdown(
                [("All fields", ALL_FIELDS)] + [(domain_label(d.value), d.value) for d in Domain],
                value=ALL_FIELDS, label="Field", elem_id="field-filter", scale=1,
            )
            difficulty = gr.Radio(
                [d.value for d in Difficulty], value=Difficulty.MEDIUM.value, label="Difficulty",
                elem_id="difficulty", scale=2,
            )
        gallery_slot = gr.Column()

    with gr.Column(visible=False, elem_id="conversation") as conversation:
        brief = gr.Markdown(elem_id="brief")
        panel = chat_panel(session_state, prefix="")
        back = gr.Button("Choose another persona", elem_id="back", size="sm")

    def start(persona_id: str, level: str):
        if persona_model.model is None:
            raise gr.Error(persona_model.error or "no persona model is configured")
        session = Session(
            holder.library.get(persona_id), persona_model.model, difficulty=level, model_spec=persona_model.spec
        )
        return (
            session, gr.update(visible=False), gr.update(visible=True),
            brief_markdown(session.persona, level), chat_messages(session), status_line(session), "", "",
            gr.update(visible=False),
        )

    with gallery_slot:

        @gr.render(inputs=[field, library_version])
        def gallery(chosen_field: str, _version: int):
            sources = [s for s in holder.library if chosen_field in (ALL_FIELDS, s.spec.domain.value)]
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
                            button.click(
                                lambda level, pid=source.spec.id: start(pid, level),
                                inputs=[difficulty],
                                outputs=[session_state, picker, conversation, brief, panel.chatbot, panel.status, panel.review,
                                         panel.scorecard, panel.offline_scorecard],
                            )
            if holder.library.problems:
                gr.Markdown(
                    "**Some persona files did not load:**\n" + "\n".join(f"- `{p}`" for p in holder.library.problems)
                )

    back.click(
        lambda: (None, gr.update(visible=True), gr.update(visible=False), [], "", "", "", gr.update(visible=False)),
        None, [session_state, picker, conversation, panel.chatbot, panel.status, panel.review, panel.scorecard,
               panel.offline_scorecard],
    )
