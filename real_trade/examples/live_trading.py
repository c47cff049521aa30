"""Seed 001's complete trading system: ``main()`` runs it, offline unless told otherwise.

The seed's code::

    from real_trade.examples.live_trading import main
    ...
    main()

:func:`main` builds what the seed lays out around it: a :class:`~real_trade.engine.TradingRunner`
on Binance with the seed's placeholder testnet keys, BTC/USDT hourly bars and paper trading; the
seed's :class:`~real_trade.strategies.base.RealTradeStrategyBase` strategy (``printlog``,
``log_trades``, stop loss, take profit, risk sizing); and the seed's
:class:`~real_trade.risk.RiskManager` (30% per position, 2% risk per trade, 15% drawdown, 20
trades a day), which receives every closed trade and can veto new ones. It runs until Ctrl-C or
``--max-bars`` live bars, then prints a summary.

Where it trades: the simulator at ``RT_SIM_URL`` when that is set (e.g. a ``real-trade sim``),
else an exchange simulator this function starts in its own process on loopback: nothing leaves
the machine either way. (The seed's monitoring objects, ``PerformanceTracker``,
``HealthChecker`` and ``Reporter``, are in :mod:`real_trade.monitor`.)

    python -m real_trade.examples.live_trading --max-bars 3
    python -m real_trade.examples.live_trading                # until Ctrl-C, like the seed
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from real_trade.config import SIM_URL_ENV, RealTradeConfig
from real_trade.engine import BarReport, TradingRunner
from real_trade.risk import RiskManager
from real_trade.strategies.base import RealTradeStrategyBase
from real_trade.vocabulary import joined_symbol_id

__all__ = ["SeedStrategy", "build_runner", "main"]


class SeedStrategy(RealTradeStrategyBase):
    """Seed 000/001's strategy-base example: risk-sized entry, exit on stop loss or take profit."""

    params = (
        ("printlog", True),
        ("log_trades", True),
        ("stop_loss", 0.02),
        ("take_profit", 0.05),
        ("max_position_pct", 0.3),
    )

    def next(self) -> None:
        """Enter when flat (if the risk manager allows), leave on stop loss or take profit."""
        if not self.position:
            if self.allow_trade():
                size = self.calc_position_size(0.02)
                self.buy(size=size)
        elif self.check_stop_loss() or self.check_take_profit():
            self.sell()


def build_runner(
    sim_url: str | None = None,
    *,
    symbol: str = "BTC/USDT",
    timeframe: str = "1h",
    on_bar: Any = None,
) -> tuple[TradingRunner, RiskManager]:
    """The seed's runner and risk manager (paper trading; ``sim_url``: the simulator's URL)."""
    risk_mgr = RiskManager(
        max_position_pct=0.3,
        risk_per_trade=0.02,
        max_drawdown_pct=0.15,
        max_daily_trades=20,
    )
    runner = TradingRunner(
        exchange="binance",
        apikey="YOUR_API_KEY",
        secret="YOUR_SECRET",  # noqa: S106 - the seed's placeholder
        symbol=symbol,
        timeframe=timeframe,
        strategy_cls=SeedStrategy,
        testnet=True,
        paper_trading=True,
        strategy_params={"risk_manager": risk_mgr},
        sim_url=sim_url,
        on_bar=on_bar,
        notify=lambda text: print(text, flush=True),
    )
    return runner, risk_mgr


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m real_trade.examples.live_trading",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--max-bars",
        type=int,
        default=None,
        metavar="N",
        help="stop after N live bars (default: run until Ctrl-C, like the seed)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=240.0,
        help="market seconds per wall second of the simulator started here (default 240: "
        f"an hourly bar every 15 s); ignored when {SIM_URL_ENV} is set",
    )
    parser.add_argument("--symbol", default="BTC/USDT", help="the pair to trade (BTC/USDT)")
    parser.add_argument("--timeframe", default="1h", help="bar size (the seed's 1h)")
    args = parser.parse_args(argv)
    if args.max_bars is not None and args.max_bars < 1:
        parser.error("--max-bars must be 1 or more")
    if args.speed <= 0:
        parser.error("--speed must be greater than 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run seed 001's complete trading system (see the module docstring); 0 on a clean end."""
    args = _parse(argv)
    with contextlib.ExitStack() as stack:
        sim_url = RealTradeConfig.env_sim_url()
        if sim_url:
            print(f"{SIM_URL_ENV}={sim_url}: trading against that simulator", flush=True)
        else:
            from real_trade.sim import SimExchange, SyntheticMarket

            tick_ms = max(250, min(60_000, round(5 * args.speed)))  # ~200 trades a wall second
            venue_id = joined_symbol_id(args.symbol)
            market = SyntheticMarket((venue_id,), seed=7, history_days=10, tick_ms=tick_ms)
            sim = stack.enter_context(SimExchange(market=market, speed=args.speed, seed=7))
            sim_url = sim.url
            print(
                f"{SIM_URL_ENV} is not set: started an exchange simulator in this process at "
                f"{sim_url} (market time x{args.speed:g}); nothing leaves this machine",
                flush=True,
            )
        live_bars = 0
        runner: TradingRunner | None = None

        def on_bar(report: BarReport) -> None:
            nonlocal live_bars
            if not report.live:
                return
            live_bars += 1
            print(
                f"live bar {live_bars}: {report.time:%Y-%m-%d %H:%M} {report.symbol} "
                f"close {report.close:,.2f}  position {report.position:g}  "
                f"value {report.value:,.2f}",
                flush=True,
            )
            if args.max_bars is not None and live_bars >= args.max_bars and runner is not None:
                runner.request_stop()

        runner, risk_mgr = build_runner(
            sim_url, symbol=args.symbol, timeframe=args.timeframe, on_bar=on_bar
        )
        runner.run()
        value = runner.broker.getvalue() if runner.broker is not None else float("nan")
        print(
            f"run ended: {runner.bars} bars ({live_bars} live); final value {value:,.2f}; "
            f"risk manager allows new trades: {risk_mgr.allow_trade()}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
