"""The database: SQLite in the Rapport home by default, PostgreSQL (or any SQLAlchemy URL) via RAPPORT_DATABASE_URL."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import sqlalchemy as sa

from ..errors import ConfigError
from ..paths import rapport_home

MIGRATIONS = Path(__file__).parent / "migrations"
_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()


def database_url() -> str:
    """RAPPORT_DATABASE_URL, else `sqlite:///<RAPPORT_HOME>/rapport.db`."""
    url = os.environ.get("RAPPORT_DATABASE_URL")
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
    """Apply every numbered migration that has not run yet."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except sa.exc.OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise ConfigError(f"cannot open the database at {where}: {str(exc.orig).strip()}; check RAPPORT_DATABASE_URL") from None


def dispose_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
