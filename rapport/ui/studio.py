"""The persona studio: pick or create a persona, edit its YAML with live validation, see its card, try it, save it."""

from __future__ import annotations

import tempfile
from html import escape
from pathlib import Path

import gradio as gr

from simulator.errors import RapportError
from simulator.paths import user_personas_dir
from simulator.persona import Difficulty
from simulator.persona.lint import located_warnings
from simulator.persona.loader import persona_from_text
from simulator.persona.cards import card_to_persona, export_card, read_card
from simulator.persona.writer import persona_to_yaml, save_persona
from simulator.session import Session
from simulator.yaml_source import load_yaml

from .cards import persona_card_html
from .chat_panel import chat_panel, views_for
from .context import AppContext

EDITOR_LABEL = "editor"


def validation_report(text: str) -> tuple[str, str]:
    """(validation and lint messages as Markdown, the card preview as HTML) for the editor's text."""
    if not text.strip():
        return "Load a persona or paste YAML to start.", ""
    spec, problems = persona_from_text(text, EDITOR_LABEL)
    if spec is None:
        lines = "\n".join(f"- line {p.line or '?'}: `{escape(p.field)}`: {escape(p.message)}" for p in problems)
        return f"**{len(problems)} error(s)** — fix these to try or save the persona:\n{lines}", ""
    warnings = located_warnings(spec, load_yaml(text, EDITOR_LABEL), EDITOR_LABEL)
    if warnings:
        lines = "\n".join(f"- line {w.line or '?'}: `{escape(w.field)}`: {escape(w.message)}" for w in warnings)
        return f"✓ **Valid.** {len(warnings)} suggestion(s):\n{lines}", persona_card_html(spec)
    return "✓ **Valid**, and no suggestions.", persona_card_html(spec)


def studio_tab(ctx: AppContext, library_version: gr.State, model_choice: gr.State) -> None:
    holder = ctx.holder
    session_state = gr.State(None)
    exam_state = gr.State(False)
    gr.Markdown(
        "Edit a persona as YAML. Errors and suggestions update as you type. Saving writes to "
        f"`{escape(str(user_personas_dir()))}`; a persona there with the same id as a bundled one replaces it."
    )
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row():
                source = gr.Dropdown(holder.library.ids(), label="Start from an existing persona", elem_id="studio-source", scale=3)
                load = gr.Button("Load", elem_id="studio-load", scale=1)
            editor = gr.Code(language="yaml", lines=30, max_lines=30, label="Persona YAML", elem_id="studio-editor")
            with gr.Accordion("Character Cards (V2/V3)", open=False):
                card_upload = gr.File(label="Import a card (.json or .png)", file_types=[".json", ".png"],
                                      elem_id="studio-card-upload")
                import_notes = gr.Markdown(elem_id="studio-import-notes")
                with gr.Row():
                    card_format = gr.Radio(["ccv2", "ccv3"], value="ccv3", label="Export format")
                    card_png = gr.Checkbox(label="As PNG", value=False)
                    export = gr.Button("Export the editor's persona", elem_id="studio-export")
                exported = gr.File(label="Exported card", elem_id="studio-exported", interactive=False)
        with gr.Column(scale=2):
            report = gr.Markdown(elem_id="studio-validation")
            card = gr.HTML(elem_id="studio-card")
            with gr.Row():
                overwrite = gr.Checkbox(label="Overwrite my saved persona with this id", elem_id="studio-overwrite")
                save = gr.Button("Save to my personas", variant="primary", elem_id="studio-save")
            saved = gr.Markdown(elem_id="studio-saved")
            with gr.Accordion("Try it", open=True):
                with gr.Row():
                    level = gr.Radio([d.value for d in Difficulty], value="medium", label="Difficulty", scale=2)
                    try_it = gr.Button("Start a test conversation", elem_id="studio-try", scale=1)
                panel = chat_panel(session_state, exam_state, prefix="studio-", height=320)

    def load_persona_text(persona_id: str | None) -> str:
        if not persona_id:
            return ""
        source_file = holder.library.source(persona_id)
        return source_file.path.read_text(encoding="utf-8")

    def start_trial(text: str, difficulty: str, choice):
        spec, problems = persona_from_text(text, EDITOR_LABEL)
        if spec is None:
            raise gr.Error(f"The persona has {len(problems)} error(s); fix them first.")
        model_spec, model = ctx.model_for(choice)
        if model is None:
            raise gr.Error(ctx.persona_model.error or "no persona model is configured")
        session = Session(spec, model, difficulty=difficulty, model_spec=model_spec)  # a trial: not stored
        return session, *views_for(session, False, scorecard="", downloads=[])

    def save_text(text: str, force: bool, version: int):
        spec, problems = persona_from_text(text, EDITOR_LABEL)
        if spec is None:
            return f"Not saved: {len(problems)} error(s) to fix first.", version
        try:
            path = save_persona(spec, user_personas_dir(), force=force, text=text)
        except RapportError as exc:
            return f"Not saved: {escape(str(exc))}. Tick the overwrite box to replace it.", version
        holder.refresh()
        return f"Saved `{escape(str(path))}`. It is now in the practice gallery.", version + 1

    def import_card(path: str | None):
        if not path:
            return gr.update(), ""
        try:
            spec = card_to_persona(read_card(path), taken_ids=set(holder.library.ids()))
        except RapportError as exc:
            return gr.update(), f"**Not imported:** {escape(str(exc))}"
        notes = spec.card_extensions.get("rapport_import_notes") or []
        listed = "\n".join(f"- {escape(str(n))}" for n in notes)
        return persona_to_yaml(spec), "Imported into the editor (not saved yet)." + (
            f" Filled in with defaults — review these:\n{listed}" if listed else ""
        )

    def export_editor(text: str, version: str, png: bool) -> str | None:
        spec, problems = persona_from_text(text, EDITOR_LABEL)
        if spec is None:
            raise gr.Error(f"The persona has {len(problems)} error(s); fix them first.")
        folder = Path(tempfile.mkdtemp(prefix="rapport-card-"))
        path = folder / f"{spec.id}.{version}.{'png' if png else 'json'}"
        path.write_bytes(export_card(spec, version, png))
        return str(path)

    load.click(load_persona_text, source, editor)
    card_upload.upload(import_card, card_upload, [editor, import_notes])
    export.click(export_editor, [editor, card_format, card_png], exported)
    editor.change(validation_report, editor, [report, card], trigger_mode="always_last", show_progress="hidden")
    try_it.click(start_trial, [editor, level, model_choice], [session_state, *panel.views])
    save.click(save_text, [editor, overwrite, library_version], [saved, library_version])

