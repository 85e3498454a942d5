"""Shared fixtures. Every test is offline: pytest-socket (see pyproject `addopts`) refuses any connection
that is not to loopback, so a test that reaches a remote model fails; the environment is isolated too."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simulator.persona import PersonaLibrary

REPO = Path(__file__).resolve().parent.parent
FOUNDING_PERSONAS = ["procurement-skeptic", "diabetes-newly-diagnosed", "disengaged-student"]


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory, monkeypatch):
    """No real keys, no user config: each test sees a fresh Rapport home and only what it sets itself."""
    for name in list(os.environ):
        if name.startswith("RAPPORT_") or name in {"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID"}:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("rapport-home")
    monkeypatch.setenv("RAPPORT_HOME", str(home))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.chdir(home)  # a rapport.toml in the developer's working copy must not leak into tests
    yield


@pytest.fixture(scope="session")
def library() -> PersonaLibrary:
    from simulator.persona.library import Origin
    from simulator.paths import bundled_personas_dir

    return PersonaLibrary([(bundled_personas_dir(), Origin.BUNDLED)])


@pytest.fixture(scope="session")
def mock_openai():
    """A local OpenAI-compatible server on 127.0.0.1 shared by the tests that need one."""
    from simulator.testing.openai_server import MockOpenAIServer

    with MockOpenAIServer() as server:
        yield server


@pytest.fixture
def openai_server(mock_openai):
    """The shared mock server with its default replies, nothing queued and nothing recorded."""
    from simulator.testing.mock_replies import default_responder

    mock_openai.reset()
    mock_openai.responder = default_responder
    yield mock_openai
    mock_openai.responder = default_responder
