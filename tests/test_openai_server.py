"""The mock OpenAI server, exercised through the real openai client and langchain's ChatOpenAI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal

import openai
import pydantic
import pytest
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from simulator.testing.mock_replies import example_from_schema
from simulator.testing.openai_server import Fault, FaultKind, MockOpenAIServer

HELLO = [{"role": "user", "content": "Hello, I would like to talk about my garden."}]


class Grade(BaseModel):
    """A judge-style verdict."""

    score: int = Field(ge=1, le=5, description="How well the learner built rapport.")
    rationale: str
    strengths: list[str]


@pytest.fixture
def server() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer() as running:
        yield running


def client(server: MockOpenAIServer, **options: Any) -> openai.OpenAI:
    """A real sync client; no retries unless a test asks, so each fault is seen once."""
    return openai.OpenAI(base_url=server.base_url, api_key="test-key", **{"max_retries": 0, "timeout": 10, **options})


def async_client(server: MockOpenAIServer, **options: Any) -> openai.AsyncOpenAI:
    """A real async client configured like `client`."""
    kwargs = {"max_retries": 0, "timeout": 10, **options}
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="test-key", **kwargs)


def chat_model(server: MockOpenAIServer, **options: Any) -> ChatOpenAI:
    """langchain's ChatOpenAI against the mock server (it has no timeout at all unless given one)."""
    kwargs = {"max_retries": 0, "timeout": 10, **options}
    return ChatOpenAI(model="mock-gpt", base_url=server.base_url, api_key="test-key", **kwargs)


# -- wire format --------------------------------------------------------------------------------


