"""Fixtures shared by the whole suite: real PostgreSQL and Redis when present."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support import require_service

POSTGRES_URL = os.environ.get(
    "RT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("RT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of a reachable PostgreSQL test database (skips or fails when absent)."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    yield POSTGRES_URL


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A URL of a reachable Redis (database 15, for tests); skips or fails when absent."""
    require_service("Redis", "127.0.0.1", 6379)
    yield REDIS_URL


@pytest.fixture(params=["sqlite", "postgres"])
def journal_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A journal URL: a SQLite file in ``tmp_path``, or a fresh PostgreSQL database.

    The PostgreSQL database is uniquely named, created through the ``postgres_url`` server (so
    it skips or fails like that fixture) and dropped afterwards, so parallel runs never collide.
    """
    yield from journal_database(request.param, request, tmp_path)


def journal_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: object
) -> Iterator[str]:
    """The body of :func:`journal_url` for one ``backend`` (``"sqlite"`` or ``"postgres"``),
    for a module that pairs backends with another parameter itself."""
    import uuid
    from pathlib import Path

    import sqlalchemy as sa

    if backend == "sqlite":
        yield f"sqlite:///{Path(str(tmp_path)) / 'journal.db'}"
        return
    server = sa.engine.make_url(request.getfixturevalue("postgres_url"))
    name = f"rt_journal_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
