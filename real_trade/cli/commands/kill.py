"""``real-trade kill CONFIG.toml [--flatten] [--reason TEXT] [--yes]``: the kill switch.

Cancels every open order, flattens every position with ``--flatten``, then HALTs trading, and
records the request and the halt in the config's journal. When a runner is alive (its journal
heartbeat is fresh), the request goes to it through the journal (``kill_request``) and the
command waits, bounded, for the runner to carry it out and prints the outcome. Otherwise a
testnet or live account is cleaned up directly at the venue (each cancel and close printed); a
paper account lives inside its runner, so with none alive only the halt is recorded (a restarted
runner starts HALTED; ``real-trade resume`` lifts it). Exit code 0 when the account is left with
no open order (and flat with ``--flatten``), 1 with the reason otherwise, 2 for a bad config or
a refused confirmation. Live money asks for confirmation unless ``--yes``. Idempotent.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from typing import Any

__all__ = ["add_arguments", "confirm", "kill_at_venue", "load_config", "run", "runner_alive"]

HEARTBEAT_FRESH_S = 10.0
"""A runner whose journal heartbeat is younger than this is taken as alive."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the config file and the kill switch's options."""
    parser.add_argument("config", help="the RealTradeConfig TOML (or JSON) file of the account")
    parser.add_argument("--flatten", action="store_true", help="also close every position")
    parser.add_argument("--reason", default="", help="why (journaled and shown to the runner)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation (live)")
    parser.add_argument(
        "--symbol",
        action="append",
        default=[],
        help="another symbol to clean up (default: the config's symbol and run.symbols)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for a running runner"
    )