def test_sync_completion_has_default_reply_and_usage(server: MockOpenAIServer) -> None:
    reply = client(server).chat.completions.create(model="persona", messages=HELLO)
    choice = reply.choices[0]
    assert "my garden" in (choice.message.content or "")
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert reply.model == "persona" and reply.object == "chat.completion"
    assert reply.usage is not None and reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_sync_stream_matches_non_stream_and_reports_usage_on_request(server: MockOpenAIServer) -> None:
    api = client(server)
    whole = api.chat.completions.create(model="m", messages=HELLO).choices[0].message.content
    chunks = list(api.chat.completions.create(model="m", messages=HELLO, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop" and all(c.usage is None for c in chunks)
    with_usage = list(
        api.chat.completions.create(model="m", messages=HELLO, stream=True, stream_options={"include_usage": True})
    )
    assert with_usage[-1].choices == [] and with_usage[-1].usage is not None
    assert with_usage[-1].usage.completion_tokens > 0


def test_async_client_streams_and_completes(server: MockOpenAIServer) -> None:
    async def run() -> tuple[str, str]:
        api = async_client(server)
        try:
            whole = await api.chat.completions.create(model="m", messages=HELLO)
            stream = await api.chat.completions.create(model="m", messages=HELLO, stream=True)
            pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            return whole.choices[0].message.content or "", "".join(pieces)
        finally:
            await api.close()

    whole, streamed = asyncio.run(run())
    assert whole == streamed and "garden" in whole


def test_models_endpoint_lists_the_configured_model() -> None:
    with MockOpenAIServer(model="tiny-persona") as server:
        assert [m.id for m in client(server).models.list()] == ["tiny-persona"]


# -- replies and recording -----------------------------------------------------------------------


def test_scripted_replies_come_first_then_the_responder(server: MockOpenAIServer) -> None:
    server.responder = lambda body: f"{len(body['messages'])} messages seen"
    server.enqueue_reply("first", "second")
    api = client(server)
    texts = [api.chat.completions.create(model="m", messages=HELLO).choices[0].message.content for _ in range(3)]
    assert texts == ["first", "second", "1 messages seen"]


def test_every_request_body_and_header_is_recorded(server: MockOpenAIServer) -> None:
    messages = [{"role": "system", "content": "You are Ada, a wary client."}, *HELLO]
    client(server).chat.completions.create(model="persona", messages=messages, temperature=0.3)
    (recorded,) = server.received
    assert recorded.body["messages"] == messages and recorded.body["temperature"] == 0.3
    assert recorded.path == "/v1/chat/completions" and recorded.headers["authorization"] == "Bearer test-key"
    assert server.requests == [recorded.body]
    server.reset()
    assert server.requests == []


def test_tool_call_returned_when_tools_are_given_and_reply_is_json(server: MockOpenAIServer) -> None:
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}
    api = client(server)
    server.enqueue_reply('{"city": "Oslo"}', '{"city": "Oslo"}', "plain words")
    reply = api.chat.completions.create(model="m", messages=HELLO, tools=[tool])
    (call,) = reply.choices[0].message.tool_calls or []
    assert call.function.name == "lookup" and json.loads(call.function.arguments) == {"city": "Oslo"}
    assert reply.choices[0].finish_reason == "tool_calls" and reply.choices[0].message.content is None
    chunks = list(api.chat.completions.create(model="m", messages=HELLO, tools=[tool], stream=True))
    arguments = "".join(tc.function.arguments or "" for c in chunks for tc in c.choices[0].delta.tool_calls or [])
    assert json.loads(arguments) == {"city": "Oslo"}
    assert api.chat.completions.create(model="m", messages=HELLO, tools=[tool]).choices[0].message.content == "plain words"


def test_json_object_format_gets_a_json_reply_by_default(server: MockOpenAIServer) -> None:
    reply = client(server).chat.completions.create(model="m", messages=HELLO, response_format={"type": "json_object"})
    assert "garden" in json.loads(reply.choices[0].message.content or "")["reply"]


# -- langchain ------------------------------------------------------------------------------------


def test_chat_openai_invokes_and_streams(server: MockOpenAIServer) -> None:
    model = chat_model(server)
    assert "garden" in str(model.invoke("Tell me about your garden").content)
    streamed = "".join(str(chunk.content) for chunk in model.stream("Tell me about your garden"))
    assert streamed == model.invoke("Tell me about your garden").content


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_structured_output_works_with_default_and_scripted_replies(server: MockOpenAIServer, method: str) -> None:
    judge = chat_model(server).with_structured_output(Grade, method=method)
    default = judge.invoke("Grade this conversation.")
    assert isinstance(default, Grade) and 1 <= default.score <= 5
    server.enqueue_reply(json.dumps({"score": 4, "rationale": "Warm opening.", "strengths": ["empathy"]}))
    assert judge.invoke("Grade this conversation.") == Grade(score=4, rationale="Warm opening.", strengths=["empathy"])
    body = server.requests[-1]
    assert ("response_format" in body) == (method == "json_schema") and ("tools" in body) == (method != "json_schema")


def test_structured_output_streams_with_function_calling(server: MockOpenAIServer) -> None:
    server.enqueue_reply(json.dumps({"score": 2, "rationale": "Rushed.", "strengths": []}))
    judge = chat_model(server).with_structured_output(Grade, method="function_calling")
    assert list(judge.stream("Grade it."))[-1] == Grade(score=2, rationale="Rushed.", strengths=[])


def test_example_from_schema_validates_nested_pydantic_models() -> None:
    class Evidence(BaseModel):
        quote: str = Field(min_length=12)
        turn: int = Field(gt=0)

    class Verdict(BaseModel):
        label: Literal["good", "bad"]
        confidence: float = Field(ge=0, le=1)
        evidence: list[Evidence] = Field(min_length=2)
        note: str | None = None
        main: Evidence

    Verdict.model_validate(example_from_schema(Verdict.model_json_schema()))


# -- faults -----------------------------------------------------------------------------------------


def test_rate_limit_raises_with_retry_after_and_is_retried(server: MockOpenAIServer) -> None:
    server.enqueue_fault(Fault(kind=FaultKind.RATE_LIMIT, retry_after=0.01))
    with pytest.raises(openai.RateLimitError) as caught:
        client(server).chat.completions.create(model="m", messages=HELLO)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.response.headers["retry-after-ms"] == "10"
    server.enqueue_fault(Fault(kind=FaultKind.RATE_LIMIT, retry_after=0.01))
    reply = client(server, max_retries=2).chat.completions.create(model="m", messages=HELLO)
    assert reply.choices[0].message.content and len(server.requests) == 3
    assert [r.headers["x-stainless-retry-count"] for r in server.received[1:]] == ["0", "1"]


def test_server_error_raises_and_scripted_reply_waits_for_the_retry(server: MockOpenAIServer) -> None:
    server.enqueue_fault("server_error")
    with pytest.raises(openai.InternalServerError):
        client(server).chat.completions.create(model="m", messages=HELLO)
    server.enqueue_fault("server_error")
    server.enqueue_reply("after the retry")
    api = client(server, max_retries=1)
    assert api.chat.completions.create(model="m", messages=HELLO).choices[0].message.content == "after the retry"


def test_timeout_hangs_one_request_without_blocking_others(server: MockOpenAIServer) -> None:
    server.enqueue_fault(Fault(kind=FaultKind.TIMEOUT, hang_seconds=30))
    outcome: list[BaseException] = []

    def hang() -> None:
        try:
            client(server, timeout=1.5).chat.completions.create(model="m", messages=HELLO)
        except openai.APITimeoutError as error:
            outcome.append(error)

    hung = threading.Thread(target=hang)
    hung.start()
    while not server.requests:
        time.sleep(0.01)
    assert client(server).chat.completions.create(model="m", messages=HELLO).choices[0].message.content
    assert hung.is_alive()  # the other request was answered while this one still hangs
    hung.join()
    assert len(outcome) == 1


def test_timeout_is_retried_by_the_client(server: MockOpenAIServer) -> None:
    server.enqueue_fault("timeout")
    reply = client(server, timeout=0.3, max_retries=1).chat.completions.create(model="m", messages=HELLO)
    assert reply.choices[0].message.content and len(server.requests) == 2


def test_shutdown_releases_hung_requests() -> None:
    server = MockOpenAIServer(faults=[Fault(kind=FaultKind.TIMEOUT, hang_seconds=60)]).start()
    errors: list[BaseException] = []

    def hang() -> None:
        try:  # timeout=None: ChatOpenAI's default, which waits forever
            client(server, timeout=None).chat.completions.create(model="m", messages=HELLO)
        except openai.APIError as error:
            errors.append(error)

    hung = threading.Thread(target=hang)
    hung.start()
    while not server.requests:
        time.sleep(0.01)
    server.stop()
    hung.join(timeout=10)
    assert not hung.is_alive() and isinstance(errors[0], openai.InternalServerError)
    assert errors[0].status_code == 503


def test_stream_cut_drops_the_connection_without_done(server: MockOpenAIServer) -> None:
    server.enqueue_fault(Fault(kind=FaultKind.STREAM_CUT, cut_after_chunks=3))
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client(server).chat.completions.create(model="m", messages=HELLO, stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert len(received) == 3
    server.enqueue_fault("stream_cut")  # a non-streamed reply is cut halfway through its body
    with pytest.raises(openai.APIConnectionError):
        client(server).chat.completions.create(model="m", messages=HELLO)


def test_stream_cut_seen_by_chat_openai(server: MockOpenAIServer) -> None:
    server.enqueue_fault(Fault(kind=FaultKind.STREAM_CUT, cut_after_chunks=4))
    seen: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in chat_model(server).stream("Tell me about your garden"):
            seen.append(str(chunk.content))
    assert "".join(seen) == "I hear you "


def test_malformed_json_breaks_structured_output(server: MockOpenAIServer) -> None:
    server.enqueue_fault("malformed_json")
    with pytest.raises(pydantic.ValidationError):  # json_schema: the openai client's parse() fails
        chat_model(server).with_structured_output(Grade, method="json_schema").invoke("Grade it.")
    server.enqueue_fault("malformed_json")
    judge = chat_model(server).with_structured_output(Grade, method="function_calling", include_raw=True)
    result: dict[str, Any] = judge.invoke("Grade it.")  # type: ignore[assignment]
    assert result["parsed"] is None and result["raw"].invalid_tool_calls  # not an exception!
    server.enqueue_fault("malformed_json")
    text = client(server).chat.completions.create(model="m", messages=HELLO).choices[0].message.content or ""
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_api_key_is_checked_when_configured() -> None:
    with MockOpenAIServer(api_key="sk-right") as server:
        with pytest.raises(openai.AuthenticationError):
            client(server).chat.completions.create(model="m", messages=HELLO)
        with pytest.raises(openai.AuthenticationError):
            client(server).models.list()
        right = openai.OpenAI(base_url=server.base_url, api_key="sk-right", max_retries=0)
        assert right.chat.completions.create(model="m", messages=HELLO).choices[0].message.content


def test_server_wide_fault_hits_every_nth_request() -> None:
    with MockOpenAIServer(fault=Fault(kind=FaultKind.SERVER_ERROR), fault_every=2) as server:
        outcomes = []
        for _ in range(4):
            try:
                client(server).chat.completions.create(model="m", messages=HELLO)
                outcomes.append("ok")
            except openai.InternalServerError:
                outcomes.append("500")
        assert outcomes == ["ok", "500", "ok", "500"]


# -- latency and concurrency -------------------------------------------------------------------------


def test_64_concurrent_requests_overlap_their_latency() -> None:
    latency = 0.2

    async def run(server: MockOpenAIServer) -> float:
        api = async_client(server)
        try:
            ask = lambda i: api.chat.completions.create(model="m", messages=[{"role": "user", "content": f"q{i}"}])
            await asyncio.gather(*(ask(i) for i in range(64)))  # warm up: open the connections
            started = time.perf_counter()
            replies = await asyncio.gather(*(ask(i) for i in range(64)))
            assert len({r.choices[0].message.content for r in replies}) == 64
            return time.perf_counter() - started
        finally:
            await api.close()

    with MockOpenAIServer(latency=latency) as server:
        elapsed = asyncio.run(run(server))
    # A sanity check, not a benchmark: serialised calls would take 64 x 0.2 s = 12.8 s. The bound is loose
    # because the openai client itself spends ~3 ms CPU a call (~0.5 s here, ~1.2 s on a busy machine).
    assert latency <= elapsed < 16 * latency


def test_spread_stream_latency_paces_the_chunks() -> None:
    with MockOpenAIServer(latency=0.3, spread_stream_latency=True) as server:
        started = time.perf_counter()
        arrivals = [time.perf_counter() - started for _ in client(server).chat.completions.create(
            model="m", messages=HELLO, stream=True
        )]
    assert arrivals[-1] >= 0.25 and arrivals[-1] - arrivals[0] >= 0.1


# -- as a separate process ----------------------------------------------------------------------------


def test_cli_serves_on_the_printed_port_and_exits_cleanly() -> None:
    command = [sys.executable, "-m", "simulator.testing.openai_server", "--port", "0", "--print-port",
               "--latency", "0.01", "--api-key", "sk-cli"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        api = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-cli", max_retries=0, timeout=10)
        assert "garden" in (api.chat.completions.create(model="m", messages=HELLO).choices[0].message.content or "")
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
