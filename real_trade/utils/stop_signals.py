"""The one way real_trade turns SIGINT and SIGTERM into a graceful stop.

Used by the runner (``TradingRunner``) and by a live feed under Cerebro in a plain script
(:class:`real_trade.feeds.BaseData`): the first signal asks for a graceful stop, a second one
stops at once (KeyboardInterrupt). Light on purpose: importing it imports nothing heavy.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["install_stop_signals"]


def install_stop_signals(
    request_stop: Callable[[], None],
    stopping: Callable[[], bool],
    say: Callable[[str], None],
) -> dict[Any, Any]:
    """In the main thread, make SIGINT and SIGTERM call ``request_stop`` (graceful), and a
    second one raise KeyboardInterrupt (at once). Returns the previous handlers to restore
    (empty outside the main thread, where Python allows no handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stopping():
            raise KeyboardInterrupt(f"{name} again: stopping at once")
        say(f"{name} received: stopping gracefully ({name} again stops at once)")
        request_stop()

    return {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
