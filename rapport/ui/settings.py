"""The settings tab: which model plays the persona and which judges, with a connection test for each.

Users choose among the endpoints the operator configured (the role defaults and `[endpoints.NAME]` in
rapport.toml); the browser sends only a choice's name, which the server maps back to the operator's spec, so no
text from the browser becomes a URL or a file path the server opens. Only if the operator allows it
(RAPPORT_ALLOW_USER_ENDPOINTS=1) can a user add their own http(s) endpoint, which carries only their own key.
"""

from __future__ import annotations

import asyncio
import time
from html import escape

import gradio as gr
from langchain_core.messages import HumanMessage

from simulator.config import ModelSpec, Role, named_endpoints, resolve_model_spec, user_endpoint, user_endpoints_allowed
from simulator.errors import ConfigError, RapportError
from simulator.model_reading import READER_ENV, reader_setting
from simulator.models import build_chat_model, describe_model_error

from .chat_view import md_text
from .context import OFFLINE_JUDGE, AppContext
from .tabs import TabParts

DEFAULT = "default"  # the role's default model (None in the browser's state)
OWN = "own"  # the user's own endpoint, from the fields below the lists
ENDPOINT = "endpoint:"  # prefix of an operator's named endpoint


def describe(spec: ModelSpec | None, role: Role) -> str:
    if spec is None:
        return "none: sessions are graded by the offline coder" if role is Role.JUDGE else "none"
    if spec.is_embedded_default:
        return f"`{escape(spec.label)}` — the embedded default (offline, on this machine)"
    return f"`{escape(spec.label)}` (set by {escape(spec.source)})"


def default_judge() -> tuple[ModelSpec | None, str | None]:
    """The default judge spec, or the one-line reason it cannot be read."""
    try:
        return resolve_model_spec(Role.JUDGE), None
    except RapportError as exc:
        return None, str(exc)


def options(role: Role, default: ModelSpec | None) -> list[tuple[str, str]]:
    """(label, value) for each model a user may choose for `role`: only what the operator configured."""
    if default is not None:
        first = f"the default: {default.label}"
    else:
        first = "the default: offline coder only" if role is Role.JUDGE else "the default (unavailable)"
    found = [(first, DEFAULT)]
    if role is Role.JUDGE and default is not None:
        found.append(("offline coder only", OFFLINE_JUDGE))
    try:
        found += [(f"{name}: {spec.label}", ENDPOINT + name) for name, spec in named_endpoints().items()]
        own = user_endpoints_allowed()
    except RapportError:
        own = False  # the config problem is shown when a choice is tested or used
    if own:
        found.append(("your own endpoint (below)", OWN))
    return found


def chosen(value: str | None, role: Role, url: str = "", model: str = "", key: str = "") -> ModelSpec | str | None:
    """What a choice from the browser means: None (the default), OFFLINE_JUDGE, an operator endpoint's spec, or the
    user's own endpoint (only when allowed). Anything else is refused with one line."""
    value = value or DEFAULT
    if value == DEFAULT:
        return None
    if value == OFFLINE_JUDGE and role is Role.JUDGE:
        return OFFLINE_JUDGE
    if value == OWN:
        return user_endpoint(url, model, key)
    if value.startswith(ENDPOINT):
        spec = named_endpoints().get(value.removeprefix(ENDPOINT))
        if spec is not None:
            return spec
    raise ConfigError(f"unknown {role.value} model '{value[:60]}': choose one from the list")


async def check_connection(ctx: AppContext, value: str | None, role: Role, url: str = "", model: str = "",
                          key: str = "") -> str:
    """Send one short message to the chosen model; a one-line result either way."""
    spec = None
    try:
        choice = chosen(value, role, url, model, key)
        if choice == OFFLINE_JUDGE:
            return "✓ The offline coder runs on this machine; there is nothing to connect to."
        if choice is not None:
            spec, chat = choice, build_chat_model(choice, role)
        elif role is Role.PERSONA:
            spec, chat = ctx.persona_model.spec, ctx.persona_model.model
            if chat is None:
                return f"✗ {escape(ctx.persona_model.error or 'no persona model is configured')}"
        else:
            spec = resolve_model_spec(role)
            if spec is None:
                return f"No {role.value} model is configured: sessions are graded by the offline coder."
            chat = build_chat_model(spec, role)
        started = time.perf_counter()
        reply = await asyncio.wait_for(chat.ainvoke([HumanMessage("Say hello in five words.")], max_tokens=16), 60)
    except asyncio.TimeoutError:
        return "✗ No answer within 60 s."
    except RapportError as exc:
        return f"✗ {md_text(str(exc))}"
    except Exception as exc:  # noqa: BLE001 - shown as one line
        return f"✗ {md_text(str(describe_model_error(exc, spec, role)))}"
    return f"✓ {escape(spec.label)} answered in {time.perf_counter() - started:.1f} s: “{md_text(str(reply.content).strip()[:80])}”"


