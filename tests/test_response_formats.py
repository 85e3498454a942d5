"""A server that refuses a JSON schema (llama-cpp-python's) is asked with the next format it accepts, remembered."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import openai
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field

from evals.judge import Judge
from evals.judge_prompt import judge_output_model
from evals.rubric import load_rubric
from simulator.config import ModelSpec, Role
from simulator.errors import ModelError
from simulator.models import build_chat_model
from simulator.models import response_formats
from simulator.models.openai_chat import OpenAICompatibleChatModel
from simulator.models.response_formats import Format, endpoint_of
from simulator.models.structured import ask_structured
from simulator.testing.openai_server import LLAMA_CPP_PYTHON_REFUSES, Fault, MockOpenAIServer

from .test_evaluator import judge_reply, transcript_of

ASK = [SystemMessage("You check statements."), HumanMessage("Is the statement true? Answer with JSON.")]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holds: bool
    score: int = Field(ge=1, le=5)


@pytest.fixture(autouse=True)
def fresh_formats() -> Iterator[None]:
    """Each test learns its endpoints' formats itself (a port may be reused by a later server)."""
    response_formats.forget()
    yield
    response_formats.forget()


@pytest.fixture
def llama_cpp_python() -> Iterator[MockOpenAIServer]:
    """A mock that refuses response_format json_schema the way `python -m llama_cpp.server` does."""
    with MockOpenAIServer(refuse_formats=LLAMA_CPP_PYTHON_REFUSES) as server:
        yield server


def spec_for(server: MockOpenAIServer, **fields) -> ModelSpec:
    return ModelSpec(provider="openai", model="llama-local", base_url=server.base_url, **fields)


def ask(model, spec: ModelSpec) -> Answer:
    return asyncio.run(ask_structured(model, spec, ASK, Answer, attempts=3, role=Role.JUDGE, name="answer"))


def formats_sent(server: MockOpenAIServer) -> list[str | None]:
    return [(body.get("response_format") or {}).get("type") for body in server.requests]


def test_the_mock_refuses_a_schema_as_llama_cpp_python_does(llama_cpp_python):
    client = openai.OpenAI(base_url=llama_cpp_python.base_url, api_key="x", max_retries=0, timeout=10)
    schema_format = {"type": "json_schema", "json_schema": {"name": "answer", "schema": Answer.model_json_schema()}}
    with pytest.raises(openai.InternalServerError) as refused:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                       response_format=schema_format)
    assert refused.value.status_code == 500 and refused.value.body["type"] == "internal_server_error"
    assert "'loc': ('body', 'response_format', 'type')" in refused.value.body["message"]
    assert "Input should be 'text' or 'json_object'" in refused.value.body["message"]
    for accepted in ({"type": "json_object", "schema": Answer.model_json_schema()}, {"type": "text"}, None):
        extra = {"response_format": accepted} if accepted else {}
        reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], **extra)
        assert reply.choices[0].message.content
    # llama.cpp constrains a json_object reply to the schema it carries; so does the mock
    Answer.model_validate_json(client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}],
        response_format={"type": "json_object", "schema": Answer.model_json_schema()}).choices[0].message.content)
    with pytest.raises(ValueError, match="unknown response_format types"):
        MockOpenAIServer(refuse_formats=["json"])


def test_a_refused_schema_falls_back_to_json_object_and_later_calls_go_straight_to_it(llama_cpp_python):
    spec = spec_for(llama_cpp_python)
    model = build_chat_model(spec, Role.JUDGE)
    llama_cpp_python.enqueue_reply('{"holds": true, "score": 4}', '{"holds": false, "score": 2}')
    assert ask(model, spec) == Answer(holds=True, score=4)
    assert formats_sent(llama_cpp_python) == ["json_schema", "json_object"]  # the refusal was not retried
    refused, asked = llama_cpp_python.requests
    assert asked["response_format"] == {"type": "json_object", "schema": Answer.model_json_schema()}
    assert asked["messages"][0] == refused["messages"][0]  # the system message is left alone
    question = asked["messages"][-1]["content"]
    assert question.startswith(ASK[-1].content) and json.dumps(Answer.model_json_schema()) in question
    assert response_formats.accepted(endpoint_of(model, spec)) is Format.JSON_OBJECT

    again = build_chat_model(spec, Role.JUDGE)  # another model object, the same endpoint
    assert ask(again, spec) == Answer(holds=False, score=2)
    assert formats_sent(llama_cpp_python) == ["json_schema", "json_object", "json_object"]


