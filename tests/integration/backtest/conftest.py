"""Fixtures of the backtest tests: one simulator with a fixed history (seed 7, fixed start),
so the few days of 1h bars the tests backtest are the same on every run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from real_trade.sim import SimExchange
from tests.integration.backtest.backtest_support import START_MS


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No simulator URL or proxy from the environment interferes."""
    for name in ("RT_SIM_URL", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A simulator whose history ends at 2026-01-10 00:00 UTC (seed 7)."""
    with SimExchange(seed=7, start_ms=START_MS) as exchange:
        yield exchange
