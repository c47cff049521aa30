"""``RealTimeMonitor`` (seed 003): the orders, fills, positions, account and alerts of a run as
they happen, from the bus.

:meth:`RealTimeMonitor.attach` subscribes to ``order.*`` (:meth:`~RealTimeMonitor.on_order_update`),
``fill`` (:meth:`~RealTimeMonitor.on_trade`, which also moves the position and calls
:meth:`~RealTimeMonitor.on_position_update`), ``account.snapshot`` (the account; a position that
differs from what the fills made it is corrected through ``on_position_update``), and the
topics that deserve an operator's attention, each turned into a :class:`RiskAlert` for
:meth:`~RealTimeMonitor.on_risk_alert`: ``risk.decision`` (denials only), ``killswitch.**``,
``feed.stale``, ``feed.reconnect`` and ``reconcile.**``. The four ``on_*`` methods are the seed's
interface: subclass and override them (call ``super()``) or pass ``listener`` to be told of
everything. Handlers run on the bus's dispatcher thread; nothing on the trading path waits.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from real_trade.bus import EventBus, Subscription
from real_trade.execution.events import FillEvent, OrderUpdate
from real_trade.persistence.records import AccountSnapshot

__all__ = ["ALERT_TOPICS", "PositionUpdate", "RealTimeMonitor", "RiskAlert"]

ALERT_TOPICS = ("risk.decision", "killswitch.**", "feed.stale", "feed.reconnect", "reconcile.**")
"""The bus topics a :class:`RealTimeMonitor` turns into :class:`RiskAlert` s."""

_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class PositionUpdate:
    """The position of ``strategy`` in ``symbol`` moved from ``previous`` to ``size`` (base
    units, signed) at ``time_ms``; ``source`` is ``"fill"`` or ``"snapshot"``."""

    strategy: str
    symbol: str
    size: float
    previous: float
    time_ms: int
    source: str = "fill"


@dataclass(frozen=True, slots=True)
class RiskAlert:
    """Something an operator should know: ``kind`` is the bus topic (``"risk.decision"``,
    ``"killswitch.halted"``, ``"feed.stale"``...), ``message`` a sentence, ``detail`` the
    event's fields."""

    kind: str
    message: str
    strategy: str = ""
    time_ms: int = 0
    detail: Mapping[str, Any] = field(default_factory=dict)


def _fields(event: Any) -> dict[str, Any]:
    from real_trade.persistence.rows import event_payload

    try:
        return dict(event_payload(event))
    except Exception:  # an event the journal's encoder does not know: keep its words only
        return {"event": repr(event)}


def alert_of(topic: str, event: Any) -> RiskAlert | None:
    """The :class:`RiskAlert` of a bus event on one of :data:`ALERT_TOPICS` (None for an
    allowed risk decision)."""
    if topic == "risk.decision":
        if getattr(event, "allowed", True):
            return None
        order = getattr(event, "order", None)
        detail = {
            "rule": getattr(event, "rule", None),
            "limit": getattr(event, "limit", None),
            "value": getattr(event, "value", None),
            "symbol": getattr(order, "symbol", None),
        }
        return RiskAlert(
            topic,
            getattr(event, "reason", "") or f"order refused by risk rule {detail['rule']}",
            str(getattr(event, "strategy", "") or getattr(order, "strategy", "") or ""),
            0,
            detail,
        )
    detail = _fields(event)
    symbol = detail.get("symbol")
    if topic == "feed.stale":
        message = f"feed {symbol} stale: no bar for {detail.get('seconds_since_bar', 0):.0f} s"
    elif topic == "feed.reconnect":
        message = f"feed {symbol} reconnected ({detail.get('reason')})"
    else:
        reason = detail.get("reason") or detail.get("kind") or ""
        message = f"{topic}: {reason}".rstrip(": ")
    stamp = detail.get("time_ms")
    time_ms = stamp if isinstance(stamp, int) and not isinstance(stamp, bool) else 0
    return RiskAlert(topic, message, str(detail.get("strategy") or ""), time_ms, detail)


Listener = Callable[[str, Any], None]
"""``listener(kind, item)``: kind is ``"order"``, ``"trade"``, ``"position"`` or ``"alert"``."""


