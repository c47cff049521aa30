"""Where the venue's market stands now, for paper orders placed on backfill bars."""

from __future__ import annotations

from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from real_trade.brokers.backfill import LivePriceUnknownError, live_market, replays_history


class TickerClient:
    """A venue client answering ``fetch_ticker`` from a dict and ``fetch_time`` with a value."""

    def __init__(self, tickers: dict[str, Any], time_ms: int = 5_000) -> None:
        self.tickers = tickers
        self.time_ms = time_ms

    def fetch_ticker(self, symbol: str) -> dict[str, Any]:
        answer = self.tickers[symbol]
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    def fetch_time(self) -> int:
        return self.time_ms


def test_the_price_is_the_mid_of_bid_and_ask_else_the_last_trade_and_the_time_the_venues() -> None:
    client = TickerClient(
        {
            "BTC/USDT": {"bid": 99.0, "ask": 101.0, "last": 90.0, "timestamp": 7},
            "ETH/USDT": {"bid": None, "ask": None, "last": 10.5, "timestamp": 9},
        }
    )
    market = live_market(client, ["BTC/USDT", "ETH/USDT"])
    assert market.prices == {"BTC/USDT": 100.0, "ETH/USDT": 10.5}
    assert market.now_ms == 9  # the newest ticker time, never the local clock
    no_stamp = live_market(TickerClient({"X/Y": {"last": 2.0}}, time_ms=1234), ["X/Y"])
    assert no_stamp.now_ms == 1234  # the venue's clock when the ticker has no time


def test_a_venue_that_cannot_tell_the_price_raises_naming_the_cause() -> None:
    with pytest.raises(LivePriceUnknownError, match="no venue client"):
        live_market(None, ["BTC/USDT"])
    failing = TickerClient({"BTC/USDT": ConnectionError("503 Service Unavailable")})
    with pytest.raises(LivePriceUnknownError, match="ticker of BTC/USDT failed: 503"):
        live_market(failing, ["BTC/USDT"])
    with pytest.raises(LivePriceUnknownError, match="has no price"):
        live_market(TickerClient({"BTC/USDT": {"last": None}}), ["BTC/USDT"])


def test_only_a_live_feed_replaying_history_is_backfill() -> None:
    frame = pd.DataFrame(
        {"open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0], "volume": [1.0]},
        index=pd.to_datetime(["2023-03-10"]),
    )
    backtest = bt.feeds.PandasData(dataname=frame)
    backtest.start()
    backtest.put_notification(backtest.DELAYED)
    assert not replays_history(backtest)  # not live: history is the market

    class LiveFeed(bt.feeds.PandasData):  # type: ignore[misc]
        def islive(self) -> bool:
            return True

    live = LiveFeed(dataname=frame)
    live.start()
    assert not replays_history(live)  # connected, no backfill said
    live.put_notification(live.DELAYED)
    assert replays_history(live)
    live.put_notification(live.LIVE)
    assert not replays_history(live)


def test_a_burst_of_backfill_orders_reads_the_venue_once_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import real_trade.brokers.backfill as backfill

    class Counting(TickerClient):
        calls = 0

        def fetch_ticker(self, symbol: str) -> dict[str, Any]:
            Counting.calls += 1
            return super().fetch_ticker(symbol)

    clock = [100.0]
    monkeypatch.setattr(backfill.time, "monotonic", lambda: clock[0])
    client = Counting({"BTC/USDT": {"last": 50.0, "timestamp": 1}})
    for _ in range(1000):  # seed 001's strategy orders on every one of 1,000 backfill bars
        assert live_market(client, ["BTC/USDT"]).prices == {"BTC/USDT": 50.0}
    assert Counting.calls == 1
    client.tickers["BTC/USDT"] = {"last": 51.0, "timestamp": 2}
    clock[0] += backfill.LIVE_MARKET_REUSE_S
    assert live_market(client, ["BTC/USDT"]).prices == {"BTC/USDT": 51.0}, "read again"
    assert live_market(Counting({"BTC/USDT": {"last": 7.0}}), ["BTC/USDT"]).prices == {
        "BTC/USDT": 7.0
    }, "another client reads its own venue"
    assert Counting.calls == 3
