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
