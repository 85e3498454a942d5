"""One structured-output call: a schema in, a validated pydantic object out, retried while the shape is wrong."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, ConfigDict, Field

from simulator.config import ModelSpec, Role
from simulator.errors import ModelError
from simulator.models import ScriptedChatModel, build_chat_model
from simulator.models.structured import WrongShapeError, ask_structured

ASK = [HumanMessage("Is the statement true? Answer with JSON.")]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holds: bool
    score: int = Field(ge=1, le=5)


def ask(model, spec: ModelSpec | None = None, attempts: int = 3) -> Answer:
    return asyncio.run(ask_structured(model, spec, ASK, Answer, attempts=attempts, role=Role.JUDGE, name="answer"))


def test_a_wrong_shape_is_asked_again_and_the_right_one_validated():
    model = ScriptedChatModel(replies=['{"holds": true, "score": 9}', 'Sure! {"holds": true, "score": 4} Hope it helps.'])
    answer = ask(model)
    assert answer == Answer(holds=True, score=4)  # the prose around the object is ignored
    assert len(model.prompts) == 2 and model.prompts[0] == model.prompts[1]  # the same question, asked again


def test_a_model_that_never_answers_in_shape_is_reported_with_the_last_problem():
    model = ScriptedChatModel(replies=["not json", "{}", '{"holds": true, "score": 9}'])
    with pytest.raises(WrongShapeError, match=r"wrong shape 3 times; last problem: score: Input should be") as caught:
        ask(model)
    assert caught.value.attempts == 3 and len(model.prompts) == 3


def test_a_reply_nested_too_deep_is_the_wrong_shape_not_a_crash():
    deep = "[" * 100_000 + "]" * 100_000
    model = ScriptedChatModel(replies=[deep, '{"holds": false, "score": 1}'])
    assert ask(model) == Answer(holds=False, score=1)
    with pytest.raises(WrongShapeError, match="nested too deeply"):
        ask(ScriptedChatModel(replies=[deep]), attempts=1)


def test_a_failing_call_is_one_described_model_error_and_not_retried():
    model = ScriptedChatModel(replies=['{"holds": true, "score": 2}'], fail_with=[ConnectionError("refused")])
    with pytest.raises(ModelError, match=r"the judge model .* failed: refused"):
        ask(model)
    assert len(model.prompts) == 1


def test_response_format_is_sent_only_where_the_provider_supports_it(openai_server):
    spec = ModelSpec(provider="openai", model="judge-model", base_url=openai_server.base_url)
    openai_server.enqueue_reply('{"holds": true, "score": 3}', '{"holds": false, "score": 2}')
    assert ask(build_chat_model(spec, Role.JUDGE), spec) == Answer(holds=True, score=3)
    [request] = openai_server.requests
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"] == {"name": "answer", "schema": Answer.model_json_schema()}

    # The same endpoint described as a provider without structured output: the schema stays in the prompt only.
    assert ask(build_chat_model(spec, Role.JUDGE), ModelSpec(provider="fake")) == Answer(holds=False, score=2)
    assert "response_format" not in openai_server.requests[1]
    assert openai_server.requests[1]["messages"][0]["content"] == ASK[0].content
