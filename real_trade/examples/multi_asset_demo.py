"""Seed 000's multi-asset example, run as written with ``df1``, ``df2`` and ``cerebro`` filled in.

The seed's code (between the markers in :func:`main`) labels two feeds ``AAPL`` (a stock) and
``ES_FUTURE`` (a 50-multiplier future) and sets the stock's commission. The house has no stock or
index-future candles, so the prices are real ones standing in: ``df1`` and ``df2`` are hourly
BTC/USDT and BTC/USDC candles of Binance.US, March 2023 (``binanceus_BTCUSD?_1m_…csv`` from
``$RT_DATA_DIR`` or ``../shared/data``), else the newest 500 hourly BTC/USDT and ETH/USDT candles
of Binance from the local history cache (``real-trade download`` fills it). Nothing is
fetched.

A :class:`~real_trade.core.multi_asset.MultiAssetStrategy` trades both on an SMA cross with the
:class:`~real_trade.core.multi_asset.MultiAssetSizer`: the stock pays per share with a minimum
and in full, the future per contract on 10% margin of ``price * 50``.

    python -m real_trade.examples.multi_asset_demo [--data-dir DIR] [--cash 5000000]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd

from real_trade.core.multi_asset import (
    MultiAssetCommissionInfo,
    MultiAssetData,
    MultiAssetSizer,
    MultiAssetStrategy,
    create_future_info,
    create_stock_info,
)
from real_trade.errors import ConfigError

__all__ = ["SmaCrossMultiAsset", "load_frames", "main"]

FILES = (
    "binanceus_BTCUSDT_1m_2023-03-01_2023-03-21.csv",
    "binanceus_BTCUSDC_1m_2023-03-01_2023-03-21.csv",
)


class SmaCrossMultiAsset(MultiAssetStrategy):
    """Long each asset while its fast SMA is above its slow one, sized by the multi-asset sizer."""

    params = (("fast", 10), ("slow", 30))

    def __init__(self) -> None:
        super().__init__()
        self.crosses = {
            data._name: bt.indicators.CrossOver(
                bt.indicators.SMA(data.close, period=self.p.fast),
                bt.indicators.SMA(data.close, period=self.p.slow),
            )
            for data in self.datas
        }
        self.commissions: dict[str, float] = {data._name: 0.0 for data in self.datas}
        self.peak_margin: dict[str, float] = {data._name: 0.0 for data in self.datas}

    def generate_signals(self) -> None:
        """Enter on a cross up (within the diversification limit), leave on a cross down."""
        for data in self.datas:
            name = data._name
            row = self.asset_positions[name]
            self.peak_margin[name] = max(self.peak_margin[name], row["margin"])
            if self.crosses[name][0] > 0 and not self.getposition(data).size:
                size = self.allowed_size(data, self.getsizer().getsizing(data, True))
                if size > 0:
                    self.buy(data=data, size=size)
            elif self.crosses[name][0] < 0 and self.getposition(data).size:
                self.close(data=data)

    def notify_order(self, order: Any) -> None:
        """Add up each asset's commissions."""
        if order.status == order.Completed:
            self.commissions[order.data._name] += order.executed.comm


def load_frames(data_dir: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``df1``, ``df2``: hourly real candles (the shared files, else the history cache)."""
    folders = [Path(data_dir)] if data_dir else []
    if os.environ.get("RT_DATA_DIR"):
        folders.append(Path(os.environ["RT_DATA_DIR"]))
    folders.append(Path(__file__).resolve().parents[2].parent / "shared" / "data")
    for folder in folders:
        if all((folder / name).is_file() for name in FILES):
            first, second = (_hourly(folder / name) for name in FILES)
            return first, second
    return _cached("BTC/USDT"), _cached("ETH/USDT")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the seed's example; print and return the result per asset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder of the real candle files")
    parser.add_argument("--cash", type=float, default=5_000_000.0)
    args = parser.parse_args(argv)
    df1, df2 = load_frames(args.data_dir)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(args.cash)

    # --- seed 000, as written -------------------------------------------------------------
    # 创建多资产数据
    stock_info = create_stock_info("AAPL", "NASDAQ")
    future_info = create_future_info("ES", "CME", contract_size=50)

    data1 = MultiAssetData(dataname=df1, name="AAPL", asset_info=stock_info)
    data2 = MultiAssetData(dataname=df2, name="ES_FUTURE", asset_info=future_info)

    # 设置佣金
    commission_info = MultiAssetCommissionInfo(stock_info)
    cerebro.broker.addcommissioninfo(commission_info, data1)
    # --- end of the seed's code -----------------------------------------------------------

    cerebro.adddata(data1)
    cerebro.adddata(data2)
    cerebro.addsizer(MultiAssetSizer)
    cerebro.addstrategy(SmaCrossMultiAsset)
    strategy = cerebro.run()[0]
    result = {
        "bars": len(df1),
        "start_cash": args.cash,
        "final_value": float(cerebro.broker.getvalue()),
        "commission": dict(strategy.commissions),
        "peak_margin": dict(strategy.peak_margin),
        "correlation": dict(strategy.correlation_matrix),
        "portfolio_risk": strategy.calculate_portfolio_risk(),
        "comminfo": {
            name: type(cerebro.broker.getcommissioninfo(data)).__name__
            for name, data in (("AAPL", data1), ("ES_FUTURE", data2))
        },
    }
    print(f"{len(df1)} hourly bars; value {args.cash:,.2f} -> {result['final_value']:,.2f}")
    for name in ("AAPL", "ES_FUTURE"):
        print(
            f"  {name:<9} commission {result['commission'][name]:>10,.2f}"
            f"  peak margin {result['peak_margin'][name]:>14,.2f}"
        )
    print(
        f"  correlation {result['correlation']}; last portfolio risk {result['portfolio_risk']:.5f}"
    )
    return result


def _hourly(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col="open_time", parse_dates=["open_time"])
    frame.index = frame.index.tz_convert(None)
    rules = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    return frame[list(rules)].resample("1h").agg(rules).dropna()


def _cached(symbol: str, bars: int = 500) -> pd.DataFrame:
    """The newest ``bars`` cached hourly candles of ``symbol`` on Binance spot (no request)."""
    from real_trade.history import HistoryCache

    frame = HistoryCache().load("binance", "spot", symbol, "1h")
    if frame.empty:
        raise ConfigError(
            f"no candles for the demo: the real candle files are absent and no 1h {symbol} "
            "candles of binance are cached",
            field="data_dir",
            fix="set RT_DATA_DIR to the real candle files, or `real-trade download` 1h candles",
        )
    frame = frame.tail(bars)
    frame.index = frame.index.tz_convert(None)
    return frame


if __name__ == "__main__":
    main()
