"""``RunConsole``: what an operator watching ``real-trade run`` sees, one readable line per event.

One line per closed live bar (bar time, symbol, close, position, cash and equity), per order
state change and per fill (from the bus topics ``order.*`` and ``fill``), per feed state change
(``feed.state.*``), and the runner's own notes (signals, kill requests, stop). Backfilled bars
are counted, not printed, and summed up once the feed is live. Every line starts with the local
wall-clock time. Lines are written whole, under a lock, so the bus thread and the trading
thread never interleave mid-line.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from real_trade.bus import EventBus, Subscription
from real_trade.engine.runtime import BarReport

__all__ = ["RunConsole"]


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


class RunConsole:
    """Prints a run's progress to ``out`` (default: standard output); see the module docstring.

    ``RunConsole(out=None, *, show_backfill=False)``. :meth:`attach` subscribes to a bus,
    :meth:`detach` undoes it; :meth:`on_bar` is the runner's ``on_bar`` callback; :meth:`note`
    prints a free-form line. :attr:`lines` counts what was printed.
    """

    def __init__(self, out: TextIO | None = None, *, show_backfill: bool = False) -> None:
        """Print to ``out``; ``show_backfill`` prints backfilled bars too."""
        self.out = out
        self.show_backfill = show_backfill
        self.lines = 0
        self.backfilled = 0
        self._summed_up = False
        # reentrant: the SIGTERM handler prints its note on the main thread, which may be
        # inside write() already (a bar line); a plain lock would deadlock the stop
        self._lock = threading.RLock()
        self._subs: list[Subscription] = []

    # -- plumbing ------------------------------------------------------------------------
    def write(self, text: str) -> None:
        """Print one line, stamped with the local time."""
        stamp = time.strftime("%H:%M:%S")
        stream = self.out if self.out is not None else sys.stdout
        with self._lock:
            stream.write(f"[{stamp}] {text}\n")
            stream.flush()
            self.lines += 1

    def note(self, text: str) -> None:
        """Print a runner note (a signal, a kill request, the stop)."""
        self.write(text)

    def attach(self, bus: EventBus) -> None:
        """Subscribe to the order, fill and feed-state topics of ``bus``."""
        for pattern, handler in (
            ("order.*", self._on_order),
            ("fill", self._on_fill),
            ("feed.state.*", self._on_feed_state),
        ):
            self._subs.append(bus.subscribe(pattern, handler))

    def detach(self) -> None:
        """Unsubscribe from the bus (harmless twice)."""
        for sub in self._subs:
            sub.unsubscribe()
        self._subs.clear()

    # -- events --------------------------------------------------------------------------
    def on_bar(self, bar: BarReport) -> None:
        """One line per closed live bar (backfilled ones are counted, then summed up)."""
        if not bar.live and not self.show_backfill:
            self.backfilled += 1
            return
        if bar.live and not self._summed_up and self.backfilled:
            self._summed_up = True
            self.write(f"warmed up on {self.backfilled} backfilled bar(s); trading live")
        tag = "" if bar.live else "  (backfill)"
        self.write(
            f"bar   {bar.time:%Y-%m-%d %H:%M}  {bar.symbol:<10} close {_num(bar.close):>12}  "
            f"position {bar.position:.6g}  cash {_num(bar.cash)}  equity {_num(bar.value)}{tag}"
        )

    def _on_order(self, topic: str, event: Any) -> None:
        state = getattr(getattr(event, "state", None), "name", None) or topic.split(".")[-1]
        side = str(getattr(event, "side", "?")).upper()
        kind = str(getattr(event, "kind", ""))
        price = getattr(event, "price", None) or getattr(event, "stop_price", None)
        where = f" @ {_num(price)}" if price else ""
        line = (
            f"order #{getattr(event, 'local_id', '?')} {side} {getattr(event, 'amount', 0):.6g} "
            f"{getattr(event, 'symbol', '?')} {kind}{where}: {state}"
        )
        reason = getattr(event, "reason", None)
        if reason:
            line += f" ({reason})"
        cid = getattr(event, "client_order_id", "")
        if cid:
            line += f"  [{cid}]"
        self.write(line)

    def _on_fill(self, topic: str, event: Any) -> None:
        fee = getattr(event, "commission", 0.0)
        asset = getattr(event, "commission_asset", None) or ""
        self.write(
            f"fill  #{getattr(event, 'local_id', '?')} {str(getattr(event, 'side', '?')).upper()} "
            f"{getattr(event, 'amount', 0):.6g} {getattr(event, 'symbol', '?')} @ "
            f"{_num(getattr(event, 'price', None))}  fee {fee:.6g} {asset}".rstrip()
        )

    def _on_feed_state(self, topic: str, event: Any) -> None:
        state = getattr(getattr(event, "state", None), "name", None) or str(event)
        reason = getattr(event, "reason", "")
        symbol = topic.split(".", 2)[-1]
        self.write(f"feed  {symbol}: {state}" + (f" ({reason})" if reason else ""))
