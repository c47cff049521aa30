"""``BarReader`` reads a feed's newest bar straight from its line buffers (``_idx``, no
property call, when the buffers are plain LineBuffers; the doubles of an unbounded buffer
without ``float()``): the same bar as through ``idx`` and ``float()`` and as the feed's own
``data.close[0]``-style reads, with bounded buffers too (``exactbars``); ``new_bars`` hands
each grown feed's bar once."""

from __future__ import annotations

from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from real_trade.brokers import translate as tr
from real_trade.execution import PaperBar


def _frame() -> pd.DataFrame:
    rows = [
        {
            "open_time": pd.Timestamp(1_700_000_000_000 + i * 60_000, unit="ms"),
            "open": 100.0 + i * 0.37,
            "high": 101.0 + i * 0.37,
            "low": 99.0 + i * 0.37,
            "close": 100.5 + i * 0.37,
            "volume": float("nan") if i == 7 else float("inf") if i == 9 else i * 0.25,
        }
        for i in range(40)
    ]
    return pd.DataFrame(rows).set_index("open_time")


class Reads(bt.Strategy):  # type: ignore[misc]
    def __init__(self) -> None:
        self.seen: list[tuple[PaperBar, PaperBar, tuple[Any, ...], float | None]] = []
        self.handed: list[PaperBar] = []
        self.reader = tr.BarReader(self.data)
        self.readers: dict[Any, tr.BarReader] = {}

    def next(self) -> None:
        slow = tr.BarReader(self.data)
        slow._plain = False  # through the idx property
        slow._same = False  # and float() of each value
        d = self.data
        own = (
            tr.num_to_ms(d.datetime[0]),
            d.open[0],
            d.high[0],
            d.low[0],
            d.close[0],
            d.volume[0],
        )
        self.seen.append((self.reader.bar(), slow.bar(), own, self.reader.close()))
        for _ in range(2):  # the second call in the same bar hands nothing
            self.handed += tr.new_bars({"X/USDT": self.data}, self.readers).values()


@pytest.mark.parametrize("exactbars", [0, 1])
def test_bar_reader_reads_the_feeds_own_values(exactbars: int) -> None:
    cerebro = bt.Cerebro(stdstats=False, runonce=False, exactbars=exactbars)
    data = bt.feeds.PandasData(dataname=_frame(), timeframe=bt.TimeFrame.Minutes, compression=1)
    cerebro.adddata(data, name="X/USDT")
    cerebro.addstrategy(Reads)
    (strat,) = cerebro.run()
    assert strat.reader._plain, "PandasData's lines are plain LineBuffers"
    assert strat.reader._same
    assert len(strat.seen) == 40
    for i, (fast, slow, own, close) in enumerate(strat.seen):
        assert fast == slow and type(fast) is PaperBar
        assert [type(x) for x in fast] == [int, *[float] * 5, int]
        volume = 0.0 if i in (7, 9) else own[5]  # a NaN or infinite volume reads as none
        assert fast == PaperBar(*own[:5], volume, 60_000)
        assert close == own[4]
    assert strat.handed == [fast for fast, *_ in strat.seen]