def load_config(path: str) -> Any:
    """The RealTradeConfig of ``path`` (environment ``RT_...`` applies); None after printing
    the error when the file is missing or invalid."""
    from real_trade.config import RealTradeConfig
    from real_trade.errors import ConfigError

    try:
        return RealTradeConfig.load(path)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def confirm(question: str, assume_yes: bool) -> bool:
    """Ask ``question`` on the terminal; True only for an explicit 'yes' (or ``assume_yes``)."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        print(f"{question}: no terminal to confirm on; pass --yes", file=sys.stderr)
        return False
    try:
        answer = input(f"{question}. Type 'yes' to go on: ")
    except EOFError:
        answer = ""
    return answer.strip().lower() == "yes"


def runner_alive(journal: Any, max_age_s: float = HEARTBEAT_FRESH_S) -> dict[str, Any] | None:
    """The heartbeat of a runner using ``journal`` when fresher than ``max_age_s``, else None."""
    from real_trade.engine.control import HEARTBEAT_KEY

    beat = journal.get_state(HEARTBEAT_KEY)
    if not isinstance(beat, dict) or beat.get("state") == "stopped":
        return None
    age_s = time.time() - float(beat.get("time_ms") or 0) / 1000
    return beat if age_s <= max_age_s else None


def run(args: argparse.Namespace) -> int:
    """Engage the kill switch for the account of ``args.config``; see the module docstring."""
    from real_trade.persistence import Journal

    config = load_config(args.config)
    if config is None:
        return 2
    mode = config.trading_mode
    reason = args.reason or "operator kill switch (real-trade kill)"
    if mode == "live" and not confirm(
        f"LIVE account on {config.exchange}: cancel every open order"
        + (" and close every position" if args.flatten else ""),
        args.yes,
    ):
        print("aborted: nothing was done")
        return 2
    with Journal.from_config(config) as journal:
        request = {"id": uuid.uuid4().hex, "flatten": bool(args.flatten), "reason": reason}
        journal.record_event("killswitch.requested", {**request, "mode": mode, "pid": os.getpid()})
        print(f"kill switch ({mode}, {config.exchange}), flatten={args.flatten}: {reason}")
        beat = runner_alive(journal)
        if beat is not None:
            code = _through_runner(journal, request, beat, args.timeout)
            if code is not None:
                return code
        if mode == "paper":
            return _paper_halt(journal, reason, runner_was_alive=beat is not None)
        return _direct(config, journal, args, reason)


def _through_runner(
    journal: Any, request: dict[str, Any], beat: dict[str, Any], timeout: float
) -> int | None:
    """Hand the request to the running runner; its exit code, or None when it did not answer."""
    from real_trade.engine.control import KILL_DONE_KEY, KILL_REQUEST_KEY

    who = f"runner {beat.get('strategy') or '?'} (pid {beat.get('pid')})"
    print(f"{who} is alive: handing the kill to it", flush=True)
    since_ms = time.time_ns() // 1_000_000
    journal.set_state(KILL_REQUEST_KEY, request)
    deadline = time.monotonic() + timeout
    outcome: dict[str, Any] | None = None
    accepted = False
    while time.monotonic() < deadline:
        accepted = accepted or journal.get_state(KILL_DONE_KEY) == request["id"]
        outcome = _runner_outcome(journal, since_ms) if accepted else None
        if outcome is not None:
            break
        waited = timeout - (deadline - time.monotonic())
        step = "carrying it out" if accepted else "waiting for it to take the request"
        print(f"  {step} ... {waited:.0f}s", flush=True)
        time.sleep(1.0)
    if outcome is None:
        print(f"{who} did not finish the kill within {timeout:g}s", file=sys.stderr)
        return None
    return _print_runner_outcome(outcome)


def _runner_outcome(journal: Any, since_ms: int) -> dict[str, Any] | None:
    """The report a runner journaled for a kill finished after ``since_ms``, if any yet."""
    for event in journal.events("killswitch.*", start_ms=since_ms):
        payload = dict(event.payload)
        if event.kind == "killswitch.halted" or "finished_ms" in payload:
            return payload
    return None


def _print_runner_outcome(report: dict[str, Any]) -> int:
    """Print a runner's kill report (a journaled KillReport, or an older runner's dict); 0 when
    clean."""
    if report.get("summary"):
        print(f"runner: {report['summary']}")
        return 0 if report.get("ok") else 1
    for order in report.get("canceled") or []:
        print(f"  canceled {order}")
    for item in report.get("flattened") or []:
        print(f"  closed {item.get('amount')} {item.get('symbol')}")
    for item in report.get("dust") or []:
        print(f"  dust {item.get('amount')} {item.get('symbol')}: {item.get('reason')}")
    errors = list(report.get("errors") or [])
    if report.get("already_halted") and not errors:
        print("runner: already halted, nothing open; trading HALTED")
        return 0
    for error in errors:
        print(f"  PROBLEM: {error}", file=sys.stderr)
    canceled, closed = len(report.get("canceled") or []), len(report.get("flattened") or [])
    print(f"runner: canceled {canceled} order(s), closed {closed} position(s); trading HALTED")
    return 1 if errors else 0


def _paper_halt(journal: Any, reason: str, *, runner_was_alive: bool) -> int:
    """Paper with no (answering) runner: record the halt; there is no account to act on."""
    from real_trade.risk.state import TradingState
    from real_trade.risk.trading_state import TradingStateStore

    store = TradingStateStore(journal)
    previous = store.read()
    if previous is not None and previous.state is TradingState.HALTED:
        print(f"already halted ({previous.reason or 'no reason given'}), nothing open")
    else:
        store.write(TradingState.HALTED, reason)
        print("trading HALTED in the journal")
    if runner_was_alive:
        print("the runner did not answer; it halts at its next journal check", file=sys.stderr)
        return 1
    print(
        "paper account: its orders live inside the runner and no runner is alive, so there is "
        "nothing open to cancel; a restarted runner starts HALTED (`real-trade resume` lifts it)"
    )
    return 0


def _direct(config: Any, journal: Any, args: argparse.Namespace, reason: str) -> int:
    """Testnet / live with no (answering) runner: act on the venue with a VenueKillTarget."""
    symbols = list(dict.fromkeys([config.symbol, *config.run.symbols, *args.symbol]))
    print(
        f"no runner alive: acting on the {config.trading_mode} account directly "
        f"({', '.join(symbols)})",
        flush=True,
    )
    from real_trade.errors import ConfigError

    try:
        report = kill_at_venue(config, journal, args.flatten, reason, symbols, _print_step)
    except ConfigError as exc:  # the stored key: unknown name, no or wrong passphrase
        print(f"error: {exc}", file=sys.stderr)
        print("trading HALTED in the journal, but the account could not be cleaned up")
        return 2
    except Exception as exc:  # the venue is unreachable or refuses the keys: say it plainly
        from real_trade.utils.logger import mask_secrets

        print(f"error: {mask_secrets(f'{type(exc).__name__}: {exc}')}", file=sys.stderr)
        print("trading HALTED in the journal, but the account could not be cleaned up")
        return 1
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def kill_at_venue(
    config: Any,
    journal: Any,
    flatten: bool,
    reason: str,
    symbols: list[str],
    on_step: Any = None,
) -> Any:
    """The kill switch on a testnet or live account with no runner: a :class:`KillSwitch` over
    a :class:`VenueKillTarget` for ``symbols``; returns its KillReport. The journal's trading
    state is HALTED even when the venue cannot be reached (the error is raised then).
    ``on_step(topic, event)`` sees each cancel and close as it happens."""
    from real_trade.bus import EventBus
    from real_trade.errors import ConfigError
    from real_trade.risk.killswitch import KillSwitch
    from real_trade.risk.killswitch_venue import VenueKillTarget
    from real_trade.risk.state import TradingStateHolder
    from real_trade.risk.trading_state import TradingStateStore
    from real_trade.venues import VenueClient

    store = TradingStateStore(journal)
    previous = store.read()
    state = (
        TradingStateHolder(previous.state, previous.reason) if previous else TradingStateHolder()
    )
    try:
        apikey, secret, passphrase = config.credentials()
    except ConfigError:  # the stored key: unknown name, no or wrong passphrase
        store.write("halted", reason)
        raise
    bus = EventBus(synchronous=True, name="kill")
    if on_step is not None:
        bus.subscribe("killswitch.*", on_step)
    client = None
    try:
        client = VenueClient(
            config.exchange,
            market_type=config.market_type,
            apikey=apikey,
            secret=secret,
            passphrase=passphrase,
            testnet=config.testnet,
            sim_url=config.sim_url,
        )
        target = VenueKillTarget(client, symbols)
        switch = KillSwitch(
            target, state=state, bus=bus, journal=journal, strategy=config.run.name or ""
        )
        return switch.engage(flatten=flatten, reason=reason)
    except Exception:
        store.write("halted", reason)
        raise
    finally:
        if client is not None:
            client.stop()
        bus.close()


def _print_step(topic: str, event: Any) -> None:
    """Print one kill-switch step as it happens."""
    from real_trade.risk.killswitch_types import CancelOutcome, FlattenOutcome

    if isinstance(event, CancelOutcome):
        o = event.order
        price = f" @ {o.price:g}" if o.price else ""
        line = f"  {event.status:<14} {o.side} {o.amount:g} {o.symbol}{price} (order {o.id})"
    elif isinstance(event, FlattenOutcome):
        p = event.position
        what = "closed" if event.status == "closed" else event.status
        line = f"  {what:<14} {event.side} {event.amount:g} {p.symbol}"
    else:
        return
    print(line + (f": {event.error}" if event.error else ""), flush=True)
