"""``real-trade demo``: the simulator plus a backtrader strategy trading against it, offline.

Starts the exchange simulator on loopback at an accelerated market clock, serving the face of
``--exchange`` (``binance``, the default, ``bybit`` or ``okx``), opens a testnet account on it,
and runs the sample ``SmaCross`` strategy through the full live path: the venue's store
(``BinanceStore``, ``BybitStore``, ``OKXStore``) pointed at the simulator, its data feed
(history backfill, then live closed bars from the websocket) and its broker with
``paper_trading=False`` (real orders, the exchange's fills and commissions through the private
stream). It prints progress per bar, every order and fill, then the P&L and the simulator's own
account as a cross-check. (OKX has no testnet: ``testnet=True`` is its demo trading.)

``--market future`` trades the simulated linear perpetual ``BTC/USDT:USDT`` instead (Binance
USDⓈ-M, Bybit linear or OKX SWAP: the venue's store with ``market_type="future"``):
``SmaCross`` with ``long_short`` holds the size long above the slow average and short below,
at 5x isolated margin; the cross-check is the futures wallet and the exchange's position.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import time
from typing import Any

__all__ = ["VENUES", "add_arguments", "run"]

VENUES: dict[str, str] = {"binance": "Binance", "bybit": "Bybit", "okx": "OKX"}
"""``--exchange`` -> the prefix of its store, broker and data classes."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the demo's options (all have defaults: the bare command just works)."""
    parser.add_argument(
        "--exchange",
        choices=sorted(VENUES),
        default="binance",
        help="the venue whose protocol the simulator speaks and the strategy trades",
    )
    parser.add_argument("--speed", type=float, default=120.0, help="market seconds per second")
    parser.add_argument("--bars", type=int, default=40, help="live one-minute bars to trade")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic market")
    parser.add_argument(
        "--market",
        default="synthetic",
        help="'synthetic', a one-minute candle CSV to replay, or 'future': the synthetic "
        "USDⓈ-M perpetual BTC/USDT:USDT, traded long and short",
    )
    parser.add_argument("--fast", type=int, default=5, help="fast SMA period")
    parser.add_argument("--slow", type=int, default=15, help="slow SMA period")
    parser.add_argument("--size", type=float, default=0.05, help="order size in BTC")
    parser.add_argument("--cash", type=float, default=10_000.0, help="USDT on the demo account")


PERPETUAL_MARKETS = ("future", "perp", "perpetual")
"""``--market`` values that trade the simulated USDⓈ-M perpetual."""
PERP_SYMBOL = "BTC/USDT:USDT"


def _exchange_account(sim: Any, key: str, perp: bool) -> tuple[float, float]:
    """The simulator's own view: USDT (the futures wallet) and BTC held (the position)."""
    if perp:
        core = sim.futures_core
        account = core.account_by_key(key)
        views = core.positions(account, "BTCUSDT")
        wallet = core.margin_summary(account, "USDT").wallet_balance
        return float(wallet), float(views[0].qty) if views else 0.0
    balances = sim.core.balances(sim.core.account_by_key(key))
    return float(sum(balances.get("USDT", (0, 0)))), float(sum(balances.get("BTC", (0, 0))))


def _stamp(strategy: Any) -> str:
    return bt_num2date(strategy.data.datetime[0]).strftime("%Y-%m-%d %H:%M")


def bt_num2date(value: float) -> dt.datetime:
    """backtrader's float datetime as a UTC datetime (imported lazily with backtrader)."""
    import backtrader as bt

    return bt.num2date(value)


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns 0 when the strategy ran and the accounts agree."""
    import backtrader as bt

    from real_trade import brokers, feeds, stores
    from real_trade.sim import SimExchange
    from real_trade.sim.okx.auth import DEFAULT_PASSPHRASE
    from real_trade.strategies import SmaCross

    prefix = VENUES[args.exchange]
    store_class = getattr(stores, f"{prefix}Store")
    broker_class = getattr(brokers, f"{prefix}Broker")
    data_class = getattr(feeds, f"{prefix}Data")
    started = time.monotonic()
    perp = args.market in PERPETUAL_MARKETS
    symbol = PERP_SYMBOL if perp else "BTC/USDT"
    print(
        f"real_trade demo: simulator at {args.speed:g}x, SMA({args.fast}/{args.slow}) cross"
        f"{' long/short on the perpetual ' + symbol if perp else ''}, "
        f"{args.bars} live 1m bars on {prefix}, testnet mode (nothing leaves this machine)"
    )
    market = "synthetic" if perp else args.market
    binance_perp = perp and args.exchange == "binance"
    faces = ["binance", "binance_futures"] if binance_perp else [args.exchange]
    with SimExchange(market=market, speed=args.speed, seed=args.seed, faces=faces) as sim:
        if perp:
            key, secret = sim.create_account({}, futures_balances={"USDT": args.cash})
        else:
            key, secret = sim.create_account({"USDT": args.cash})
        wallet = "futures wallet" if perp else "account"
        print(
            f"simulator ({prefix} face) up at {sim.url}; testnet {wallet} with "
            f"{args.cash:,.2f} USDT"
        )
        passphrase = DEFAULT_PASSPHRASE if args.exchange == "okx" else None
        store = store_class(
            apikey=key,
            secret=secret,
            passphrase=passphrase,
            testnet=True,
            sim_url=sim.url,
            market_type="future" if perp else "spot",
        )
        contracts = {symbol: {"leverage": 5, "margin_mode": "isolated"}} if perp else None
        broker = broker_class(store, paper_trading=False, contracts=contracts)
        data = data_class.from_timeframe_string(
            "1m", store, symbol=symbol, history_bars=args.slow * 3
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
            long_short=perp,
        )
        start_value = args.cash
        (strategy,) = cerebro.run()
        end_value = broker.getvalue()
        fills = [o for o in strategy.orders if o.status == o.Completed]
        sim_usdt, sim_btc = _exchange_account(sim, key, perp)
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
