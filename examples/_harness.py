"""What the examples add around the seed code: an offline simulator, options, progress output.

The examples keep the seed documents' code as written; this module is everything around it, so
they run offline and stop by themselves when asked:

* :func:`ensure_simulator` starts the exchange simulator in this process when ``RT_SIM_URL`` is
  not set, and sets ``RT_SIM_URL`` for this process, so every exchange client real_trade creates
  here talks to it on loopback (one printed line says which simulator is in use).
* :func:`parse_args` gives each example ``--speed`` (market seconds per wall second of that
  simulator) and, for live examples, ``--max-bars N`` (stop after N bars delivered LIVE; without
  it a live example runs until Ctrl-C, like the seed) and ``--stake``.
* :func:`watch` adds a backtrader analyzer and a data callback to a ``Cerebro``: they print the
  feed's states, each live bar, each order and a summary, and call ``cerebro.runstop()`` after
  ``--max-bars`` live bars; the first Ctrl-C also stops the run cleanly.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import backtrader as bt

from real_trade.config import SIM_URL_ENV, RealTradeConfig

__all__ = ["SIM_URL_ENV", "Watcher", "ensure_simulator", "exit_code", "parse_args", "watch"]

_TICKS_PER_WALL_SECOND = 200  # keeps the in-process simulator light at any --speed
_FINAL = ("Completed", "Canceled", "Expired", "Margin", "Rejected")


def parse_args(
    description: str | None,
    *,
    live: bool,
    default_speed: float = 240.0,
    argv: list[str] | None = None,
) -> argparse.Namespace:
    """Parse the example's options: ``--speed`` always; ``--max-bars`` and ``--stake`` if live.

    ``description`` is the example's docstring (shown by ``--help``); ``default_speed`` is the
    market speed of the simulator the example starts itself when ``RT_SIM_URL`` is not set.
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=default_speed,
        help="market seconds per wall second of the in-process simulator (default "
        f"{default_speed:g}); ignored when {SIM_URL_ENV} points at a running one",
    )
    if live:
        parser.add_argument(
            "--max-bars",
            type=int,
            default=None,
            metavar="N",
            help="stop after N bars delivered LIVE (0: as soon as the feed is live); "
            "default: run until Ctrl-C, like the seed",
        )
        parser.add_argument(
            "--stake",
            type=float,
            default=None,
            help="buy this many units (a sizer; a sell while long sells what is held): the "
            "seed's bare buy() asks for 1 BTC, more than a 10,000 USDT paper account can pay",
        )
    args = parser.parse_args(argv)
    if args.speed <= 0:
        parser.error("--speed must be greater than 0")
    if live and args.max_bars is not None and args.max_bars < 0:
        parser.error("--max-bars must be 0 or more")
    if live and args.stake is not None and args.stake <= 0:
        parser.error("--stake must be greater than 0")
    return args


def ensure_simulator(
    speed: float, *, history_days: float = 5.0, seed: int = 7, tick_ms: int | None = None
) -> str:
    """Return the simulator URL in use, starting one in this process if ``RT_SIM_URL`` is unset.

    The simulator plays a synthetic BTC/USDT market with ``history_days`` of history at
    ``speed`` times real time, one trade every ``tick_ms`` market milliseconds (default: as
    many as keep the simulator light at that speed); it is stopped when the process exits.
    Prints one line either way.
    """
    url = RealTradeConfig.env_sim_url()
    if url:
        print(f"{SIM_URL_ENV}={url}: every exchange client here uses that simulator", flush=True)
        return url
    from real_trade.sim import SimExchange, SyntheticMarket

    if tick_ms is None:
        tick_ms = max(250, min(60_000, round(1000 * speed / _TICKS_PER_WALL_SECOND)))
    market = SyntheticMarket(("BTCUSDT",), seed=seed, history_days=history_days, tick_ms=tick_ms)
    sim = SimExchange(market=market, speed=speed, seed=seed).start()
    atexit.register(sim.stop)
    os.environ[SIM_URL_ENV] = sim.url
    print(
        f"{SIM_URL_ENV} is not set: started an exchange simulator in this process at {sim.url} "
        f"(market time x{speed:g}); nothing leaves this machine",
        flush=True,
    )
    return sim.url


