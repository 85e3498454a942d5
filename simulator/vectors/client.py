"""The Chroma client: a local directory by default, a Chroma server when RAPPORT_CHROMA_HOST is set.

Telemetry is always off, and chromadb is imported only inside these functions. A corrupted local directory is
moved aside and recreated: Chroma holds indexes only, and every index can be rebuilt from its source.
"""

from __future__ import annotations

import logging
import shutil
import threading
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..errors import RapportError
from ..paths import rapport_home
from ..settings import quiet_library, settings

PATH_ENV = "RAPPORT_CHROMA_PATH"
HOST_ENV = "RAPPORT_CHROMA_HOST"
PORT_ENV = "RAPPORT_CHROMA_PORT"
DEFAULT_PORT = 8000
HEARTBEAT_TIMEOUT = 5.0  # chromadb's HTTP client has no timeout at all; we check the server answers first
# How SQLite (through Chroma's Rust layer) reports a damaged database file.
CORRUPTION_MARKERS = ("file is not a database", "database disk image is malformed", "(code: 26)", "(code: 11)")
# ...and that the directory was deleted or replaced under an open client (SQLITE_READONLY_DBMOVED).
MOVED_MARKERS = ("(code: 1032)",)

log = logging.getLogger(__name__)


class VectorStoreError(RapportError):
    """The vector store cannot be reached or used; the message is one line and names the setting to change."""


class ChromaTarget(BaseModel):
    """Where the vectors live: a local directory, or a Chroma server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path | None = None
    host: str | None = None
    port: int = DEFAULT_PORT

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def describe(self) -> str:
        return f"Chroma server at {self.url}" if self.host else f"local vector store {self.path}"


def chroma_target() -> ChromaTarget:
    """The server named by RAPPORT_CHROMA_HOST/_PORT, else the directory RAPPORT_CHROMA_PATH (~/.rapport/chroma)."""
    current = settings()
    if current.chroma_host:
        raw_port = current.chroma_port or str(DEFAULT_PORT)
        if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
            raise VectorStoreError(f"{PORT_ENV}={raw_port!r} is not a port number (1-65535)")
        return ChromaTarget(host=current.chroma_host, port=int(raw_port))
    path = current.chroma_path.expanduser() if current.chroma_path else rapport_home() / "chroma"
    return ChromaTarget(path=path.absolute())


def import_chromadb() -> Any:
    """chromadb, imported with its anonymous telemetry switched off before any of its code runs."""
    quiet_library("ANONYMIZED_TELEMETRY")
    import chromadb

    return chromadb


def _settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


_clients: dict[ChromaTarget, Any] = {}
_lock = threading.RLock()


def vector_client(target: ChromaTarget | None = None) -> Any:
    """The process-wide Chroma client for `target` (default: from the environment), opened on first use."""
    target = target or chroma_target()
    with _lock:
        if target not in _clients:
            _clients[target] = _open_server(target) if target.host else _open_local(target)
        return _clients[target]


def close_clients() -> None:
    """Close every client this process opened (the next `vector_client` call opens afresh)."""
    with _lock:
        for target, client in list(_clients.items()):
            _close(target, client)
        _clients.clear()


def _close(target: ChromaTarget, client: Any) -> None:
    try:
        client.close()
        # chromadb 1.5's HttpClient.close() leaves the httpx sessions (and keep-alive sockets) of the client and
        # of the admin client it builds inside open.
        for owner in (client, getattr(client, "_admin_client", None)):
            session = getattr(getattr(owner, "_server", None), "_session", None)
            if session is not None:
                session.close()
    except Exception:  # closing a client whose store is already broken must not hide the real problem
        log.debug("closing the Chroma client for %s failed", target.describe(), exc_info=True)
    if target.path is not None:
        _forget_cached_system(target.path)


def _forget_cached_system(path: Path) -> None:
    # chromadb caches one System per directory, and keeps it even when starting it failed; a later client for
    # the same path would get that broken System back ("no attribute 'bindings'"), so drop it by hand.
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)


def is_corruption(error: BaseException) -> bool:
    """Whether `error` says the local SQLite file is damaged (as opposed to, say, a bad argument)."""
    text = str(error).lower()
    return any(marker in text for marker in CORRUPTION_MARKERS)


def is_store_moved(error: BaseException) -> bool:
    """Whether `error` says the local store was deleted or replaced while this process had it open."""
    return any(marker in str(error) for marker in MOVED_MARKERS)


def _open_local(target: ChromaTarget) -> Any:
    chromadb = import_chromadb()
    path = target.path
    assert path is not None
    if path.exists() and not path.is_dir():
        raise VectorStoreError(f"{PATH_ENV}: {path} is a file, not a directory; point {PATH_ENV} at a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VectorStoreError(
            f"cannot create the vector store directory {path} ({exc.strerror}); set {PATH_ENV}") from None
    try:
        return chromadb.PersistentClient(path=str(path), settings=_settings())
    except Exception as exc:
        _forget_cached_system(path)
        if not is_corruption(exc):
            raise VectorStoreError(f"cannot open the vector store {path}: {one_line(exc)}") from None
        _move_aside(path, exc)
    try:
        return chromadb.PersistentClient(path=str(path), settings=_settings())
    except Exception as exc:
        _forget_cached_system(path)
        raise VectorStoreError(f"cannot open the recreated vector store {path}: {one_line(exc)}") from None


def reset_client(target: ChromaTarget) -> None:
    """Close and forget the client of `target`; the next `vector_client` call opens it again."""
    with _lock:
        client = _clients.pop(target, None)
        if client is not None:
            _close(target, client)


def recover_local_store(target: ChromaTarget, error: BaseException) -> None:
    """Close the client of a damaged local store, move the directory aside; the next `vector_client` recreates it."""
    assert target.path is not None
    with _lock:
        reset_client(target)
        if target.path.exists():
            _move_aside(target.path, error)


def _move_aside(path: Path, error: BaseException) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        shutil.move(str(path), str(aside))
        path.mkdir(parents=True)
    except OSError as exc:
        raise VectorStoreError(f"the vector store {path} is damaged and cannot be moved aside ({exc.strerror}); "
                               f"delete it or set {PATH_ENV}") from None
    log.warning("The vector store %s was damaged (%s); moved it to %s and started a new one. "
                "Indexes are rebuilt as they are used.", path, one_line(error), aside.name)
    return aside


def unreachable(target: ChromaTarget, reason: str) -> VectorStoreError:
    """The one-line error for a Chroma server that does not answer."""
    return VectorStoreError(
        f"cannot reach the Chroma server at {target.url} ({HOST_ENV}={target.host}, {PORT_ENV}={target.port}): "
        f"{reason}; start it with `chroma run --path <dir> --host {target.host} --port {target.port}` "
        f"or unset {HOST_ENV} to use the local store"
    )


def _open_server(target: ChromaTarget) -> Any:
    heartbeat = f"{target.url}/api/v2/heartbeat"
    try:
        with urllib.request.urlopen(heartbeat, timeout=HEARTBEAT_TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise unreachable(target, f"heartbeat answered HTTP {exc.code}; is this a Chroma 1.x server?") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise unreachable(target, one_line(reason)) from None
    chromadb = import_chromadb()
    try:
        return chromadb.HttpClient(host=target.host, port=target.port, settings=_settings())
    except Exception as exc:
        raise unreachable(target, one_line(exc)) from None


def one_line(error: object) -> str:
    """An exception or reason as one short line."""
    text = " ".join(str(error).split())
    return text[:300] or type(error).__name__
