"""Shared fixtures. Every test is offline: pytest-socket (see pyproject `addopts`) refuses any connection
that is not to loopback, so a test that reaches a remote model fails; the environment is isolated too."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

# Before anything imports huggingface_hub (it reads these once): gradio_client builds its request headers with it,
# which would look up huggingface.co and send telemetry. Subprocesses the tests start inherit them too.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

from simulator.persona import PersonaLibrary  # noqa: E402 - after the offline switches above
from simulator.settings import reset_settings  # noqa: E402

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
    reset_settings()  # (settings also rebuild whenever a variable changes; this drops a cache built elsewhere)
    yield
    reset_settings()


LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_local(host, *, literal_ok: bool) -> bool:
    """Loopback names, and address literals when resolving them asks no name server (getaddrinfo parses them)."""
    if host in (None, "", b""):
        return True  # a wildcard bind address, not a look-up
    name = (host.decode() if isinstance(host, bytes) else str(host)).strip("[]").rstrip(".").lower()
    if name in LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return False
    return literal_ok or address.is_loopback


@pytest.fixture(autouse=True)
def no_name_lookups(monkeypatch):
    """Fail any test that asks the system resolver for a name: pytest-socket only blocks the connection after it.

    Each refused look-up raises gaierror at once (no DNS query leaves the machine) and fails the test at teardown,
    even if the code under test swallowed the error.
    """
    asked: list[str] = []

    def guard(function, literal_ok=True):
        def lookup(host, *args, **kwargs):
            if not _is_local(host, literal_ok=literal_ok):
                asked.append(f"socket.{function.__name__}({host!r})")
                raise socket.gaierror(socket.EAI_NONAME, f"tests may not look up {host!r}")
            return function(host, *args, **kwargs)

        return lookup

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        monkeypatch.setattr(socket, name, guard(getattr(socket, name)))
    monkeypatch.setattr(socket, "gethostbyaddr", guard(socket.gethostbyaddr, literal_ok=False))  # a PTR query
    yield asked  # the guard's own test reads (and clears) what was refused
    if asked:
        pytest.fail("a test looked up a host name: " + ", ".join(asked), pytrace=False)


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
