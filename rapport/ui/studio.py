"""The persona studio: pick or create a persona, edit its YAML with live validation, see its card, try it, save it."""

from __future__ import annotations

import asyncio
from html import escape

import gradio as gr

from simulator.errors import RapportError
from simulator.paths import learner_personas_dir, user_personas_dir
from simulator.persona import Difficulty, PersonaLibrary
from simulator.persona.library import Origin
from simulator.persona.lint import located_warnings
from simulator.persona.loader import parse_persona_text
from simulator.persona.cards import card_to_persona, export_card, read_card
from simulator.persona.writer import persona_to_yaml, save_persona
from simulator.session import Session
from simulator.voice import Audio, speaker_for
from simulator.voice.persona_voice import DEFAULT_VOICE

from .auth import Role
from .cards import persona_card_html
from .chat_panel import chat_panel, views_for
from .chat_view import md_code, md_text, refusal
from .context import AppContext, LibraryHolder
from .downloads import download_folder
from .tabs import TabParts
from simulator.voice.sentences import speakable

EDITOR_LABEL = "editor"
# The editor checks on every keystroke, for every user at once: the largest bundled persona is 10 KB, and a
# bigger text would let one user keep the CPU busy (files on disk keep the 5 MB limit).
MAX_EDITOR_CHARS = 256 * 1024


def validation_report(text: str) -> tuple[str, str]:
    """(validation and lint messages as Markdown, the card preview as HTML) for the editor's text."""
    if not text.strip():
        return "Load a persona or paste YAML to start.", ""
    spec, problems, data = parse_persona_text(text, EDITOR_LABEL, limit=MAX_EDITOR_CHARS)
    if spec is None:
        lines = "\n".join(f"- line {p.line or '?'}: {md_code(p.field)}: {md_text(p.message)}" for p in problems)
        return f"**{len(problems)} error(s)** — fix these to try or save the persona:\n{lines}", ""
    warnings = located_warnings(spec, data, EDITOR_LABEL)
    if warnings:
        lines = "\n".join(f"- line {w.line or '?'}: {md_code(w.field)}: {md_text(w.message)}" for w in warnings)
        return f"✓ **Valid.** {len(warnings)} suggestion(s):\n{lines}", persona_card_html(spec)
    return "✓ **Valid**, and no suggestions.", persona_card_html(spec)


KINDS = {Origin.BUNDLED: "bundled", Origin.USER: "shared", Origin.EXTRA: "RAPPORT_PERSONAS"}


def free_id(persona_id: str, library: PersonaLibrary) -> str:
    """`<id>-2`, `<id>-3`, ...: the first id no persona in `library` uses."""
    base = persona_id[:60].rstrip("-")
    return next(f"{base}-{n}" for n in range(2, 10_000) if not library.origins(f"{base}-{n}"))


def save_studio_persona(holder: LibraryHolder, text: str, *, force: bool, login: str | None,
                        role: Role) -> tuple[Path | None, str]:
    """Save the editor's persona where this user's saves belong; (the file or None, a Markdown message).

    A logged-in learner saves into their own space, which only they see; trainers and admins (and the one
    local user without a login) save the shared personas. No save ever replaces a bundled persona, or, for a
    learner, a shared one: the message suggests a free id instead.
    """
    spec, problems = parse_persona_text(text, EDITOR_LABEL, limit=MAX_EDITOR_CHARS)[:2]
    if spec is None:
        return None, f"Not saved: {len(problems)} error(s) to fix first."
    own = login is not None and not role.edits_shared_personas
    library = holder.for_learner(login)
    origins = library.origins(spec.id)
    protected = origins & ({Origin.BUNDLED, Origin.USER, Origin.EXTRA} if own else {Origin.BUNDLED, Origin.EXTRA})
    if protected and (own or Origin.USER not in origins):  # editing an existing shared override is allowed
        kind = KINDS[min(protected, key=list(KINDS).index)]
        clash = ("which your own personas cannot replace. To save your own copy" if own
                 else "and saving would replace it for everyone. To save your version")
        return None, (f"Not saved: `{escape(spec.id)}` is the id of a {kind} persona, {clash}, change `id:` to a "
                      f"new one, for example `{free_id(spec.id, library)}`.")
    try:
        path = save_persona(spec, learner_personas_dir(login) if own else user_personas_dir(), force=force, text=text)
    except RapportError as exc:
        return None, f"Not saved: {escape(str(exc))}. Tick the overwrite box to replace it."
    holder.refresh(login if own else None)
    if own:
        return path, f"Saved `{escape(spec.id)}` to your own personas: it is in your practice gallery; only you see it."
    if login is not None:
        return path, f"Saved `{escape(spec.id)}` as a shared persona: it is now in everyone's practice gallery."
    return path, f"Saved `{escape(str(path))}`. It is now in the practice gallery."


