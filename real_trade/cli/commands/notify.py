"""``real-trade notify CONFIG.toml [--test] [--strategy NAME]``: the dead-man watcher and the
channel check of ``[notifications]``.

``--test`` sends one test message straight to every configured channel and prints, per channel,
``ok`` or why it failed (exit code 0 when all went through, 1 otherwise): run it once after
setting a channel up. Without it the command is the *watcher*, meant to run beside
``real-trade run`` as its own process (a systemd unit, a container): it watches the runner's
heartbeat in the journal (``--strategy NAME``'s, else ``run.name``'s, else the newest of the
database) and, when it stops for ``dead_man_after`` seconds without the runner saying it
stopped, sends the dead-man alert, then delivers whatever the dead runner left in the outbox
(that run's rows when a name is known, else every row).
While the runner is alive it only watches (the runner's own worker delivers). SIGINT/SIGTERM
stop it. Exit code 2 for a bad config or no channel configured.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from real_trade.config import RealTradeConfig
    from real_trade.notifications import NotificationsConfig

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the config file and the options."""
    parser.add_argument("config", help="the RealTradeConfig TOML (or JSON) file")
    parser.add_argument("--test", action="store_true", help="send a test message to each channel")
    parser.add_argument("--strategy", default=None, help="the run name whose heartbeat to watch")


def run(args: argparse.Namespace) -> int:
    """Check the channels (``--test``) or watch the heartbeat; see the module docstring."""
    from real_trade.cli.commands.kill import load_config

    config = load_config(args.config)
    if config is None:
        return 2
    section = config.notifications
    if not section.configured:
        print(
            "error: [notifications] configures no channel (telegram, webhook, email or apprise)",
            file=sys.stderr,
        )
        return 2
    if args.test:
        return _test(section)
    return _watch(config, args.strategy or config.run.name)


def _test(section: NotificationsConfig) -> int:
    from real_trade.errors import RealTradeError, redact
    from real_trade.notifications import Message, build_channels

    failed = 0
    for channel in build_channels(section):
        try:
            channel.send(
                Message("real_trade test message", "If you read this, the channel works.", "test")
            )
            print(f"{channel.name:9s} ok")
        except RealTradeError as exc:
            failed += 1
            print(f"{channel.name:9s} FAILED: {redact(str(exc))}")
    return 1 if failed else 0


def _watch(config: RealTradeConfig, strategy: str | None) -> int:
    from real_trade.bus import EventBus
    from real_trade.engine.control import HEARTBEAT_KEY, heartbeat_key
    from real_trade.notifications import Notifier
    from real_trade.utils.stop_signals import install_stop_signals

    key = heartbeat_key(strategy) if strategy else HEARTBEAT_KEY
    notifier = Notifier(
        config.notifications,
        config.journal.url,
        bus=EventBus(),
        strategy=strategy or "",
        heartbeat_key=key,
        standby=True,
    )
    stop = threading.Event()
    previous = install_stop_signals(stop.set, stop.is_set, print)
    notifier.start()
    print(f"watching heartbeat {key!r}; channels: {', '.join(notifier.channel_names)}")
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        notifier.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
