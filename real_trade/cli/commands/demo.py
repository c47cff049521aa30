"""``real-trade demo``: the simulator plus a backtrader strategy trading against it, offline.

Starts the exchange simulator on loopback at an accelerated market clock, opens a testnet
account on it, and runs the sample ``SmaCross`` strategy through the full live path: a
``BinanceStore`` pointed at the simulator, ``BinanceData`` (history backfill, then live closed
bars from the websocket) and ``BinanceBroker`` with ``paper_trading=False`` (real orders, the
exchange's fills and commissions through the user-data stream). It prints progress per bar,
every order and fill, then the P&L and the simulator's own account as a cross-check.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import time
from typing import Any

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the demo's options (all have defaults: the bare command just works)."""
    parser.add_argument("--speed", type=float, default=120.0, help="market seconds per second")
    parser.add_argument("--bars", type=int, default=40, help="live one-minute bars to trade")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic market")
    parser.add_argument(
        "--market", default="synthetic", help="'synthetic' or a one-minute candle CSV to replay"
    )
    parser.add_argument("--fast", type=int, default=5, help="fast SMA period")
    parser.add_argument("--slow", type=int, default=15, help="slow SMA period")
    parser.add_argument("--size", type=float, default=0.05, help="order size in BTC")
    parser.add_argument("--cash", type=float, default=10_000.0, help="USDT on the demo account")


def _stamp(strategy: Any) -> str:
    return bt_num2date(strategy.data.datetime[0]).strftime("%Y-%m-%d %H:%M")


def bt_num2date(value: float) -> dt.datetime:
    """backtrader's float datetime as a UTC datetime (imported lazily with backtrader)."""
    import backtrader as bt

    return bt.num2date(value)


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns 0 when the strategy ran and the accounts agree."""
    import backtrader as bt

    from real_trade.brokers import BinanceBroker
    from real_trade.feeds import BinanceData
    from real_trade.sim import SimExchange
    from real_trade.stores import BinanceStore
    from real_trade.strategies import SmaCross

    started = time.monotonic()
    print(
        f"real_trade demo: simulator at {args.speed:g}x, SMA({args.fast}/{args.slow}) cross, "
        f"{args.bars} live 1m bars, testnet mode (nothing leaves this machine)"
    )
    with SimExchange(market=args.market, speed=args.speed, seed=args.seed) as sim:
        key, secret = sim.create_account({"USDT": args.cash})
        print(f"simulator up at {sim.url}; testnet account with {args.cash:,.2f} USDT")
        store = BinanceStore(apikey=key, secret=secret, testnet=True, sim_url=sim.url)
        broker = BinanceBroker(store, paper_trading=False)
        data = BinanceData.from_timeframe_string(
            "1m", store, symbol="BTC/USDT", history_bars=args.slow * 3
        )

        def on_bar(strategy: Any) -> None:
            if strategy.is_live:
                pos = strategy.position.size
                print(
                    f"  bar {strategy.live_bars:>3}/{args.bars} {_stamp(strategy)}  "
                    f"close {strategy.data.close[0]:>10,.2f}  position {pos:.4f} BTC  "
                    f"value {strategy.broker.getvalue():>10,.2f} USDT",
                    flush=True,
                )

        def on_order(strategy: Any, order: Any) -> None:
            side = "BUY " if order.isbuy() else "SELL"
            status = order.getstatusname()
            line = f"  order {order.ref:>3} {side} {abs(order.created.size):.4f} BTC: {status}"
            if order.status == order.Completed:
                line += f" at {order.executed.price:,.2f}, commission {order.executed.comm:.6f}"
            elif order.status in (order.Rejected, order.Margin):
                line += f" ({order.info.get('reason', 'no reason given')})"
            print(line, flush=True)

        cerebro = bt.Cerebro(stdstats=False)
        cerebro.setbroker(broker)
        cerebro.adddata(data)
        cerebro.addstrategy(
            SmaCross,
            fast=args.fast,
            slow=args.slow,
            size=args.size,
            max_live_bars=args.bars,
            on_bar=on_bar,
            on_order=on_order,
        )
        start_value = args.cash
        (strategy,) = cerebro.run()
        end_value = broker.getvalue()
        fills = [o for o in strategy.orders if o.status == o.Completed]
        account = sim.core.balances(sim.core.account_by_key(key))
        sim_usdt = float(sum(account.get("USDT", (0, 0))))
        sim_btc = float(sum(account.get("BTC", (0, 0))))
        store.stop()
    print()
    print(f"orders notified: {len(strategy.orders)}, filled: {len(fills)}")
    print(
        f"start value {start_value:,.2f} USDT, end value {end_value:,.2f} USDT, "
        f"P&L {end_value - start_value:+,.2f} USDT"
    )
    print(
        f"broker: cash {broker.getcash():,.2f} USDT, position "
        f"{broker.getposition(data).size:.6f} BTC"
    )
    print(f"simulator account: {sim_usdt:,.2f} USDT, {sim_btc:.6f} BTC")
    agree = math.isclose(broker.getcash(), sim_usdt, abs_tol=0.01) and math.isclose(
        broker.getposition(data).size, sim_btc, abs_tol=1e-8
    )
    print(
        f"broker and exchange agree: {'yes' if agree else 'NO'}; "
        f"ran in {time.monotonic() - started:.1f} s"
    )
    return 0 if agree and strategy.live_bars >= args.bars else 1
