"""Benchmark: ``DataCache`` against a plain dict, and the data-flow indicators against backtrader's.

Everything is measured in one run, each figure beside its baseline:

* **cache throughput**: ``--ops`` (default 200,000) puts, then as many hits, on a cache
  big enough to hold them, and a put-heavy LRU run on a cache of 1,000 (every put past the
  first 1,000 evicts). Baselines: a plain ``dict`` (no bound, no TTL, no lock) and the
  ``OrderedDict`` LRU the simulator used before it moved onto ``DataCache`` (no lock, no TTL).
  ``DataCache`` is measured by key (``store``/``lookup``) and by data type and parameters
  (``put("ticker", v, symbol=...)``/``get(...)``, seed 000's API: a key string per call; its
  dict baseline keys by the tuple ``("ticker", symbol)``).
* **indicators** on the real BTC/USDT minutes (``$RT_DATA_DIR`` or ``../shared/data``; 30,240
  closes): SMA(10), EMA(30), RSI(14) and Bollinger(20, 2) by
  ``DataFlowManager.calculate_technical_indicators`` (first call: computed; second call:
  answered from the cache) against backtrader computing the same four indicators in a
  ``cerebro.run()`` (runonce), timed as a run with them minus a run without them (the feed's
  own load is not counted against backtrader; runs interleaved, best of ``--repeat``; on a busy
  machine the difference is noisy). The outputs are checked equal to 1e-9.

Run::

    .venv/bin/python bench/bench_data_flow.py [--ops 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FILE = "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv"


def best(fn: Callable[[], Any], repeat: int) -> float:
    """The fastest of ``repeat`` timings of ``fn()`` (seconds)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cache_rows(ops: int, repeat: int) -> list[tuple[str, float, float, float]]:
    """(operation, DataCache ops/s, dict ops/s, OrderedDict-LRU ops/s) rows."""
    from real_trade.core.data_flow import DataCache

    keys = list(range(ops))
    symbols = [f"SYM{i}" for i in range(ops)]

    def dc_put() -> DataCache:
        c = DataCache(max_size=ops, default_ttl=None)
        store = c.store
        for k in keys:
            store(k, k)
        return c

    def dict_put() -> dict[int, int]:
        d: dict[int, int] = {}
        for k in keys:
            d[k] = k
        return d

    def lru_put(size: int = ops) -> OrderedDict[int, int]:
        d: OrderedDict[int, int] = OrderedDict()
        for k in keys:
            d[k] = k
            if len(d) > size:
                d.popitem(last=False)
        return d

    full_dc, full_dict, full_lru = dc_put(), dict_put(), lru_put()

    def dc_get() -> None:
        lookup = full_dc.lookup
        for k in keys:
            lookup(k)

    def dict_get() -> None:
        get = full_dict.get
        for k in keys:
            get(k)

    def lru_get() -> None:
        for k in keys:
            v = full_lru.get(k)
            if v is not None:
                full_lru.move_to_end(k)

    def dc_put_small() -> None:
        c = DataCache(max_size=1000, default_ttl=None)
        for k in keys:
            c.store(k, k)

    def dc_typed_put() -> None:
        c = DataCache(max_size=ops, default_ttl=60.0)
        for s in symbols:
            c.put("ticker", s, symbol=s)

    typed = DataCache(max_size=ops, default_ttl=60.0)
    for s in symbols:
        typed.put("ticker", s, symbol=s)

    def dc_typed_get() -> None:
        for s in symbols:
            typed.get("ticker", symbol=s)

    def dict_typed_put() -> None:
        d: dict[tuple[str, str], str] = {}
        for s in symbols:
            d["ticker", s] = s

    typed_dict = {("ticker", s): s for s in symbols}

    def dict_typed_get() -> None:
        get = typed_dict.get
        for s in symbols:
            get(("ticker", s))

    rows = []
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], Callable[[], Any] | None]] = [
        ("put (no eviction)", dc_put, dict_put, lru_put),
        ("get (hit)", dc_get, dict_get, lru_get),
        ("put, LRU of 1,000", dc_put_small, dict_put, lambda: lru_put(1000)),
        ("put(type, **params), TTL", dc_typed_put, dict_typed_put, None),
        ("get(type, **params), TTL", dc_typed_get, dict_typed_get, None),
    ]
    for name, dc, base, lru in cases:
        t_dc, t_base = best(dc, repeat), best(base, repeat)
        t_lru = best(lru, repeat) if lru is not None else float("nan")
        rows.append((name, ops / t_dc, ops / t_base, ops / t_lru))
    return rows