def use_choices(persona: str | None, judge: str | None, url: str = "", model: str = "", key: str = ""):
    """(persona choice, judge choice, message) for this browser's state; the state is left as it was on a bad choice."""
    try:
        persona_choice = chosen(persona, Role.PERSONA, url, model, key)
        judge_choice = chosen(judge, Role.JUDGE, url, model, key)
    except RapportError as exc:
        return gr.update(), gr.update(), f"✗ {escape(str(exc))}"

    def name(choice) -> str:
        return "the offline coder only" if choice == OFFLINE_JUDGE else choice.label if choice else "the default"

    said = f"persona: {name(persona_choice)}; judge: {name(judge_choice)}"
    return persona_choice, judge_choice, f"Your next sessions use {escape(said)}."


def settings_tab(ctx: AppContext, model_choice: gr.State, judge_choice: gr.State) -> TabParts:
    judge_default, judge_error = default_judge()
    try:
        own_allowed = user_endpoints_allowed()
    except RapportError:
        own_allowed = False
    own_note = (" This server also lets you use your own OpenAI-compatible endpoint with your own key: the key is kept "
                "only for this browser session and never stored." if own_allowed else "")
    gr.Markdown(
        f"**Persona model now:** {describe(ctx.persona_model.spec, Role.PERSONA)}  \n"
        f"**Judge model now:** {escape(judge_error) if judge_error else describe(judge_default, Role.JUDGE)}  \n"
        f"**Your turns are read by:** {reader_setting()[0]}"
        f" (`{READER_ENV}=judge` lets the judge model read them too)  \n\n"
        "Choose among the models this server's operator set up (`RAPPORT_PERSONA_MODEL`, `RAPPORT_JUDGE_MODEL`, "
        "`[endpoints.NAME]` in `rapport.toml`). A model you choose here is used for your own sessions in this browser."
        + own_note,
        elem_id="settings-current",
    )
    with gr.Row():
        persona_pick = gr.Dropdown(options(Role.PERSONA, ctx.persona_model.spec), value=DEFAULT, label="Persona model",
                                   elem_id="settings-persona")
        persona_test = gr.Button("Test connection", elem_id="settings-persona-test")
    persona_result = gr.Markdown(elem_id="settings-persona-result")
    with gr.Row():
        judge_pick = gr.Dropdown(options(Role.JUDGE, judge_default), value=DEFAULT, label="Judge model",
                                 elem_id="settings-judge")
        judge_test = gr.Button("Test connection", elem_id="settings-judge-test")
    judge_result = gr.Markdown(elem_id="settings-judge-result")
    own_fields: list = []
    if own_allowed:  # not rendered at all otherwise, so there is no field to send
        with gr.Group(elem_id="settings-own"):
            own_fields = [
                gr.Textbox(label="Your endpoint URL (http or https)", placeholder="https://example.org/v1",
                           elem_id="settings-own-url"),
                gr.Textbox(label="Model name at that endpoint", elem_id="settings-own-model"),
                gr.Textbox(label="Your API key (only for this browser session; never stored)", type="password",
                           elem_id="settings-own-key"),
            ]
    apply = gr.Button("Use these for my sessions", variant="primary", elem_id="settings-apply")
    applied = gr.Markdown(elem_id="settings-applied")

    async def check_persona(value: str, *own: str) -> str:
        return await check_connection(ctx, value, Role.PERSONA, *own)

    async def check_judge(value: str, *own: str) -> str:
        return await check_connection(ctx, value, Role.JUDGE, *own)

    persona_test.click(check_persona, [persona_pick, *own_fields], persona_result)
    judge_test.click(check_judge, [judge_pick, *own_fields], judge_result)
    apply.click(use_choices, [persona_pick, judge_pick, *own_fields], [model_choice, judge_choice, applied])
    return TabParts()
