"""A short soak (``bench/bench_soak.py``): 3 market hours, a reconnect every market half hour.

The full live feed path (``BinanceStore`` -> ``BinanceData`` with its native kline stream ->
Cerebro) against an accelerated simulator in a child process; the feed's watchdog, on market
time, replaces the kline connection every 30 market minutes. No bar may be lost, repeated or
differ from the simulator's candle, and the trading process's RSS may not grow by 20 MiB or more
after the first market hour. The 24-hour run is the benchmark itself.
"""

from __future__ import annotations

import pytest

from bench.bench_soak import PROXY_ENV, run_soak

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_three_market_hours_with_reconnects_lose_and_repeat_no_bar_in_bounded_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
    result = run_soak(3.0, reconnect_every_s=1800, speed=400, bound_mib=20.0)
    assert result.finished, result.report()
    assert result.lost == [] and result.duplicates == 0 and result.mismatched == 0, result.report()
    assert result.received == result.expected == 180
    # one per 30 market minutes (a stale restart, on a loaded machine, also renews it); a
    # restart loop would show as dozens
    assert result.age_reconnects >= 4 and 5 <= result.reconnects <= 8, result.report()
    assert result.ws_connects == result.reconnects + 1  # each was a new kline connection
    assert result.growth_mib < 20.0, result.report()
    assert result.passed