def studio_tab(ctx: AppContext, library_version: gr.State, model_choice: gr.State) -> TabParts:
    """Build the studio; when selected, its persona list is refreshed for the user who opens it."""
    holder = ctx.holder
    session_state = gr.State(None)
    exam_state = gr.State(False)
    gr.Markdown(
        "Edit a persona as YAML. Errors and suggestions update as you type. Saving never replaces a bundled "
        "persona. With a login, a learner's saves are their own (only they see them), and trainers and admins "
        f"save the shared personas; without one, saves go to `{escape(str(user_personas_dir()))}`."
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
            with gr.Row():
                hear = gr.Button("Hear this voice", size="sm", elem_id="studio-hear", scale=1)
                heard = gr.Audio(label="The persona's voice (the `voice:` block)", interactive=False, autoplay=True,
                                 elem_id="studio-voice", scale=3, buttons=[])
            with gr.Accordion("Try it", open=True):
                with gr.Row():
                    level = gr.Radio([d.value for d in Difficulty], value="medium", label="Difficulty", scale=2)
                    try_it = gr.Button("Start a test conversation", elem_id="studio-try", scale=1)
                panel = chat_panel(session_state, exam_state, prefix="studio-", height=320)

    def source_choices(request: gr.Request):
        return gr.update(choices=ctx.library_for(request).ids())

    def load_persona_text(persona_id: str | None, request: gr.Request) -> str:
        if not persona_id:
            return ""
        try:
            source_file = ctx.library_for(request).source(persona_id)  # never another learner's own persona
        except RapportError as exc:
            raise refusal(exc) from None
        return source_file.path.read_text(encoding="utf-8")

    def start_trial(text: str, difficulty: str, choice):
        spec, problems = parse_persona_text(text, EDITOR_LABEL, limit=MAX_EDITOR_CHARS)[:2]
        if spec is None:
            raise gr.Error(f"The persona has {len(problems)} error(s); fix them first.")
        model_spec, model = ctx.model_for(choice)
        if model is None:
            raise refusal(ctx.persona_model.error or "no persona model is configured")
        session = Session(spec, model, difficulty=difficulty, model_spec=model_spec)  # a trial: not stored
        return session, *views_for(session, False, scorecard="", downloads=[])

    def save_text(text: str, force: bool, version: int, request: gr.Request):
        path, message = save_studio_persona(holder, text, force=force, login=ctx.login(request),
                                            role=ctx.role(request))
        if path is None:
            return message, version, gr.update()
        return message, version + 1, source_choices(request)

    def import_card(path: str | None, request: gr.Request):
        if not path:
            return gr.update(), ""
        try:
            spec = card_to_persona(read_card(path), taken_ids=set(ctx.library_for(request).ids()))
        except RapportError as exc:
            return gr.update(), f"**Not imported:** {md_text(str(exc))}"
        notes = spec.card_extensions.get("rapport_import_notes") or []
        listed = "\n".join(f"- {md_text(str(n))}" for n in notes)
        return persona_to_yaml(spec), "Imported into the editor (not saved yet)." + (
            f" Filled in with defaults — review these:\n{listed}" if listed else ""
        )

    def export_editor(text: str, version: str, png: bool) -> str | None:
        spec, problems = parse_persona_text(text, EDITOR_LABEL, limit=MAX_EDITOR_CHARS)[:2]
        if spec is None:
            raise gr.Error(f"The persona has {len(problems)} error(s); fix them first.")
        folder = download_folder("card-")
        path = folder / f"{spec.id}.{version}.{'png' if png else 'json'}"
        path.write_bytes(export_card(spec, version, png))
        return str(path)

    async def hear_voice(text: str):
        """The opening line (or a speech example) in the voice the editor's `voice:` block sets."""
        spec, problems = parse_persona_text(text, EDITOR_LABEL, limit=MAX_EDITOR_CHARS)[:2]
        if spec is None:
            raise gr.Error(f"The persona has {len(problems)} error(s); fix them first.")
        line = speakable(spec.opening_line or next(iter(spec.personality.speech_examples), "") or spec.summary)
        try:
            chunks = await asyncio.to_thread(lambda: list(speaker_for().speak(line[:400], spec.voice or DEFAULT_VOICE)))
        except RapportError as exc:
            raise refusal(exc) from None
        audio = Audio.concat(chunks)
        return (audio.sample_rate, (audio.samples * 32767).astype("int16"))

    load.click(load_persona_text, source, editor)
    hear.click(hear_voice, editor, heard)
    card_upload.upload(import_card, card_upload, [editor, import_notes])
    export.click(export_editor, [editor, card_format, card_png], exported)
    editor.change(validation_report, editor, [report, card], trigger_mode="always_last", show_progress="hidden",
                  concurrency_limit=2)  # keystroke checks never take more than one core from the other users
    try_it.click(start_trial, [editor, level, model_choice], [session_state, *panel.views])
    save.click(save_text, [editor, overwrite, library_version], [saved, library_version, source])
    return TabParts(on_select=source_choices, select_outputs=[source])  # this user's personas: shared plus own

