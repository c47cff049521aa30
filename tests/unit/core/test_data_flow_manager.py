"""DataFlowManager and DataFlowMixin: publish/subscribe through the event bus, cached data."""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd

from real_trade.bus import EventBus
from real_trade.core.data_flow import DataCache, DataEvent, DataFlowManager, DataFlowMixin


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_publish_reaches_subscribers_through_the_bus_and_is_cached() -> None:
    bus = EventBus(synchronous=True)
    clock = Clock()
    flow = DataFlowManager(cache=DataCache(default_ttl=10.0, clock=clock), bus=bus)
    heard: list[DataEvent] = []
    on_bus: list[str] = []
    flow.register_subscriber("ticker.*", heard.append)
    bus.subscribe("data_flow.**", lambda topic, _e: on_bus.append(topic))
    flow.publish_data("ticker.BTCUSDT", {"last": 22000.0}, {"venue": "binance"})
    flow.publish_data("orderbook.BTCUSDT", {"bids": []})
    assert [e.topic for e in heard] == ["ticker.BTCUSDT"]
    assert heard[0].data == {"last": 22000.0} and heard[0].metadata == {"venue": "binance"}
    assert on_bus == ["data_flow.ticker.BTCUSDT", "data_flow.orderbook.BTCUSDT"]
    assert bus.stats.published == 2
    assert flow.get_cached_data("ticker.BTCUSDT") == {"last": 22000.0}
    clock.now = 10.0
    assert flow.get_cached_data("ticker.BTCUSDT") is None  # its TTL ran out
    flow.close()
    flow.publish_data("ticker.ETHUSDT", 1)
    assert len(heard) == 1  # unsubscribed


def test_the_default_bus_is_the_process_bus() -> None:
    from real_trade.bus import get_bus

    assert DataFlowManager().bus is get_bus()


class _Probe(DataFlowMixin, bt.Strategy):
    def __init__(self) -> None:
        self.data_flow = DataFlowManager(cache=DataCache(default_ttl=None), bus=self.p_bus)
        self.last: list[tuple[float, float]] = []
        self.seen: list[DataEvent] = []
        self.subscribe_to_data("signal", self.seen.append)

    p_bus = EventBus(synchronous=True)

    def next(self) -> None:
        ind = self.get_technical_indicators(self.data, ["sma_5", "rsi_3"])
        again = self.get_technical_indicators(self.data, ["sma_5", "rsi_3"])
        assert again is ind
        line = self.get_technical_indicators(self.data.close, ["sma_5", "rsi_3"])
        np.testing.assert_array_equal(line["sma_5"], ind["sma_5"])
        assert self.get_technical_indicators(self.data, ["sma_5", "rsi_3"]) is ind
        assert all(k[1] == len(self) for k in self._indicator_cache or {})
        tail = self.get_technical_indicators(self.data, ["sma_5"], bars=6)["sma_5"]
        assert len(tail) == min(6, len(self))
        if len(self) >= 5:
            assert tail[-1] == ind["sma_5"][-1]  # a full window: the same value
        self.last.append((float(ind["sma_5"][-1]), float(ind["rsi_3"][-1])))
        if len(self) == 10:
            self.publish_data("signal", {"bar": len(self)})


def test_mixin_gives_a_strategy_indicators_over_its_bars_and_the_bus() -> None:
    closes = [100.0, 101.0, 102.5, 101.5, 103.0, 104.0, 103.5, 105.0, 104.0, 106.0, 107.0]
    index = pd.date_range("2023-03-01", periods=len(closes), freq="1min")
    frame = pd.DataFrame(
        {"open": closes, "high": closes, "low": closes, "close": closes, "volume": 1.0},
        index=index,
    )
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(_Probe)
    strat = cerebro.run()[0]
    assert len(strat.last) == len(closes)
    sma_last = np.mean(closes[-5:])
    assert strat.last[-1][0] == sma_last
    assert np.isnan(strat.last[3][0]) and strat.last[4][0] == np.mean(closes[:5])
    assert [e.data for e in strat.seen] == [{"bar": 10}]
