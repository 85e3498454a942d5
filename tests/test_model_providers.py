"""Model roles and providers: spec parsing, configuration precedence, and the real openai client on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from simulator.config import ModelSpec, Role, parse_model_spec, resolve_model_spec
from simulator.errors import ConfigError, ModelError
from simulator.models import build_chat_model, chat_model_for
from simulator.session import Delta, Session


def test_spec_strings():
    assert parse_model_spec("embedded") == ModelSpec(provider="embedded", source="command line")
    spec = parse_model_spec("openai:llama3.1@http://127.0.0.1:11434/v1")
    assert (spec.provider, spec.model, spec.base_url) == ("openai", "llama3.1", "http://127.0.0.1:11434/v1")
    assert parse_model_spec("embedded:/models/x.gguf").model == "/models/x.gguf"
    with pytest.raises(ConfigError, match="unknown model provider 'anthropic'"):
        parse_model_spec("anthropic:claude")


def test_defaults_without_and_with_an_openai_key(monkeypatch):
    assert resolve_model_spec(Role.PERSONA).is_embedded_default
    assert resolve_model_spec(Role.JUDGE) is None  # the embedded model is never the judge by default
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    spec = resolve_model_spec(Role.PERSONA)
    assert (spec.provider, spec.model) == ("openai", "gpt-4o-mini")
    assert resolve_model_spec(Role.JUDGE).provider == "openai"


def test_environment_beats_rapport_toml_which_beats_defaults(tmp_path, monkeypatch):
    (tmp_path / "rapport.toml").write_text(
        '[models.persona]\nprovider = "openai"\nmodel = "qwen2.5"\nbase_url = "http://127.0.0.1:8000/v1"\n'
        '[models.judge]\nprovider = "openai"\nmodel = "big-judge"\n'
    )
    monkeypatch.chdir(tmp_path)
    assert resolve_model_spec("persona").model == "qwen2.5"
    assert resolve_model_spec("judge").model == "big-judge"
    assert resolve_model_spec("learner").is_embedded_default
    monkeypatch.setenv("RAPPORT_PERSONA_MODEL", "openai:llama3.1@http://127.0.0.1:11434/v1")
    spec = resolve_model_spec("persona")
    assert spec.model == "llama3.1" and spec.source == "RAPPORT_PERSONA_MODEL"
    assert resolve_model_spec("persona", "fake").provider == "fake"  # the command line wins


def test_bad_rapport_toml_names_file_and_field(tmp_path, monkeypatch):
    (tmp_path / "rapport.toml").write_text('[models.persona]\nprovider = "openai"\ntemprature = 0.2\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"rapport.toml: models.persona.temprature: Extra inputs are not permitted"):
        resolve_model_spec("persona")


def test_missing_key_for_a_remote_endpoint_names_the_variable():
    with pytest.raises(ConfigError) as caught:
        chat_model_for("persona", "openai:gpt-4o-mini")
    assert "set OPENAI_API_KEY" in str(caught.value) and "\n" not in str(caught.value)


def _persona(library):
    return library.get("procurement-skeptic")


def test_openai_client_streams_a_persona_reply_from_a_local_server(library, openai_server):
    openai_server.enqueue_reply("Veritrack promised six months. It took eighteen, and two sites never went live.")
    spec = ModelSpec(provider="openai", model="mock-gpt", base_url=openai_server.base_url)
    session = Session(_persona(library), build_chat_model(spec), model_spec=spec, nonverbal=False)
    events = list(session.send_sync("What happened with Veritrack?"))
    assert sum(isinstance(e, Delta) for e in events) > 3
    assert session.turns[-1].text.startswith("Veritrack promised six months.")
    [request] = openai_server.requests
    assert request["stream"] is True and request["model"] == "mock-gpt"
    assert request["messages"][0]["role"] == "system" and "Dana Whitfield" in request["messages"][0]["content"]
    assert request["messages"][-2] == {"role": "user", "content": "What happened with Veritrack?"}
    # what changes each turn (feeling, plan) comes last, after the conversation, so the prefix stays the same
    assert request["messages"][-1]["role"] == "system" and request["messages"][-1]["content"].startswith("(Note:")


def test_stream_cut_in_the_middle_is_retried_without_losing_anything(library, openai_server):
    openai_server.enqueue_fault("stream_cut")
    openai_server.enqueue_reply("Partial reply that will be cut off somewhere.", "We need all three sites live.")
    spec = ModelSpec(provider="openai", model="mock-gpt", base_url=openai_server.base_url)
    session = Session(_persona(library), build_chat_model(spec), model_spec=spec, nonverbal=False)
    events = list(session.send_sync("What do you need?"))
    assert session.turns[-1].text == "We need all three sites live."
    assert any(type(e).__name__ == "Reset" for e in events)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_gives_one_line_naming_the_setting(library):
    spec = ModelSpec(provider="openai", model="llama3.1", base_url=f"http://127.0.0.1:{_free_port()}/v1", max_retries=0)
    session = Session(_persona(library), build_chat_model(spec), model_spec=spec, nonverbal=False)
    with pytest.raises(ModelError) as caught:
        list(session.send_sync("Hello?"))
    message = str(caught.value)
    assert message.startswith(f"cannot reach the persona model at {spec.base_url}")
    assert "RAPPORT_PERSONA_BASE_URL" in message and "\n" not in message
    assert session.awaiting_reply  # the learner's message is kept for a retry


def test_rejected_key_names_the_variable(library, openai_server, monkeypatch):
    openai_server.config.api_key = "right-key"
    try:
        monkeypatch.setenv("MY_KEY", "wrong-key")
        spec = ModelSpec(provider="openai", model="m", base_url=openai_server.base_url, api_key_env="MY_KEY")
        session = Session(_persona(library), build_chat_model(spec), model_spec=spec, nonverbal=False)
        with pytest.raises(ModelError, match="rejected the API key in MY_KEY"):
            list(session.send_sync("Hello?"))
    finally:
        openai_server.config.api_key = None


def test_the_guard_refuses_remote_hosts():
    from pytest_socket import SocketConnectBlockedError

    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("93.184.215.14", 443), timeout=2)


def test_a_model_call_to_a_remote_host_fails_inside_tests(library, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-a-real-key")
    # A remote address literal (TEST-NET-3): the socket guard refuses it with no DNS look-up of a public name.
    spec = ModelSpec(provider="openai", model="gpt-4o-mini", base_url="https://203.0.113.1/v1", max_retries=0)
    session = Session(_persona(library), build_chat_model(spec), model_spec=spec, nonverbal=False)
    with pytest.raises(ModelError, match=r"the persona model .*https://203\.0\.113\.1/v1") as caught:
        list(session.send_sync("Hello?"))
    from pytest_socket import SocketConnectBlockedError

    causes, seen = [caught.value], []
    while causes:  # the guard's refusal, however deep the client library wrapped it
        error = causes.pop()
        if any(error is known for known in seen):
            continue
        seen.append(error)
        causes += [e for e in (error.__cause__, error.__context__, *getattr(error, "exceptions", ())) if e is not None]
    assert any(isinstance(error, SocketConnectBlockedError) for error in seen)