def test_the_judge_grades_through_a_server_that_refuses_a_schema(llama_cpp_python):
    rubric = load_rubric()
    transcript = transcript_of("We were burned before.", "What went wrong with Veritrack?")
    llama_cpp_python.enqueue_reply(judge_reply(rubric, 4, (1, "What went wrong")))
    spec = spec_for(llama_cpp_python)
    card = asyncio.run(Judge(build_chat_model(spec, Role.JUDGE), spec, rubric).grade(transcript))
    assert card.source == "judge" and card.criteria["empathy"].score == 4
    assert card.criteria["empathy"].evidence[0].quote == "What went wrong"
    assert formats_sent(llama_cpp_python) == ["json_schema", "json_object"]
    # The judge's prompt already holds the schema: the fallback points at it instead of sending it twice.
    question = llama_cpp_python.requests[-1]["messages"][-1]["content"]
    schema = json.dumps(judge_output_model(rubric).model_json_schema(), ensure_ascii=False)
    assert question.count(schema) == 1 and question.endswith("matching the JSON schema above.")


def test_a_server_that_also_refuses_json_object_gets_plain_instructions():
    with MockOpenAIServer(refuse_formats=["json_schema", "json_object"]) as server:
        spec = spec_for(server)
        model = build_chat_model(spec, Role.JUDGE)
        server.enqueue_reply('Sure! {"holds": true, "score": 5}', '{"holds": true, "score": 1}')
        assert ask(model, spec) == Answer(holds=True, score=5)
        assert formats_sent(server) == ["json_schema", "json_object", None]
        plain = server.requests[-1]
        assert "response_format" not in plain
        assert json.dumps(Answer.model_json_schema()) in plain["messages"][-1]["content"]
        assert ask(model, spec) == Answer(holds=True, score=1)
        assert formats_sent(server) == ["json_schema", "json_object", None, None]


def test_an_auth_error_is_not_taken_for_a_refusal():
    with MockOpenAIServer(refuse_formats=LLAMA_CPP_PYTHON_REFUSES, api_key="the-right-key") as server:
        spec = spec_for(server)
        model = OpenAICompatibleChatModel(model_name="llama-local", base_url=server.base_url, api_key="a-wrong-key")
        with pytest.raises(ModelError, match="rejected the API key"):
            ask(model, spec)
        assert formats_sent(server) == ["json_schema"]  # 401 comes first: no other format was tried
        assert response_formats.accepted(endpoint_of(model, spec)) is None


def test_a_timeout_or_an_outage_while_probing_is_not_taken_for_a_refusal(llama_cpp_python):
    spec = spec_for(llama_cpp_python, timeout=0.5, max_retries=0)
    model = build_chat_model(spec, Role.JUDGE)
    llama_cpp_python.enqueue_fault(Fault(kind="timeout", hang_seconds=5))
    with pytest.raises(ModelError, match="did not answer within 0.5s"):
        ask(model, spec)
    assert formats_sent(llama_cpp_python) == ["json_schema", "json_object"]  # not on to plain text
    assert response_formats.accepted(endpoint_of(model, spec)) is None

    # An injected HTTP 500 that says nothing of the format: the probe is asked again (with the client's
    # retries), not moved down the ladder.
    llama_cpp_python.reset()
    spec = spec_for(llama_cpp_python, max_retries=2)
    model = build_chat_model(spec, Role.JUDGE)
    llama_cpp_python.enqueue_fault("server_error")
    llama_cpp_python.enqueue_reply('{"holds": false, "score": 3}')
    assert ask(model, spec) == Answer(holds=False, score=3)
    assert formats_sent(llama_cpp_python) == ["json_schema", "json_object", "json_object"]
    assert response_formats.accepted(endpoint_of(model, spec)) is Format.JSON_OBJECT


def test_rapport_judge_grades_transcripts_against_a_server_that_refuses_a_schema(llama_cpp_python, tmp_path):
    files = []
    for name, question in (("first", "What went wrong with Veritrack?"), ("second", "What matters most to you?")):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"persona": "procurement-skeptic", "turns": [
            {"speaker": "persona", "text": "We were burned before."}, {"speaker": "learner", "text": question}]}))
        files.append(path)
    result = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "judge", *map(str, files),
         "--model", f"openai:llama-local@{llama_cpp_python.base_url}"],
        capture_output=True, text=True, env={**os.environ}, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(f) for f in files]
    for line in lines:  # graded by the mock's schema-shaped answers (rationale "example"), not the offline coder
        assert "error" not in line and any(c["rationale"] == "example" for c in line["criteria"].values())
    # One refused schema for the whole run; every transcript is then graded with json_object.
    assert formats_sent(llama_cpp_python) == ["json_schema", "json_object", "json_object"]
    assert llama_cpp_python.requests[0]["response_format"]["json_schema"]["name"] == "scorecard"
