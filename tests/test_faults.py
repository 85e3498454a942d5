"""Provider faults: 429, 500, timeouts, streams cut mid-reply, malformed judge JSON. Each is retried with backoff
and jitter where that makes sense; then the user gets a clear message and a retry; nothing is lost."""

from __future__ import annotations

import asyncio

import pytest

from evals.judge import Judge, JudgeError
from evals.rubric import load_rubric
from simulator.config import ModelSpec
from simulator.errors import ModelError
from simulator.models import build_chat_model
from simulator.session import Reset, Session
from simulator.testing.mock_config import Fault

QUESTION = "What went wrong with Veritrack?"


def session_on(server, library, **spec_options) -> Session:
    spec = ModelSpec(provider="openai", model="mock", base_url=server.base_url, **spec_options)
    return Session(library.get("procurement-skeptic"), build_chat_model(spec), model_spec=spec, nonverbal=False)


def attempts(server) -> list[int]:
    """The openai client's retry counter on each request the server saw."""
    return [int(r.headers.get("x-stainless-retry-count", 0)) for r in server.received]


def assert_nothing_lost(session: Session) -> None:
    assert session.turns[1].text == QUESTION and session.awaiting_reply


@pytest.mark.parametrize("kind", ["rate_limit", "server_error"])
def test_transient_http_errors_are_retried_with_backoff(openai_server, library, kind):
    openai_server.enqueue_fault(Fault(kind=kind, retry_after=0.1))
    openai_server.enqueue_reply("Eighteen months, one site live.")
    session = session_on(openai_server, library)
    list(session.send_sync(QUESTION))
    assert session.turns[-1].text == "Eighteen months, one site live."
    assert attempts(openai_server) == [0, 1]  # the same request, retried once


@pytest.mark.parametrize(("kind", "message"), [
    ("rate_limit", r"is rate-limiting requests \(429\) even after retries"),
    ("server_error", "answered HTTP 500"),
])
def test_persistent_http_errors_give_a_clear_message_and_a_retry(openai_server, library, kind, message):
    openai_server.enqueue_fault(*[Fault(kind=kind, retry_after=0.05)] * 3)
    session = session_on(openai_server, library, max_retries=2)
    with pytest.raises(ModelError, match=message):
        list(session.send_sync(QUESTION))
    assert attempts(openai_server) == [0, 1, 2]
    assert_nothing_lost(session)
    openai_server.enqueue_reply("Fine. Where were we?")
    list(session.retry_sync())
    assert session.turns[-1].text == "Fine. Where were we?" and not session.awaiting_reply


def test_a_timeout_is_retried_then_reported_and_the_message_kept(openai_server, library):
    openai_server.enqueue_fault(*[Fault(kind="timeout", hang_seconds=30)] * 2)
    session = session_on(openai_server, library, timeout=0.5, max_retries=1)
    with pytest.raises(ModelError, match=r"did not answer within 0.5s \(after retries\)"):
        list(session.send_sync(QUESTION))
    assert attempts(openai_server) == [0, 1]
    assert_nothing_lost(session)
    openai_server.enqueue_reply("Sorry, I was on another call.")
    list(session.retry_sync())
    assert session.turns[-1].text == "Sorry, I was on another call."


def test_a_stream_cut_mid_reply_is_retried_and_reported_if_it_persists(openai_server, library):
    openai_server.enqueue_fault(Fault(kind="stream_cut", cut_after_chunks=3))
    openai_server.enqueue_reply("This reply will be cut off halfway through.", "We need all three sites live.")
    session = session_on(openai_server, library)
    events = list(session.send_sync(QUESTION))
    assert any(isinstance(e, Reset) for e in events)  # the half reply shown so far is withdrawn
    assert session.turns[-1].text == "We need all three sites live."

    openai_server.enqueue_fault(*[Fault(kind="stream_cut", cut_after_chunks=2)] * 2)
    openai_server.enqueue_reply("Cut once.", "Cut twice.")
    with pytest.raises(ModelError, match="the persona model at .* failed|cannot reach"):
        list(session.send_sync("And what would success look like?"))
    assert session.turns[-1].text == "And what would success look like?" and session.awaiting_reply


def test_malformed_judge_json_is_retried_then_reported(openai_server, library):
    from .test_evaluator import judge_reply, transcript_of

    rubric = load_rubric()
    spec = ModelSpec(provider="openai", model="judge", base_url=openai_server.base_url)
    transcript = transcript_of("We were burned before.", QUESTION)
    openai_server.enqueue_fault("malformed_json")
    openai_server.enqueue_reply("ignored: the fault sends broken JSON instead", judge_reply(rubric, 4, (1, QUESTION)))
    card = asyncio.run(Judge(build_chat_model(spec, "judge"), spec, rubric).grade(transcript))
    assert card.criteria["empathy"].score == 4 and len(openai_server.requests) == 2

    openai_server.reset()
    openai_server.enqueue_fault(*["malformed_json"] * 3)
    openai_server.enqueue_reply(*["x"] * 3)
    with pytest.raises(JudgeError, match="answered in the wrong shape 3 times"):
        asyncio.run(Judge(build_chat_model(spec, "judge"), spec, rubric).grade(transcript))
