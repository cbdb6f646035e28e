"""Database engine, sessions and migrations.

SQLite (the default) and PostgreSQL (``postgresql+psycopg://``) are supported. PostgreSQL gets a
bounded connection pool with pre-ping; SQLite gets a per-thread-safe connection setting and
foreign keys switched on. The schema is owned by alembic: with AUTO_MIGRATE=true (default) the
application runs ``alembic upgrade head`` at startup (serialised by an advisory lock on
PostgreSQL), so an empty database gets its tables before the first request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("ultra.db")

BACKEND_DIR = Path(__file__).resolve().parent.parent
ALEMBIC_INI = BACKEND_DIR / "alembic.ini"


def make_engine(url: str, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """Create the engine with settings suited to the backend."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 15},
            pool_pre_ping=True,
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        pool_timeout=10,
        hide_parameters=True,  # error messages (and so logs) never carry bound values
        connect_args={"connect_timeout": 5, "application_name": "ultra-mvp"},
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Session factory bound to ``engine``; objects stay usable after commit (no expiry)."""
    return sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session that is always closed (a FastAPI dependency body)."""
    session = factory()
    try:
        yield session
    finally:
        session.close()


def ping(engine: Engine) -> None:
    """Run SELECT 1; raise on failure."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def alembic_config(url: str) -> Any:
    """The alembic configuration of this backend (alembic.ini) pointed at ``url``."""
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(BACKEND_DIR / "alembic"))
    config.attributes["database_url"] = url
    config.attributes["configure_logging"] = False
    return config


def head_revision(url: str) -> str | None:
    """The newest migration revision in ``alembic/versions`` (what /health/ready expects)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The alembic revision the database is at (None when it was never migrated)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_to_head(url: str) -> None:
    """Run ``alembic upgrade head`` in-process."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")
