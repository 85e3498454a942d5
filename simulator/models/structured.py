"""One way to ask a chat model for JSON: a pydantic model's schema in, a validated object of it out.

The judge, its free-form checks and the model-assisted reader all ask through `ask_structured`, so the
retry rule, the parsing of chatty replies and the wording of failures live here once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from pydantic import BaseModel, ValidationError

from ..config import ModelSpec, Role
from ..errors import RapportError
from . import describe_model_error
from .registry import supports_structured_output

T = TypeVar("T", bound=BaseModel)
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)  # first "{" to last "}": the object inside any prose around it


class WrongShapeError(RapportError):
    """The model answered `attempts` times and never in the shape asked for; `problem` is the last reason."""

    def __init__(self, attempts: int, problem: str):
        self.attempts, self.problem = attempts, problem
        super().__init__(f"answered in the wrong shape {attempts} times; last problem: {problem}")


def response_format(spec: ModelSpec | None, name: str, schema: dict) -> dict:
    """The `response_format` argument for `spec`: a json_schema where its provider honours one, else nothing."""
    if not supports_structured_output(spec):
        return {}
    return {"response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}}


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

    Raises `ModelError` (described once, for `role`) when the call itself fails, and `WrongShapeError` after
    `attempts` answers in the wrong shape; callers word these for their own users."""
    kwargs = response_format(spec, name, output_model.model_json_schema())
    problem = ""
    for _ in range(attempts):
        try:
            reply = await model.ainvoke(list(messages), **kwargs)
        except Exception as exc:  # noqa: BLE001 - provider failures become one-line errors
            raise describe_model_error(exc, spec, role) from exc
        try:
            return parse_reply(str(reply.content), output_model)
        except ValueError as exc:
            problem = " ".join(str(exc).split())[:300]
    raise WrongShapeError(attempts, problem)