def _symbol(data: Any) -> str:
    return str(getattr(data, "symbol", None) or data._name or data.p.dataname)


def _stamp(data: Any) -> str:
    moment: dt.datetime = bt.num2date(data.datetime[0])
    return moment.strftime("%Y-%m-%d %H:%M")


class Watcher:
    """Progress, order log and bar limit of one run (see the module docstring).

    ``max_bars`` is ``None`` to run until stopped, else the number of bars delivered LIVE after
    which the run stops (0: as soon as the feed is live). Counters are public for the summary.
    """

    def __init__(self, cerebro: Any, max_bars: int | None, out: Callable[[str], None]) -> None:
        """Remember the ``cerebro`` to stop and where to print (``out``)."""
        self.cerebro = cerebro
        self.max_bars = max_bars
        self.out = out
        self.live: dict[int, bool] = {}
        self.bars = 0
        self.live_bars = 0
        self.orders: dict[int, str] = {}
        self.hinted = False
        self.stopping = False

    # -- feeds ------------------------------------------------------------------------------
    def on_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        """Cerebro's data callback: print each state change; stop at once for ``--max-bars 0``."""
        name = data._getstatusname(status)
        was_live = self.live.get(id(data), False)
        self.live[id(data)] = status == data.LIVE
        extra = (
            f" after {self.bars} backfilled bars" if status == data.LIVE and not was_live else ""
        )
        self.out(f"data {_symbol(data)}: {name}{extra}")
        if status == data.LIVE and self.max_bars == 0:
            self.stop("the feed is live and --max-bars is 0")

    def on_bar(self, strategy: Any) -> None:
        """Count the bar; print it when live; stop after ``max_bars`` live bars."""
        self.bars += 1
        data = strategy.data
        if not self.live.get(id(data), False):
            return
        self.live_bars += 1
        limit = f"/{self.max_bars}" if self.max_bars else ""
        position = strategy.broker.getposition(data).size
        self.out(
            f"  live bar {self.live_bars}{limit} {_stamp(data)}  close {data.close[0]:>12,.2f}  "
            f"position {position:g}  value {strategy.broker.getvalue():,.2f}"
        )
        if self.max_bars and self.live_bars >= self.max_bars:
            self.stop(f"--max-bars {self.max_bars} reached")

    # -- orders -----------------------------------------------------------------------------
    def on_order(self, order: Any) -> None:
        """Print an order's final state (filled at what price, or refused and why)."""
        status = order.getstatusname()
        self.orders[order.ref] = status
        if status not in _FINAL and status != "Partial":
            return
        side = "BUY " if order.isbuy() else "SELL"
        line = f"  order {order.ref} {side} {abs(order.created.size):g} {_symbol(order.data)}: "
        line += status
        if status in ("Completed", "Partial"):
            line += f" at {order.executed.price:,.2f}, commission {order.executed.comm:.6f}"
        elif status in ("Margin", "Rejected"):
            reason = (order.info or {}).get("reason")
            line += f" ({reason})" if reason else ""
        self.out(line)
        if status == "Margin" and not self.hinted:
            self.hinted = True
            self.out(
                "  hint: not enough cash for this order size; the seed's buy() uses "
                "backtrader's default stake of 1 unit: try --stake 0.01"
            )

    # -- the end ----------------------------------------------------------------------------
    def stop(self, why: str) -> None:
        """Ask cerebro to stop after the current bar (once)."""
        if not self.stopping:
            self.stopping = True
            self.out(f"{why}: stopping")
            self.cerebro.runstop()

    def summary(self, broker: Any) -> None:
        """Print the run's totals: bars, orders by outcome, final value and cash."""
        filled = sum(1 for s in self.orders.values() if s == "Completed")
        refused = sum(1 for s in self.orders.values() if s in ("Margin", "Rejected"))
        self.out(
            f"run ended: {self.bars} bars ({self.live_bars} live), {len(self.orders)} orders, "
            f"{filled} filled, {refused} refused; final value {broker.getvalue():,.2f}, "
            f"cash {broker.getcash():,.2f}"
        )


