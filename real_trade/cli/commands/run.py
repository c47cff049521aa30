"""``real-trade run CONFIG.toml``: run a strategy unattended from a config file.

The file is a :class:`~real_trade.config.RealTradeConfig` (venue, mode, symbol, risk limits,
journal URL; ``RT_...`` environment variables override it) with a ``[run]`` table naming the
strategy by dotted path and its parameters. Paper trading and testnet start at once after a
summary of what will trade; real money (``paper_trading = false`` and ``testnet = false``)
needs ``--live`` and then the operator typing the symbol to confirm (or ``--yes``). The console
shows one line per closed bar, order state change, fill and feed state change. SIGINT or SIGTERM
stops gracefully (journal flushed; open orders kept unless ``cancel_on_stop``) with exit code 0;
a second signal stops at once (130). A crash is restarted with backoff (``--restarts``).

An error no restart can fix (a bad config, an API key the venue refuses, an unknown symbol, a
journal URL that names no usable journal) is not retried: the run says it could not start, and
why, with the likely fixes.

Exit codes: 0 stopped gracefully or the data ended; 1 the run failed; 2 bad config (including a
refused key, an unknown symbol or an unusable journal), refused or unconfirmed live trading; 130
stopped at once.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from real_trade.cli.commands.argtypes import positive_float, positive_int

__all__ = ["add_arguments", "confirm_live", "describe", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``run`` subcommand's arguments."""
    parser.add_argument("config", help="the TOML (or JSON) config file with a [run] table")
    parser.add_argument(
        "--live", action="store_true", help="allow real money (paper_trading=false, testnet=false)"
    )
    parser.add_argument(
        "--yes", action="store_true", help="do not ask to confirm live trading (unattended start)"
    )
    parser.add_argument(
        "--max-bars", type=positive_int, default=None, help="stop after this many live bars"
    )
    parser.add_argument(
        "--duration", type=positive_float, default=None, help="stop after this many seconds"
    )
    parser.add_argument(
        "--restarts",
        type=int,
        default=3,
        help="restarts after a crash, with backoff (default 3; 0: none)",
    )


def describe(config: Any, strategy_cls: type, params: dict[str, Any]) -> list[str]:
    """The lines saying what will trade: venue, mode, symbols, strategy, risk and journal."""
    from real_trade.config.messages import mask_url_password
    from real_trade.engine.factory import contract_market_type

    mode = config.trading_mode
    where = config.exchange + (f" (simulator {config.sim_url})" if config.sim_url else "")
    label = {
        "paper": "PAPER (simulated orders, no money)",
        "testnet": "TESTNET (test money)",
        "live": "LIVE (REAL MONEY)",
    }[mode]
    risk = {k: v for k, v in config.risk.model_dump().items() if v not in (None, {}, [])}
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"
    lines = [
        f"venue      {where}, {contract_market_type(config)}",
        f"mode       {label}",
        f"symbols    {', '.join(config.run_symbols)} on {config.timeframe} bars",
        f"strategy   {strategy_cls.__module__}.{strategy_cls.__qualname__} ({shown})",
        f"name       {config.run.name or strategy_cls.__name__}",
        f"risk       {', '.join(f'{k}={v}' for k, v in risk.items()) or 'no limits set'}",
        f"journal    {mask_url_password(config.journal.url)}",
        f"on stop    {'cancel open orders' if config.run.cancel_on_stop else 'keep open orders'}",
    ]
    if mode == "paper":
        lines.insert(2, f"cash       {config.initial_cash:,.2f} (paper)")
    settings = config.derivatives.settings(s for s in config.run_symbols if ":" in s)
    for symbol, (leverage, margin) in sorted(settings.items()):
        shown_lev = f"{leverage}x" if leverage is not None else "the venue's leverage"
        shown_mode = margin or "the venue's margin mode"
        lines.insert(-4, f"contract   {symbol}: {shown_lev}, {shown_mode}")
    return lines


