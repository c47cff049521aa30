"""The local services the suite relies on answer real queries.

They skip when a service is absent, or fail when RT_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import pytest


@pytest.mark.services
def test_postgres_answers_a_query(postgres_url: str) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(sqlalchemy.text("select 40 + 2")).scalar_one() == 42
    engine.dispose()


@pytest.mark.services
def test_redis_round_trips_a_value(redis_url: str) -> None:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(redis_url)
    client.set("real_trade:test", b"ok", ex=10)
    assert client.get("real_trade:test") == b"ok"
    client.close()
