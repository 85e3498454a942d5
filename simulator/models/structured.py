"""One way to ask a chat model for JSON: a pydantic model's schema in, a validated object of it out.

The judge, its free-form checks and the model-assisted reader all ask through `ask_structured`, so the
retry rule, the parsing of chatty replies, the choice of `response_format` and the wording of failures live here
once. An endpoint that refuses a JSON schema is asked with the next format it accepts (`response_formats.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from pydantic import BaseModel, ValidationError

from ..config import ModelSpec, Role
from ..errors import RapportError
from . import describe_model_error
from .openai_chat import OpenAICompatibleChatModel
from .registry import supports_structured_output
from .response_formats import (
    Format, accepted, endpoint_of, formats_for, is_refusal, is_transient, prompt_for, remember, request_options,
)

T = TypeVar("T", bound=BaseModel)
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)  # first "{" to last "}": the object inside any prose around it


class WrongShapeError(RapportError):
    """The model answered `attempts` times and never in the shape asked for; `problem` is the last reason."""

    def __init__(self, attempts: int, problem: str):
        self.attempts, self.problem = attempts, problem
        super().__init__(f"answered in the wrong shape {attempts} times; last problem: {problem}")


def parse_reply(text: str, output_model: type[T]) -> T:
    """The object in `text` (prose around it ignored); raises `ValueError` naming what is wrong with it."""
    match = _JSON_OBJECT.search(text)
    try:
        return output_model.model_validate(json.loads(match.group(0) if match else text))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        raise ValueError(f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    except RecursionError:  # a reply nested thousands deep is the wrong shape too, not a crash
        raise ValueError("the JSON is nested too deeply") from None


async def ask_structured(
    model: BaseChatModel, spec: ModelSpec | None, messages: Sequence[BaseMessage], output_model: type[T], *,
    attempts: int, role: Role | str = Role.JUDGE, name: str = "answer",
) -> T:
    """Ask `model` for an `output_model`, asking again (the same messages) while it answers in the wrong shape.

    Where the provider takes a `response_format`, the strongest format the endpoint accepts is used: a refusal
    moves to the next one (json_schema, json_object, plain text), and the one accepted is remembered per endpoint.
    Raises `ModelError` (described once, for `role`) when the call itself fails, and `WrongShapeError` after
    `attempts` answers in the wrong shape; callers word these for their own users."""
    schema = output_model.model_json_schema()
    structured = supports_structured_output(spec)
    endpoint = endpoint_of(model, spec)
    formats = list(formats_for(endpoint)) if structured else [Format.TEXT]
    problem, answered = "", 0
    while answered < attempts:
        fmt = formats[0]
        known = not structured or accepted(endpoint) is fmt
        prompt = prompt_for(fmt, messages, schema) if structured else list(messages)
        try:
            reply = await _call(model, prompt, request_options(fmt, name, schema) if structured else {},
                                probe=not known and fmt is not Format.TEXT)
        except Exception as exc:  # noqa: BLE001 - provider failures become one-line errors
            if len(formats) > 1 and is_refusal(exc):
                formats.pop(0)  # the same question again, in the next format down
                continue
            raise describe_model_error(exc, spec, role) from exc
        if not known:
            remember(endpoint, fmt)
        answered += 1
        try:
            return parse_reply(str(reply.content), output_model)
        except ValueError as exc:
            problem = " ".join(str(exc).split())[:300]
    raise WrongShapeError(attempts, problem)


async def _call(model: BaseChatModel, messages: list[BaseMessage], options: dict[str, Any], *, probe: bool) -> Any:
    """One model call. A probe of a format the endpoint may refuse goes out without the client's retries, which
    would only repeat a refusal with backoff; any other transient failure of it is asked again with the rest."""
    if not (probe and isinstance(model, OpenAICompatibleChatModel)):
        return await model.ainvoke(messages, **options)
    try:
        return await model.ainvoke(messages, **options, max_retries=0)
    except Exception as exc:
        if model.max_retries == 0 or is_refusal(exc) or not is_transient(exc):
            raise
    return await model.ainvoke(messages, **options, max_retries=model.max_retries - 1)