def confirm_live(symbol: str, *, assume_yes: bool) -> bool:
    """Ask the operator to type ``symbol`` to start live trading (True at once with --yes)."""
    if assume_yes:
        print("live trading confirmed by --yes", flush=True)
        return True
    print(f"Type the symbol ({symbol}) to start trading real money: ", end="", flush=True)
    try:
        answer = sys.stdin.readline()
    except (OSError, KeyboardInterrupt):
        answer = ""
    return answer.strip().upper() == symbol.upper()


def run(args: argparse.Namespace) -> int:
    """Load the config, check the mode, confirm, then run until stopped; the exit code."""
    from real_trade.config import RealTradeConfig
    from real_trade.engine import FATAL_ERRORS, LifecycleManager, RunConsole, TradingRunner
    from real_trade.errors import ConfigError, redact
    from real_trade.venues.retry import RetryPolicy

    try:
        config = RealTradeConfig.load(args.config)
        config.logging.configure()
        strategy_cls = config.run.strategy_class()
    except ConfigError as exc:
        print(f"real-trade run: {exc}", file=sys.stderr)
        return 2
    mode = config.trading_mode
    if mode == "live" and not args.live:
        print(
            "real-trade run: this config trades REAL MONEY (paper_trading = false, "
            "testnet = false). Add --live to the command to allow it, or set "
            "paper_trading = true or testnet = true in the config.",
            file=sys.stderr,
        )
        return 2
    console = RunConsole()
    stop_reason: list[str] = []
    live_bars: list[Any] = []

    def stop_after(reason: str) -> None:
        if not stop_reason:
            stop_reason.append(reason)
            console.note(f"{reason}: stopping")
            runner.request_stop()

    def on_bar(bar: Any) -> None:
        console.on_bar(bar)
        if bar.live:
            live_bars.append(bar)
        if args.max_bars and len(live_bars) >= args.max_bars:
            stop_after(f"{args.max_bars} live bar(s) done")

    try:
        runner = TradingRunner.from_config(config, strategy_cls, on_bar=on_bar, notify=console.note)
    except ConfigError as exc:
        print(f"real-trade run: {exc}", file=sys.stderr)
        return 2
    print("real-trade run: " + ("about to trade" if mode == "live" else "starting"))
    for line in describe(config, strategy_cls, runner.strategy_params):
        print(f"  {line}")
    sys.stdout.flush()
    if mode == "live" and not confirm_live(config.run_symbols[0], assume_yes=args.yes):
        print("real-trade run: not confirmed; nothing was started", file=sys.stderr)
        return 2
    from real_trade.api.server import serve_beside_run

    try:
        api = serve_beside_run(config, args.config, print)
    except ConfigError as exc:
        print(f"real-trade run: {exc}", file=sys.stderr)
        return 2
    timer = None
    if args.duration:
        timer = threading.Timer(args.duration, stop_after, (f"{args.duration:g} s elapsed",))
        timer.daemon = True
        timer.start()
    bus = runner.bus
    console.attach(bus)
    manager = LifecycleManager(
        runner,
        retry=RetryPolicy(max_attempts=max(1, args.restarts + 1), base_delay=1.0, max_delay=30.0),
        name="real-trade run",
    )

    def once() -> None:
        if not stop_reason and not runner.stop_requested:
            runner.run(handle_signals=True)

    def between_runs(signum: int, frame: Any) -> None:  # a signal while waiting to restart
        stop_reason.append(signal.Signals(signum).name)
        manager.stop(timeout=0)

    previous = {s: signal.signal(s, between_runs) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        manager.run_with_retry(once)
    except KeyboardInterrupt:
        console.note("stopped at once (second signal)")
        return 130
    except FATAL_ERRORS as exc:  # bad config, refused key, unknown symbol, unusable journal
        what = "could not start" if runner.bars == 0 else "stopped, and a restart cannot help"
        print(f"real-trade run: {what}: {redact(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:
        text = redact(f"{type(exc).__name__}: {exc}")
        if stop_reason or runner.stop_requested:
            console.note(f"stopped; the last run had failed: {text}")
            return 0
        print(f"real-trade run: the run failed: {text}", file=sys.stderr)
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if timer is not None:
            timer.cancel()
        bus.flush(5.0)
        console.detach()
        if api is not None:
            api.stop()
    console.note(f"done: {runner.bars} bar(s), {len(live_bars)} live; exit 0")
    return 0
