"""Which `response_format` an OpenAI-compatible endpoint accepts: the strongest one, learnt once per endpoint.

OpenAI, vLLM, Ollama and LM Studio take a JSON schema. llama-cpp-python's server (`python -m llama_cpp.server`)
takes only `text` and `json_object` (with an optional `schema`, which it enforces with a grammar) and answers a
schema with HTTP 500; other servers take no `response_format` at all. So the first structured call to an endpoint
walks down `LADDER` until a format is accepted, and later calls (in this process) start there.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage

from ..config import ModelSpec

log = logging.getLogger(__name__)


class Format(StrEnum):
    """How a reply is asked to be JSON, strongest first."""

    JSON_SCHEMA = "json_schema"  # response_format json_schema: the server enforces the schema
    JSON_OBJECT = "json_object"  # response_format json_object (+ `schema`, for llama.cpp) and the schema in the prompt
    TEXT = "text"  # no response_format: the schema in the prompt, the reply validated


LADDER = (Format.JSON_SCHEMA, Format.JSON_OBJECT, Format.TEXT)
Endpoint = tuple[str, str]  # (base URL, model name)

# A refusal is a request error that names the format; auth, missing models and timeouts never match it.
_REFUSAL_STATUS = {400, 422, 500}
_REFUSAL_WORDS = re.compile(r"response_format|json_schema|json_object|unsupported|not supported", re.IGNORECASE)
_accepted: dict[Endpoint, Format] = {}
_lock = threading.Lock()


def endpoint_of(model: BaseChatModel, spec: ModelSpec | None) -> Endpoint:
    """The endpoint `model` sends to, as (base URL, model name); the model's own values win over the spec's."""
    base_url = getattr(model, "base_url", None) or (spec.base_url if spec else None)
    name = getattr(model, "model_name", None) or (spec.model if spec else None)
    return str(base_url or ""), str(name or "")


def formats_for(endpoint: Endpoint) -> tuple[Format, ...]:
    """The formats to try for `endpoint`, in order: from the one it accepted before, else from the strongest."""
    with _lock:
        known = _accepted.get(endpoint)
    return LADDER[LADDER.index(known):] if known else LADDER


def accepted(endpoint: Endpoint) -> Format | None:
    """The format `endpoint` is known to accept, if any call has found one yet."""
    with _lock:
        return _accepted.get(endpoint)


def remember(endpoint: Endpoint, fmt: Format) -> None:
    """Record that `endpoint` accepted `fmt`, so later calls go straight to it."""
    with _lock:
        before = _accepted.get(endpoint)
        _accepted[endpoint] = fmt
    if before is not fmt and fmt is not Format.JSON_SCHEMA:
        log.info("%s (%s) refuses stronger response formats; asking it for JSON with %s", endpoint[1] or "model",
                 endpoint[0] or "default URL", fmt.value)


def forget() -> None:
    """Forget every endpoint's format (a server restarted with another backend is probed afresh)."""
    with _lock:
        _accepted.clear()


def request_options(fmt: Format, name: str, schema: dict) -> dict[str, Any]:
    """The call's keyword arguments for `fmt`: its `response_format`, or nothing for plain text."""
    if fmt is Format.JSON_SCHEMA:
        return {"response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}}
    if fmt is Format.JSON_OBJECT:
        # `schema` is llama.cpp's extension (llama-cpp-python and llama-server constrain the reply with it);
        # servers that do not know it ignore it.
        return {"response_format": {"type": "json_object", "schema": schema}}
    return {}


def prompt_for(fmt: Format, messages: Sequence[BaseMessage], schema: dict) -> list[BaseMessage]:
    """The messages for `fmt`: as given for a schema the server enforces, else with the schema asked for in words."""
    messages = list(messages)
    if fmt is Format.JSON_SCHEMA:
        return messages
    written = json.dumps(schema, ensure_ascii=False)
    shown = any(isinstance(m.content, str) and written in m.content for m in messages)  # the judge's prompt has it
    note = ("Answer with one JSON object only, no other text, matching the JSON schema above." if shown else
            f"Answer with one JSON object only, no other text, matching this JSON schema:\n{written}")
    # Appended to the last user message, not sent as a message of its own: some chat templates insist that user
    # and assistant turns alternate, or allow a system message only first.
    for at in range(len(messages) - 1, -1, -1):
        message = messages[at]
        if isinstance(message, HumanMessage) and isinstance(message.content, str):
            messages[at] = message.model_copy(update={"content": f"{message.content}\n\n{note}"})
            return messages
    return [*messages, HumanMessage(note)]


def is_refusal(exc: BaseException) -> bool:
    """Whether `exc` is a server refusing the requested `response_format` (not auth, a timeout or an outage)."""
    status = getattr(exc, "status_code", None)
    if status not in _REFUSAL_STATUS:
        return False
    body = getattr(exc, "body", None)
    text = f"{getattr(exc, 'message', '')} {json.dumps(body, default=str) if body is not None else ''}"
    return bool(_REFUSAL_WORDS.search(text))


def is_transient(exc: BaseException) -> bool:
    """Whether the openai client would retry `exc`: no answer, 408, 409, 429 or 5xx (unless the server said not to)."""
    response = getattr(exc, "response", None)
    if getattr(response, "headers", {}).get("x-should-retry") == "false":
        return False
    status = getattr(exc, "status_code", None)
    return status is None or status in (408, 409, 429) or status >= 500
