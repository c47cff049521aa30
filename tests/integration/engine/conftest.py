"""Fixtures of the engine's integration tests: an accelerated simulator per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from real_trade.sim import SimExchange
from tests.integration.engine.runner_support import SPEED


@pytest.fixture
def fast_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimExchange]:
    """An accelerated simulator; no proxy or RT_ variable from the environment interferes."""
    for name in ("RT_SIM_URL", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with SimExchange(speed=SPEED, seed=11) as sim:
        yield sim
