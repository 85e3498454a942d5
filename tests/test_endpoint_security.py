"""Model endpoints are the operator's: a Settings user cannot make the server send its key to a URL they typed, nor
open a file path; user endpoints, when the operator allows them, carry only the user's own key, which is never stored.

Two local OpenAI-compatible servers on 127.0.0.1 record request headers: `elsewhere` stands for any URL a user
types, `openai_server` for the endpoint the operator configured.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest
from gradio_client import Client
from langchain_core.messages import HumanMessage

from rapport.ui import PersonaModel, build_app
from rapport.ui.context import AppContext, LibraryHolder
from rapport.ui.settings import OWN, chosen, options, check_connection, use_choices
from simulator.config import ModelSpec, Role, UserEndpoint, named_endpoints, user_endpoint
from simulator.errors import ConfigError
from simulator.models import build_chat_model
from simulator.store.sessions import SessionStore
from simulator.testing.openai_server import MockOpenAIServer

from .browser_support import served

OPERATOR_KEY = "sk-operator-secret"
USER_KEY = "sk-user-own-key-123"


@pytest.fixture
def elsewhere():
    """The server behind a URL a user types."""
    with MockOpenAIServer() as server:
        yield server


@pytest.fixture
def operator_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", OPERATOR_KEY)


@pytest.fixture
def client_offline(monkeypatch):
    """gradio_client builds its headers with huggingface_hub, which would look up huggingface.co (and send telemetry)."""
    import huggingface_hub.constants as hub

    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub, "HF_HUB_DISABLE_TELEMETRY", True)


def bearer(server: MockOpenAIServer) -> list[str]:
    return [r.headers.get("authorization", "") for r in server.received]


def context(library) -> AppContext:
    return AppContext(LibraryHolder(library), PersonaModel(ModelSpec(provider="fake")))


def typed_inputs(server: MockOpenAIServer) -> list[str]:
    return [f"openai:x@{server.base_url}", server.base_url, "fake:/etc/passwd", "embedded:/etc/passwd",
            f"endpoint:x@{server.base_url}", "own"]


def test_the_app_never_sends_the_operator_key_to_a_typed_url(library, elsewhere, operator_key, client_offline):
    with served(build_app(library, PersonaModel(ModelSpec(provider="fake")))) as url:
        client = Client(url, verbose=False)
        for typed in typed_inputs(elsewhere):
            for api_name, args in (("/check_persona", (typed,)), ("/check_judge", (typed,)),
                                   ("/use_choices", (typed, typed))):
                try:
                    answer = str(client.predict(*args, api_name=api_name))
                except Exception as exc:  # noqa: BLE001 - gradio refuses a value that is not one of the choices
                    answer = str(exc)
                assert "answered in" not in answer and OPERATOR_KEY not in answer
        client.predict("disengaged-student", "medium", api_name="/start")  # with the default, never the typed URL
    assert elsewhere.received == []


def test_typed_specs_urls_and_paths_are_refused_in_one_line(library, elsewhere, operator_key, tmp_path):
    secret_file = tmp_path / "replies.json"
    secret_file.write_text('["the contents of a server file"]')
    ctx = context(library)
    for typed in [*typed_inputs(elsewhere), f"fake:{secret_file}"]:
        for role in (Role.PERSONA, Role.JUDGE):
            result = asyncio.run(check_connection(ctx, typed, role, elsewhere.base_url, "x", ""))
            assert result.startswith("✗") and "\n" not in result, result
            assert "contents of a server file" not in result
        persona, judge, message = use_choices(typed, "default", elsewhere.base_url, "x", "")
        assert message.startswith("✗") and "\n" not in message and not isinstance(persona, ModelSpec)
    assert "own endpoint" not in str(options(Role.PERSONA, None))  # not offered while the operator has not allowed it
    with pytest.raises(ConfigError, match="only uses the endpoints its operator configured"):
        user_endpoint(elsewhere.base_url, "x", USER_KEY)
    assert elsewhere.received == []


def test_the_model_layer_never_gives_a_user_endpoint_the_environment_key(elsewhere, operator_key, monkeypatch):
    spec = UserEndpoint(base_url=elsewhere.base_url, model="m", api_key_env="OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="only uses the endpoints its operator configured"):
        build_chat_model(spec)  # not allowed: not even built
    monkeypatch.setenv("RAPPORT_ALLOW_USER_ENDPOINTS", "1")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # the operator's default URL is not the user's
    build_chat_model(spec).invoke([HumanMessage("Hi")])
    build_chat_model(UserEndpoint(base_url=elsewhere.base_url, model="m", api_key=USER_KEY)).invoke([HumanMessage("Hi")])
    assert bearer(elsewhere) == ["Bearer not-needed", f"Bearer {USER_KEY}"]


def test_user_endpoints_must_be_plain_http_urls(monkeypatch):
    monkeypatch.setenv("RAPPORT_ALLOW_USER_ENDPOINTS", "1")
    for bad in ("file:///etc/passwd", "ftp://127.0.0.1/v1", "127.0.0.1:8000/v1", "javascript:alert(1)",
                "http://user:pw@127.0.0.1/v1", "http://127.0.0.1/v1\nHost: x", "http://[::1/v1", "http:///v1"):
        with pytest.raises(ConfigError) as caught:
            user_endpoint(bad, "m", USER_KEY)
        assert str(caught.value).startswith("your own endpoint: URL:") and "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="model name"):
        user_endpoint("https://example.org/v1", "", USER_KEY)
    monkeypatch.setenv("RAPPORT_ALLOW_USER_ENDPOINTS", "maybe")
    with pytest.raises(ConfigError, match="RAPPORT_ALLOW_USER_ENDPOINTS"):
        user_endpoint("https://example.org/v1", "m", USER_KEY)


def test_a_user_key_goes_only_to_the_user_url_and_is_never_stored(library, elsewhere, operator_key, monkeypatch,
                                                                   caplog, client_offline):
    monkeypatch.setenv("RAPPORT_ALLOW_USER_ENDPOINTS", "1")
    caplog.set_level(logging.DEBUG)
    own = (elsewhere.base_url, "user-model", USER_KEY)
    with served(build_app(library, PersonaModel(ModelSpec(provider="fake")))) as url:
        client = Client(url, verbose=False)
        assert "answered in" in client.predict(OWN, *own, api_name="/check_persona")
        used = client.predict(OWN, OWN, *own, api_name="/use_choices")
        assert "your own endpoint" not in used and "user-model" in used and USER_KEY not in used
        client.predict("disengaged-student", "medium", api_name="/start")
        client.predict("Hello there, how are you?", api_name="/send")
        client.predict(api_name="/end")  # graded by the user's endpoint as judge
    assert len(elsewhere.received) >= 3 and set(bearer(elsewhere)) == {f"Bearer {USER_KEY}"}
    assert {r["model"] for r in elsewhere.requests} == {"user-model"}

    store = SessionStore()
    [summary] = store.list(learner_id=None)
    assert "user-model" in summary.model  # the session ran on the user's endpoint...
    exported = store.export(summary.id, learner_id=summary.learner_id).model_dump_json()
    assert USER_KEY not in exported and OPERATOR_KEY not in exported  # ...and its key is stored nowhere
    for path in Path(os.environ["RAPPORT_HOME"]).rglob("*"):
        if path.is_file():
            assert USER_KEY.encode() not in path.read_bytes(), path
    assert USER_KEY not in caplog.text and OPERATOR_KEY not in caplog.text


def test_the_user_key_is_in_no_dump_or_repr_and_users_never_share_a_model(library, elsewhere, monkeypatch):
    monkeypatch.setenv("RAPPORT_ALLOW_USER_ENDPOINTS", "1")
    mine = user_endpoint(elsewhere.base_url, "m", USER_KEY)
    for text in (repr(mine), str(mine), mine.model_dump_json(), str(mine.model_dump()), mine.label):
        assert USER_KEY not in text
    assert "tok-123" not in user_endpoint(elsewhere.base_url + "?token=tok-123", "m").label  # the label is stored
    theirs = user_endpoint(elsewhere.base_url, "m", "sk-someone-else")
    ctx = context(library)
    for spec in (mine, theirs):
        ctx.model_for(spec)[1].invoke([HumanMessage("Hi")])
    assert bearer(elsewhere) == [f"Bearer {USER_KEY}", "Bearer sk-someone-else"]


def test_an_operator_endpoint_still_gets_its_key(library, openai_server, elsewhere, operator_key, monkeypatch,
                                                 tmp_path):
    (tmp_path / "rapport.toml").write_text(
        f'[endpoints.team]\nprovider = "openai"\nmodel = "team-model"\nbase_url = "{openai_server.base_url}"\n'
        '[endpoints.other]\nprovider = "openai"\nmodel = "m"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "OTHER_KEY"\n')
    monkeypatch.chdir(tmp_path)
    assert list(named_endpoints()) == ["team", "other"]
    assert ("team: openai:team-model @ " + openai_server.base_url, "endpoint:team") in options(Role.PERSONA, None)
    result = asyncio.run(check_connection(context(library), "endpoint:team", Role.PERSONA))
    assert result.startswith("✓ openai:team-model"), result
    assert bearer(openai_server) == [f"Bearer {OPERATOR_KEY}"]
    persona, judge, message = use_choices("endpoint:team", "offline")
    assert persona == named_endpoints()["team"] and judge == "offline" and "offline coder only" in message
    monkeypatch.setenv("RAPPORT_JUDGE_MODEL", f"openai:judge@{openai_server.base_url}")
    ctx = context(library)
    assert ctx.grader_for(judge).judge_model is None and ctx.grader_for(None).judge_spec.model == "judge"
    with pytest.raises(ConfigError, match="unknown persona model 'endpoint:nope'"):
        chosen("endpoint:nope", Role.PERSONA, elsewhere.base_url)
    assert elsewhere.received == []


def test_endpoint_tables_take_no_inline_key_and_bad_names_are_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "rapport.toml"
    config.write_text('[endpoints.team]\nprovider = "openai"\nbase_url = "http://127.0.0.1:9/v1"\napi_key = "sk-x"\n')
    with pytest.raises(ConfigError, match=r"endpoints.team.api_key: Extra inputs are not permitted"):
        named_endpoints()
    config.write_text('[endpoints."bad name"]\nprovider = "openai"\n')
    with pytest.raises(ConfigError, match="endpoints.bad name: use letters"):
        named_endpoints()


def test_rapport_models_lists_and_tests_the_operator_endpoints(tmp_path):
    from .test_cli import rapport

    config = tmp_path / "rapport.toml"
    config.write_text('[endpoints.team]\nprovider = "openai"\nmodel = "team-model"\nbase_url = "http://127.0.0.1:9/v1"\n'
                      'max_retries = 0\n')
    shown = rapport("models", RAPPORT_CONFIG=str(config))
    assert shown.returncode == 0, shown.stderr
    assert "endpoint team" in shown.stdout and "openai:team-model @ http://127.0.0.1:9/v1" in shown.stdout
    assert "not allowed" in shown.stdout  # own endpoints in Settings are off by default
    tested = rapport("models", "test", "--endpoint", "team", RAPPORT_CONFIG=str(config))
    assert tested.returncode == 1 and tested.stderr.startswith("error: cannot reach the persona model at http://127.0.0.1:9/v1")
    unknown = rapport("models", "test", "--endpoint", "nope", RAPPORT_CONFIG=str(config))
    assert unknown.returncode == 1 and unknown.stderr == "error: no endpoint named 'nope' in rapport.toml (known: team)\n"