class RealTimeMonitor:
    """The live state of one run (``strategy``) or of every run on the bus (None).

    Keeps the latest update of every open order and of the last ``recent`` ended ones
    (:attr:`orders`, open ones in :meth:`open_orders`; the oldest ended are forgotten first, so
    a run of weeks keeps a window, not every order it sent), the last ``recent`` fills and
    alerts, the positions and the latest account snapshot. Thread-safe.
    """

    def __init__(
        self,
        bus: EventBus | None = None,
        *,
        strategy: str | None = None,
        recent: int = 1000,
        listener: Listener | None = None,
    ) -> None:
        """Start empty; subscribe to ``bus`` at once when given."""
        self.strategy = strategy
        self.listener = listener
        self.orders: dict[str, OrderUpdate] = {}
        self.created_ms: dict[str, int] = {}
        self.recent = recent
        self._ended: dict[str, None] = {}  # keys of ended orders, the last ended last
        self.fills: collections.deque[FillEvent] = collections.deque(maxlen=recent)
        self.alerts: collections.deque[RiskAlert] = collections.deque(maxlen=recent)
        self.positions: dict[tuple[str, str], float] = {}
        self.account: AccountSnapshot | None = None
        self.accounts: dict[str, AccountSnapshot] = {}
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.RLock()
        self._subs: list[Subscription] = []
        if bus is not None:
            self.attach(bus)

    def __repr__(self) -> str:
        """Counts, not contents."""
        return (
            f"RealTimeMonitor(strategy={self.strategy!r}, orders={len(self.orders)}, "
            f"fills={self.counts['trade']}, alerts={self.counts['alert']})"
        )

    # -- the bus -------------------------------------------------------------------------
    def attach(self, bus: EventBus) -> RealTimeMonitor:
        """Subscribe to the topics of the module docstring."""
        if self._subs:
            raise RuntimeError(f"{self!r} is already attached; detach() first")
        self._subs = [
            bus.subscribe("order.*", self._on_order),
            bus.subscribe("fill", self._on_fill),
            bus.subscribe("account.snapshot", self._on_snapshot),
            *(bus.subscribe(pattern, self._on_alert) for pattern in ALERT_TOPICS),
        ]
        return self

    def detach(self) -> None:
        """Unsubscribe (the state seen stays); harmless twice."""
        for sub in self._subs:
            sub.unsubscribe()
        self._subs = []

    def _mine(self, strategy: str | None) -> bool:
        return self.strategy is None or not strategy or strategy == self.strategy

    def _on_order(self, topic: str, event: Any) -> None:
        if isinstance(event, OrderUpdate) and self._mine(event.strategy):
            self.on_order_update(event)

    def _on_fill(self, topic: str, event: Any) -> None:
        if isinstance(event, FillEvent) and self._mine(event.strategy):
            self.on_trade(event)

    def _on_snapshot(self, topic: str, event: Any) -> None:
        if not isinstance(event, AccountSnapshot) or not self._mine(event.strategy):
            return
        with self._lock:
            self.account = event
            self.accounts[event.strategy] = event
            moved = []
            for symbol, size in event.positions.items():
                previous = self.positions.get((event.strategy, symbol), 0.0)
                if abs(size - previous) > _EPS:
                    moved.append(
                        PositionUpdate(
                            event.strategy, symbol, size, previous, event.time_ms, "snapshot"
                        )
                    )
        for update in moved:
            self.on_position_update(update)

    def _on_alert(self, topic: str, event: Any) -> None:
        alert = event if isinstance(event, RiskAlert) else alert_of(topic, event)
        if alert is not None and self._mine(alert.strategy):
            self.on_risk_alert(alert)

    def _tell(self, kind: str, item: Any) -> None:
        self.counts[kind] += 1
        if self.listener is not None:
            self.listener(kind, item)

    # -- the seed's interface ------------------------------------------------------------
    def on_order_update(self, update: OrderUpdate) -> None:
        """An order changed state: keep its latest update (by client order id; by strategy and
        ``local_id`` while the order is held locally, not sent yet)."""
        with self._lock:
            local = f"local:{update.strategy}:{update.local_id}"
            key = update.client_order_id or local
            if key != local and local in self.orders:  # held locally until sent: one order
                del self.orders[local]
                self.created_ms.setdefault(key, self.created_ms.pop(local))
            self.created_ms.setdefault(key, update.time_ms)
            self.orders[key] = update
            if not update.state.alive:
                ended = self._ended
                ended.pop(key, None)
                ended[key] = None
                if len(ended) > self.recent + max(1, self.recent // 4):
                    self._forget_ended()
        self._tell("order", update)

    def _forget_ended(self) -> None:
        """Forget the orders that ended longest ago past the last :attr:`recent` (under the
        lock); one updated since it ended (alive again) stays."""
        ended, orders = self._ended, self.orders
        for key in list(ended)[: len(ended) - self.recent]:
            del ended[key]
            update = orders.get(key)
            if update is not None and not update.state.alive:
                del orders[key]
                self.created_ms.pop(key, None)

    def on_trade(self, trade: FillEvent) -> None:
        """An execution: keep it and move the position by its ``position_change``."""
        with self._lock:
            self.fills.append(trade)
            key = (trade.strategy, trade.symbol)
            previous = self.positions.get(key, 0.0)
        self._tell("trade", trade)
        size = previous + trade.position_change
        self.on_position_update(
            PositionUpdate(trade.strategy, trade.symbol, size, previous, trade.time_ms)
        )

    def on_position_update(self, update: PositionUpdate) -> None:
        """A position moved: keep its new size."""
        with self._lock:
            self.positions[(update.strategy, update.symbol)] = update.size
        self._tell("position", update)

    def on_risk_alert(self, alert: RiskAlert) -> None:
        """Something for the operator: keep it among the recent alerts."""
        with self._lock:
            self.alerts.append(alert)
        self._tell("alert", alert)

    # -- reading -------------------------------------------------------------------------
    def open_orders(self) -> list[OrderUpdate]:
        """The orders whose latest update is not final, oldest first."""
        with self._lock:
            live = [(self.created_ms[k], u) for k, u in self.orders.items() if u.state.alive]
        return [u for _, u in sorted(live, key=lambda p: p[0])]

    def position_sizes(self) -> dict[tuple[str, str], float]:
        """The positions, ``{(strategy, symbol): size}`` (a copy)."""
        with self._lock:
            return dict(self.positions)

    def recent_fills(self, count: int | None = None) -> list[FillEvent]:
        """The last ``count`` fills (all kept ones when None), oldest first."""
        with self._lock:
            items = list(self.fills)
        return items if count is None else items[-count:] if count > 0 else []