def data_file() -> Path:
    """The candle file: ``$RT_DATA_DIR`` or ``../shared/data`` next to the repository."""
    dirs = [Path(p) for p in [os.environ.get("RT_DATA_DIR")] if p]
    dirs.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    for d in dirs:
        if (d / FILE).is_file():
            return d / FILE
    raise SystemExit(f"{FILE} not found: set RT_DATA_DIR or put it in ../shared/data")


def indicator_rows(repeat: int) -> tuple[int, list[tuple[str, float]], float]:
    """(bars, [(variant, seconds)], max abs difference against backtrader)."""
    import backtrader as bt
    import numpy as np
    import pandas as pd

    from real_trade.core.data_flow import DataCache, DataFlowManager

    frame = pd.read_csv(data_file(), parse_dates=["open_time"], index_col="open_time")
    frame.index = frame.index.tz_localize(None)
    names = ["sma_10", "ema_30", "rsi_14", "bb_20"]

    class WithIndicators(bt.Strategy):
        def __init__(self) -> None:
            c = self.data.close
            self.lines_ = [
                bt.ind.SMA(c, period=10),
                bt.ind.EMA(c, period=30),
                bt.ind.RSI(c, period=14, safediv=True),
                bt.ind.BollingerBands(c, period=20, devfactor=2.0),
            ]

    class Empty(bt.Strategy):
        pass

    def run(strategy: type) -> Any:
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(bt.feeds.PandasData(dataname=frame))
        cerebro.addstrategy(strategy)
        return cerebro.run(runonce=True, preload=True)[0]

    fulls, feeds = [], []
    for _ in range(repeat):  # interleaved, so machine load hits both alike
        fulls.append(best(lambda: run(WithIndicators), 1))
        feeds.append(best(lambda: run(Empty), 1))
    t_bt_full, t_bt_feed = min(fulls), min(feeds)
    flows: list[DataFlowManager] = []

    def ours_cold() -> dict[str, Any]:
        flows.append(DataFlowManager(cache=DataCache(default_ttl=None)))
        return flows[-1].calculate_technical_indicators(frame, names)

    t_ours = best(ours_cold, repeat)
    t_hit = best(lambda: flows[-1].calculate_technical_indicators(frame, names), repeat)

    strat = run(WithIndicators)
    ours = flows[-1].calculate_technical_indicators(frame, names)
    n = len(frame)
    theirs = {
        "sma_10": strat.lines_[0].lines.sma,
        "ema_30": strat.lines_[1].lines.ema,
        "rsi_14": strat.lines_[2].lines.rsi,
        "bb_20_upper": strat.lines_[3].lines.top,
        "bb_20_middle": strat.lines_[3].lines.mid,
        "bb_20_lower": strat.lines_[3].lines.bot,
    }
    diff = 0.0
    for key, line in theirs.items():
        a, b = ours[key], np.array(line.get(size=n), dtype=float)
        ok = ~np.isnan(b)
        diff = max(diff, float(np.max(np.abs(a[ok] - b[ok]))))
    rows = [
        ("backtrader: run with the 4 indicators", t_bt_full),
        ("backtrader: run without them (feed only)", t_bt_feed),
        ("backtrader: the indicators (difference)", t_bt_full - t_bt_feed),
        ("DataFlowManager: computed", t_ours),
        ("DataFlowManager: from the cache (same data)", t_hit),
    ]
    return n, rows, diff


def main() -> None:
    """Run both benchmarks and print their tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"cache: {args.ops:,} operations, best of {args.repeat}")
    print(f"{'operation':28} {'DataCache/s':>12} {'dict/s':>12} {'OD-LRU/s':>12} {'vs dict':>8}")
    for name, dc, base, lru in cache_rows(args.ops, args.repeat):
        lru_s = f"{lru:12,.0f}" if lru == lru else f"{'-':>12}"
        print(f"{name:28} {dc:12,.0f} {base:12,.0f} {lru_s} {base / dc:7.2f}x")
    n, rows, diff = indicator_rows(args.repeat)
    print(f"\nindicators SMA10, EMA30, RSI14, BB20 on {n:,} real 1m closes, best of {args.repeat}")
    bt_full, bt_ind = rows[0][1], rows[2][1]
    print(f"{'':45} {'':>12} {'vs bt run':>10} {'vs bt ind':>10}")
    for name, t in rows:
        ratio = ""
        if name.startswith("DataFlowManager"):
            ratio = f"{bt_full / t:9.1f}x {bt_ind / t:9.1f}x"
        print(f"{name:45} {t * 1000:9.1f} ms {ratio}")
    print(f"max |ours - backtrader| = {diff:.3g}")


if __name__ == "__main__":
    main()
