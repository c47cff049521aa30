"""The one way real_trade turns SIGINT and SIGTERM into a graceful stop.

Used by the runner (``TradingRunner``) and by a live feed under Cerebro in a plain script
(:class:`real_trade.feeds.BaseData`): the first signal asks for a graceful stop, a second one
stops at once (KeyboardInterrupt). Light on purpose: importing it imports nothing heavy.

:func:`stop_cerebro_on_signals` is the feed's use: a live feed run by Cerebro in the main thread
of a plain script (SIGINT and SIGTERM still at Python's defaults) makes the first Ctrl-C or
SIGTERM stop the run gracefully: Cerebro ends after the current bar, the strategy's ``stop``
runs, ``cerebro.run()`` returns. A second one interrupts at once. Handlers the program installed
itself are left alone, and :func:`restore_signals` puts the defaults back when the feed stops.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["install_stop_signals", "restore_signals", "stop_cerebro_on_signals"]


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


def restore_signals(previous: dict[Any, Any]) -> None:
    """Put back the handlers an install returned (no-op for an empty dict)."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def stop_cerebro_on_signals(cerebro: Any, say: Callable[[str], None]) -> dict[Any, Any]:
    """Make Ctrl-C / SIGTERM stop ``cerebro`` gracefully (module docstring); return the handlers
    to restore (none when not in a plain script's main thread under Cerebro)."""
    if cerebro is None or threading.current_thread() is not threading.main_thread():
        return {}
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return {}
    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
        return {}
    requested: list[bool] = []

    def request_stop() -> None:
        requested.append(True)
        cerebro.runstop()

    previous = install_stop_signals(request_stop, lambda: bool(requested), say)
    graceful: dict[int, Any] = {signum: signal.getsignal(signum) for signum in previous}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if _inside_run(cerebro, frame):
            graceful[signum](signum, frame)
            return
        # cerebro.run() has ended without stopping the feed (it raised): the program's own
        # handlers are back, and this signal goes to them
        restore_signals(previous)
        handler = previous[signum]
        if callable(handler):
            handler(signum, frame)
        elif handler == signal.SIG_DFL:
            signal.raise_signal(signum)

    for signum in previous:
        signal.signal(signum, on_signal)
    return previous


def _inside_run(cerebro: Any, frame: FrameType | None) -> bool:
    """Whether ``frame`` (the main thread's, as a signal handler gets it) is inside
    ``cerebro.run()``."""
    run_code = getattr(type(cerebro).run, "__code__", None)
    while frame is not None:
        if frame.f_code is run_code and frame.f_locals.get("self") is cerebro:
            return True
        frame = frame.f_back
    return False
