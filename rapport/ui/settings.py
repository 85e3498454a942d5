"""The settings tab: which model plays the persona and which judges, with a connection test for each."""

from __future__ import annotations

import asyncio
import time
from html import escape

import gradio as gr
from langchain_core.messages import HumanMessage

from simulator.config import ModelSpec, Role, parse_model_spec, resolve_model_spec
from simulator.errors import RapportError
from simulator.model_reading import READER_ENV, reader_setting
from simulator.models import build_chat_model, describe_model_error

from .context import AppContext

EXAMPLES = ("`embedded` (the offline default) · `openai:gpt-4o-mini` · "
            "`openai:llama3.1@http://127.0.0.1:11434/v1` (Ollama) · `openai:MODEL@http://127.0.0.1:8000/v1` (vLLM, LM Studio)")


def describe(spec: ModelSpec | None, role: Role) -> str:
    if spec is None:
        return "none: sessions are graded by the offline coder" if role is Role.JUDGE else "none"
    if spec.is_embedded_default:
        return f"`{escape(spec.label)}` — the embedded default (offline, on this machine)"
    return f"`{escape(spec.label)}` (set by {escape(spec.source)})"


async def test_connection(text: str, role: Role) -> str:
    """Send one short message to the model `text` names; a one-line result either way."""
    try:
        spec = parse_model_spec(text, source="settings") if text.strip() else resolve_model_spec(role)
        if spec is None:
            return f"No {role.value} model is configured."
        model = build_chat_model(spec, role)
        started = time.perf_counter()
        reply = await asyncio.wait_for(model.ainvoke([HumanMessage("Say hello in five words.")], max_tokens=16), 60)
    except asyncio.TimeoutError:
        return "✗ No answer within 60 s."
    except RapportError as exc:
        return f"✗ {escape(str(exc))}"
    except Exception as exc:  # noqa: BLE001 - shown as one line
        return f"✗ {escape(str(describe_model_error(exc, spec, role)))}"
    return f"✓ {escape(spec.label)} answered in {time.perf_counter() - started:.1f} s: “{escape(str(reply.content).strip()[:80])}”"


def settings_tab(ctx: AppContext, model_choice: gr.State, judge_choice: gr.State) -> None:
    default_judge = resolve_model_spec(Role.JUDGE)
    gr.Markdown(
        f"**Persona model now:** {describe(ctx.persona_model.spec, Role.PERSONA)}  \n"
        f"**Judge model now:** {describe(default_judge, Role.JUDGE)}  \n"
        f"**Your turns are read by:** {reader_setting()[0]}"
        f" (`{READER_ENV}=judge` lets the judge model read them too)  \n\n"
        f"Model specs: {EXAMPLES}. A model you choose here is used for your own sessions in this browser; "
        "set `RAPPORT_PERSONA_MODEL` / `RAPPORT_JUDGE_MODEL` (or `rapport.toml`) to change the default for everyone.",
        elem_id="settings-current",
    )
    with gr.Row():
        persona_text = gr.Textbox(label="Persona model", placeholder="e.g. openai:gpt-4o-mini", elem_id="settings-persona")
        persona_test = gr.Button("Test connection", elem_id="settings-persona-test")
    persona_result = gr.Markdown(elem_id="settings-persona-result")
    with gr.Row():
        judge_text = gr.Textbox(label="Judge model", placeholder="e.g. openai:gpt-4o (empty: offline coder only)",
                                elem_id="settings-judge")
        judge_test = gr.Button("Test connection", elem_id="settings-judge-test")
    judge_result = gr.Markdown(elem_id="settings-judge-result")
    apply = gr.Button("Use these for my sessions", variant="primary", elem_id="settings-apply")
    applied = gr.Markdown(elem_id="settings-applied")

    async def check_persona(text: str) -> str:
        return await test_connection(text, Role.PERSONA)

    async def check_judge(text: str) -> str:
        return await test_connection(text, Role.JUDGE)

    def use(persona: str, judge: str):
        try:
            persona_spec = parse_model_spec(persona, source="settings") if persona.strip() else None
            judge_spec = parse_model_spec(judge, source="settings") if judge.strip() else None
        except RapportError as exc:
            return gr.update(), gr.update(), f"✗ {escape(str(exc))}"
        said = [f"persona: {persona_spec.label if persona_spec else 'the default'}",
                f"judge: {judge_spec.label if judge_spec else 'the default'}"]
        return persona_spec, judge_spec, "Your next sessions use " + "; ".join(escape(s) for s in said) + "."

    persona_test.click(check_persona, persona_text, persona_result)
    judge_test.click(check_judge, judge_text, judge_result)
    apply.click(use, [persona_text, judge_text], [model_choice, judge_choice, applied])
