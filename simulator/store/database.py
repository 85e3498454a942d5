"""The database: SQLite in the Rapport home by default, PostgreSQL (or any SQLAlchemy URL) via RAPPORT_DATABASE_URL."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import sqlalchemy as sa

from ..errors import ConfigError
from ..paths import rapport_home
from ..settings import settings

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; migrations there are not serialised
    fcntl = None

MIGRATIONS = Path(__file__).parent / "migrations"
_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()


def database_url() -> str:
    """RAPPORT_DATABASE_URL, else `sqlite:///<RAPPORT_HOME>/rapport.db`."""
    url = settings().database_url
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    home = rapport_home()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'rapport.db'}"


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer; a crash loses no committed turn
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def engine_for(url: str | None = None) -> sa.Engine:
    """One migrated engine per URL per process."""
    url = url or database_url()
    with _lock:
        if url not in _engines:
            try:
                engine = sa.create_engine(url, pool_pre_ping=True,
                                          connect_args={"check_same_thread": False} if url.startswith("sqlite") else {})
            except (sa.exc.ArgumentError, ImportError) as exc:
                raise ConfigError(f"RAPPORT_DATABASE_URL is not a usable database URL ({url}): {exc}") from None
            if url.startswith("sqlite"):
                sa.event.listen(engine, "connect", _sqlite_pragmas)
            migrate(engine)
            _engines[url] = engine
        return _engines[url]


def migrate(engine: sa.Engine) -> None:
    """Apply every numbered migration that has not run yet; safe when several processes open a fresh database.

    Without a lock, two processes both see no tables and both create them, and the slower one fails with
    "table sessions already exists". So migrating is serialised: a file lock next to a SQLite database, an
    advisory lock (held until commit) on PostgreSQL; the second process then finds the schema at head.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with _sqlite_file_lock(engine), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except sa.exc.OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise ConfigError(f"cannot open the database at {where}: {str(exc.orig).strip()}; check RAPPORT_DATABASE_URL") from None


_PG_MIGRATION_LOCK = 0x52415050  # any fixed 64-bit key: "RAPP"


@contextlib.contextmanager
def _sqlite_file_lock(engine: sa.Engine):
    """An exclusive lock on `<database>.lock` while migrating a SQLite file (no-op elsewhere)."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if fcntl is None or not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    try:
        handle = open(f"{path}.lock", "a+b")  # noqa: SIM115 - held open for the whole with-block
    except OSError:  # a read-only folder: nobody can create tables there either, so nothing to serialise
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def dispose_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
