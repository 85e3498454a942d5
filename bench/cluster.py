"""What several app processes share, started locally for the scale-out load and tests: a fresh schema on a local
PostgreSQL (as `make postgres` / scripts/start_postgres.sh sets it up) and a real `chroma run` server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# The role and database scripts/start_postgres.sh creates; RAPPORT_TEST_POSTGRES_URL names another.
POSTGRES_URL = os.environ.get("RAPPORT_TEST_POSTGRES_URL",
                              "postgresql+psycopg://rapport:rapport@127.0.0.1:5432/rapport_test")


class Unavailable(RuntimeError):
    """A service the cluster needs cannot be had on this machine (the message says which, and why)."""


@contextmanager
def fresh_schema(admin_url: str = POSTGRES_URL) -> Iterator[str]:
    """A new, empty schema; yields the database URL that puts every table in it (dropped afterwards), so each run
    starts from nothing and leaves nothing behind."""
    import sqlalchemy as sa

    schema = f"scale_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url)
    try:
        with admin.begin() as db:
            db.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach PostgreSQL means it is not there to use
        admin.dispose()
        raise Unavailable(f"PostgreSQL is not available at {admin_url} ({type(exc).__name__}); "
                          "`make postgres` starts one") from None
    try:
        yield f"{admin_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as db:
            db.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@dataclass
class ChromaServer:
    host: str
    port: int
    path: Path
    process: subprocess.Popen = field(repr=False)

    @property
    def env(self) -> dict[str, str]:
        """The variables that point an app process at this server."""
        return {"RAPPORT_CHROMA_HOST": self.host, "RAPPORT_CHROMA_PORT": str(self.port)}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def chroma_cli() -> str | None:
    beside_python = Path(sys.executable).parent / "chroma"
    return str(beside_python) if beside_python.exists() else shutil.which("chroma")


@contextmanager
def chroma_server(path: Path) -> Iterator[ChromaServer]:
    """`chroma run --path <path> --host 127.0.0.1 --port <free>`, once its heartbeat answers; stopped after.
    Raises `Unavailable` without the CLI, RuntimeError (with its log) when it does not come up."""
    cli = chroma_cli()
    if cli is None:
        raise Unavailable("the `chroma` CLI (installed with the chromadb package) is not on this machine")
    port = free_port()
    log_path = path.parent / f"chroma-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [cli, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=path.parent, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
    server = ChromaServer("127.0.0.1", port, path, process)
    deadline = time.monotonic() + 30
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"chroma run exited with {process.returncode}: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not answer within 30 s: {log_path.read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield server
    finally:
        server.stop()
