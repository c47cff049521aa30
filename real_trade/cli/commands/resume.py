"""``real-trade resume CONFIG.toml [--yes] [--reason TEXT]``: lift a halt set by the kill switch.

Sets the trading state in the config's journal back to ACTIVE and records the event: a running
runner picks it up at its next journal check (a few seconds), a restarted one starts active.
Already active: says so and changes nothing. Resuming a live-money account asks for
confirmation unless ``--yes``. Exit code 0 when the journal says ACTIVE, 2 for a bad config or
a refused confirmation.
"""

from __future__ import annotations

import argparse
import os

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the config file and the options."""
    parser.add_argument("config", help="the RealTradeConfig TOML (or JSON) file of the account")
    parser.add_argument("--reason", default="", help="why (journaled)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation (live)")


def run(args: argparse.Namespace) -> int:
    """Set the journal's trading state to ACTIVE; see the module docstring."""
    from real_trade.cli.commands.kill import confirm, load_config, runner_alive
    from real_trade.persistence import Journal
    from real_trade.risk.state import TradingState
    from real_trade.risk.trading_state import TradingStateStore

    config = load_config(args.config)
    if config is None:
        return 2
    with Journal.from_config(config) as journal:
        store = TradingStateStore(journal)
        previous = store.read()
        if previous is None or previous.state is TradingState.ACTIVE:
            print("trading is already ACTIVE in the journal; nothing to resume")
            return 0
        state, why = previous.state, previous.reason
        print(f"trading is {state.value.upper()} ({why or 'no reason given'})")
        if config.trading_mode == "live" and not confirm(
            f"LIVE account on {config.exchange}: let the strategy trade again", args.yes
        ):
            print("aborted: still halted")
            return 2
        reason = args.reason or "operator resume (real-trade resume)"
        store.write(TradingState.ACTIVE, reason)
        journal.record_event(
            "killswitch.resumed",
            {
                "previous_state": state.value,
                "previous_reason": why,
                "reason": reason,
                "pid": os.getpid(),
            },
        )
        beat = runner_alive(journal)
        print("trading ACTIVE in the journal")
        if beat is not None:
            print(
                f"runner {beat.get('strategy') or '?'} (pid {beat.get('pid')}) is alive: it "
                "resumes at its next journal check"
            )
        else:
            print("no runner alive: the next one starts active")
        return 0
