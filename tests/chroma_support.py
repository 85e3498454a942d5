"""A real Chroma server (`chroma run`) on 127.0.0.1 for the tests that need one (vectors, scale-out)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from bench.cluster import ChromaServer, Unavailable, chroma_server as _chroma_server, free_port

__all__ = ["ChromaServer", "chroma_server", "free_port", "running_chroma", "use_server"]


@contextmanager
def running_chroma(path: Path) -> Iterator[ChromaServer]:
    """A `chroma run` server on a free port (see bench/cluster.py); skipped without the CLI, failed if it won't start."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(_chroma_server(path))
        except Unavailable as exc:
            pytest.skip(str(exc))
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory) -> Iterator[ChromaServer]:
    with running_chroma(tmp_path_factory.mktemp("chroma-server") / "data") as server:
        yield server


def use_server(monkeypatch, server: ChromaServer) -> None:
    monkeypatch.setenv("RAPPORT_CHROMA_HOST", server.host)
    monkeypatch.setenv("RAPPORT_CHROMA_PORT", str(server.port))