class _StakeSizer(bt.Sizer):
    """``--stake``: buy ``stake`` units; a sell while long sells the position actually held.

    On Binance spot a buy's commission is paid in the base asset, so buying 0.01 BTC leaves
    0.00999 BTC (a sell of the full stake would be trimmed to that by the broker anyway).
    """

    params = (("stake", 1.0),)

    def _getsizing(self, comminfo: Any, cash: float, data: Any, isbuy: bool) -> float:
        held = float(self.broker.getposition(data).size)
        if not isbuy and held > 0:
            return held
        return float(self.p.stake)


class _Progress(bt.Analyzer):
    """The analyzer half of :class:`Watcher`: backtrader calls it on every bar and order."""

    params = (("watcher", None),)

    def next(self) -> None:
        self.p.watcher.on_bar(self.strategy)

    def notify_order(self, order: Any) -> None:
        self.p.watcher.on_order(order)

    def stop(self) -> None:
        self.p.watcher.summary(self.strategy.broker)

    def get_analysis(self) -> dict[str, Any]:
        """The counters: ``bars``, ``live_bars`` and ``orders`` (ref -> last status)."""
        w = self.p.watcher
        return {"bars": w.bars, "live_bars": w.live_bars, "orders": dict(w.orders)}


def _print(line: str) -> None:
    print(line, flush=True)


def watch(cerebro: Any, args: argparse.Namespace | None = None) -> Watcher:
    """Attach the progress analyzer and data callback to ``cerebro``; return the watcher.

    Applies ``--stake`` (a sizer) and ``--max-bars`` from ``args``; on a live run the
    first Ctrl-C stops the run after the current bar, a second one interrupts at once. When the
    process exits, the stores of the feeds are stopped (before the simulator, if started here).
    """
    max_bars = getattr(args, "max_bars", None)
    stake = getattr(args, "stake", None)
    watcher = Watcher(cerebro, max_bars, _print)
    if stake is not None:
        cerebro.addsizer(_StakeSizer, stake=stake)
    cerebro.adddatacb(watcher.on_data)
    cerebro.addanalyzer(_Progress, watcher=watcher)
    atexit.register(_stop_stores, cerebro)
    if threading.current_thread() is threading.main_thread():
        _install_ctrl_c(watcher)
    return watcher


def _install_ctrl_c(watcher: Watcher) -> None:
    def on_sigint(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        watcher.stop("Ctrl-C (press it again to interrupt at once)")

    signal.signal(signal.SIGINT, on_sigint)


def _stop_stores(cerebro: Any) -> None:
    """Stop each feed's store (closes its connections before the simulator goes away)."""
    for data in list(getattr(cerebro, "datas", [])):
        store = getattr(data, "store", None)
        if store is not None and hasattr(store, "stop"):
            try:
                store.stop()
            except Exception as exc:  # best effort at exit, but say so
                print(f"warning: stopping {store!r} failed: {exc}", file=sys.stderr)


def exit_code(cerebro: Any) -> int:
    """0 when every feed ended cleanly, 1 when one stopped on an error (printed to stderr)."""
    code = 0
    for data in list(getattr(cerebro, "datas", [])):
        error = getattr(data, "error", None)
        if error is not None:
            print(f"error: feed {_symbol(data)} failed: {error}", file=sys.stderr)
            code = 1
    return code
