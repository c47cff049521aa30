"""``MetricsExporter``: the run's bus events turned into ``realtrade_*`` Prometheus metrics.

The exporter only subscribes to the bus; nothing on the trading path calls it. Its handlers run
on the bus's dispatcher thread and do a few dictionary updates each. What it listens to:

==============================  ==========================================================
topic                           metrics
==============================  ==========================================================
``order.*`` (OrderUpdate)       orders, orders closed by state, rejections by reason class,
                                open orders, acknowledgement latency (sent -> accepted)
``fill`` (FillEvent)            fills, traded value, fees, fill latency (sent -> first
                                fill), position and average entry (unrealized PnL)
``engine.bar`` (BarReport)      bars, equity, cash, drawdown, position and its value at the
                                bar's close, loop time
``engine.heartbeat``            heartbeat (the loop went round since the last one)
``account.snapshot``            equity and cash (a journaled run between bars)
``risk.decision``               risk blocks by rule
``killswitch.**``               kill switch engaged
``feed.bar.*`` / ``feed.stale``  feed lag (computed when scraped), stale events
``feed.reconnect``              reconnects (``source="feed"``)
``venue.stream.*``              reconnects (``source="stream"``: connected after a drop)
``venue.request``               exchange request duration by ccxt method, errors by kind
``reconcile.**``                reconciliation findings by kind
``notification.**``             alerts by channel and result (the notifier's deliveries)
==============================  ==========================================================

The gauges that move on every bar (equity, cash, peak, drawdown, heartbeat, and per symbol the
position, its value and unrealized PnL) are read at scrape time (``Gauge.set_function``) from
plain attributes the handlers overwrite, so a bar costs attribute stores, one counter
increment and one histogram observation; the other families are updated per event.

Latencies are measured on this process's monotonic clock when the events are delivered (both
ends of a latency are delivered by the same thread in publishing order, so the queueing delay
cancels out). Gauges computed at scrape time: ``realtrade_feed_lag_seconds`` (wall time now
minus the close time of the feed's newest closed bar, never below 0),
``realtrade_feed_timeframe_seconds``, ``realtrade_feed_last_bar_timestamp_seconds`` and
``realtrade_journal_backlog`` (bus events not yet delivered to the journal and the others).
"""

from __future__ import annotations

import logging
import platform
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from real_trade.bus import EventBus, Subscription
from real_trade.monitor.prometheus import labels
from real_trade.monitor.prometheus.families import RunMetrics

__all__ = ["MetricsExporter"]

_log = logging.getLogger("real_trade.monitor.prometheus")
_MAX_TRACKED = 10_000  # orders remembered for latencies / open counts (a backstop)


@dataclass
class _Position:
    size: float = 0.0
    entry: float = 0.0  # average entry price of the open size
    last: float | None = None


class MetricsExporter:
    """Subscribes a :class:`RunMetrics` to a bus (see the module docstring).

    ``bus`` is the run's bus; ``timeframe`` the bar length of its feeds (``"1m"``: feed lag and
    the ``feed_timeframe_seconds`` gauge); ``info`` the build-info labels (``bot``,
    ``exchange``, ``mode``). :meth:`attach` subscribes, :meth:`detach` unsubscribes; the
    counters live as long as the exporter, across runs.
    """

    def __init__(
        self,
        *,
        timeframe: str = "1m",
        bot: str = "",
        exchange: str = "",
        mode: str = "",
        metrics: RunMetrics | None = None,
    ) -> None:
        """Create the metrics (a private registry) and the build-info sample."""
        from real_trade import __version__
        from real_trade.feeds.timeframes import timeframe_ms

        self.metrics = metrics if metrics is not None else RunMetrics()
        self.registry = self.metrics.registry
        self.timeframe = timeframe
        self._tf_seconds = timeframe_ms(timeframe) / 1000.0
        self.metrics.build_info.labels(
            __version__, platform.python_version(), bot, exchange, mode
        ).set(1)
        self._bus: EventBus | None = None
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()
        self._sent: dict[tuple[str, int], float] = {}  # order -> monotonic time it was sent
        self._acked: set[tuple[str, int]] = set()
        self._filled: set[tuple[str, int]] = set()
        self._alive: dict[tuple[str, int], str] = {}  # order -> symbol
        self._positions: dict[str, _Position] = {}
        self._feeds: dict[str, int] = {}  # symbol -> open time (ms) of the newest closed bar
        self._streams: dict[tuple[str, str, str], str] = {}
        self._peak: float | None = None
        self._account = (0.0, 0.0, 0.0, 0.0)  # equity, cash, peak, drawdown: read when scraped
        self._beat = 0.0  # heartbeat (Unix seconds): read when scraped
        self._shown: dict[str, tuple[float, float, float]] = {}  # symbol -> size, value, upnl
        self._per_symbol: dict[str, Any] = {}  # symbol -> bars counter child, cached
        self._passes: int | None = None
        m = self.metrics
        for index, gauge in enumerate((m.equity, m.cash, m.equity_peak, m.drawdown)):
            gauge.set_function(partial(self._account_value, index))
        m.heartbeat.set_function(lambda: self._beat)
        self.registry.register(_Computed(self))

    # -- the bus -------------------------------------------------------------------------
    def attach(self, bus: EventBus) -> MetricsExporter:
        """Subscribe to ``bus`` (once; a second bus needs :meth:`detach` first)."""
        if self._bus is not None:
            raise RuntimeError("the metrics exporter is already attached to a bus")
        self._bus = bus
        for pattern, handler in (
            ("order.*", self._on_order),
            ("fill", self._on_fill),
            ("engine.bar", self._on_bar),
            ("engine.heartbeat", self._on_heartbeat),
            ("account.snapshot", self._on_snapshot),
            ("risk.decision", self._on_risk),
            ("killswitch.**", self._on_kill),
            ("feed.bar.*", self._on_feed_bar),
            ("feed.stale", self._on_stale),
            ("feed.reconnect", self._on_reconnect),
            ("venue.stream.*", self._on_stream),
            ("venue.request", self._on_request),
            ("reconcile.**", self._on_reconcile),
            ("notification.**", self._on_notification),
        ):
            self._subs.append(bus.subscribe(pattern, handler))
        return self

    def detach(self) -> None:
        """Unsubscribe from the bus; harmless twice."""
        for sub in self._subs:
            sub.unsubscribe()
        self._subs.clear()
        self._bus = None

    @property
    def backlog(self) -> int:
        """Events on the attached bus not delivered yet (0 when detached)."""
        bus = self._bus
        return 0 if bus is None else bus.backlog

    # -- orders and fills ----------------------------------------------------------------
    def _on_order(self, _topic: str, event: Any) -> None:
        state = getattr(event, "state", None)
        if state is None or not hasattr(event, "local_id"):
            return
        m, key, symbol = self.metrics, (event.strategy, event.local_id), event.symbol
        name = state.name.lower()
        now = time.monotonic()
        if name == "submitted":
            m.orders.labels(symbol, event.side, event.kind).inc()
            if len(self._sent) < _MAX_TRACKED:
                self._sent[key] = now
        elif name == "accepted" and key in self._sent and key not in self._acked:
            self._acked.add(key)
            m.ack_latency.observe(now - self._sent[key])
        if state.alive:
            if key not in self._alive and len(self._alive) < _MAX_TRACKED:
                self._alive[key] = symbol
                m.open_orders.labels(symbol).set(self._open_count(symbol))
            return
        m.orders_closed.labels(symbol, name).inc()
        if name in ("rejected", "margin"):
            m.rejections.labels(labels.rejection_reason(event.reason, name)).inc()
        for book in (self._sent, self._alive):
            book.pop(key, None)
        self._acked.discard(key)
        self._filled.discard(key)
        m.open_orders.labels(symbol).set(self._open_count(symbol))

    def _open_count(self, symbol: str) -> int:
        return sum(1 for s in self._alive.values() if s == symbol)

    def _on_fill(self, _topic: str, event: Any) -> None:
        if not hasattr(event, "fee_in_quote"):
            return
        m, symbol, side = self.metrics, event.symbol, event.side
        m.fills.labels(symbol, side).inc()
        m.fill_notional.labels(symbol, side).inc(abs(event.price * event.amount))
        if event.fee_in_quote:
            m.fees.labels(symbol).inc(abs(event.fee_in_quote))
        key = (event.strategy, event.local_id)
        sent = self._sent.get(key)
        if sent is not None and key not in self._filled:
            self._filled.add(key)
            m.fill_latency.observe(time.monotonic() - sent)
        with self._lock:
            pos = self._positions.setdefault(symbol, _Position())
            _apply_fill(pos, event.position_change, event.price)
            pos.last = event.price
        self._show_position(symbol)

    # -- account -------------------------------------------------------------------------
    def _on_bar(self, _topic: str, report: Any) -> None:
        if not hasattr(report, "value"):
            return
        m, symbol = self.metrics, report.symbol
        self._bars(symbol).inc()
        seconds = getattr(report, "loop_seconds", None)
        if seconds is not None and seconds >= 0:
            m.loop_duration.observe(seconds)
        with self._lock:
            pos = self._positions.setdefault(symbol, _Position())
            if abs(report.position) < 1e-12:
                pos.size, pos.entry = 0.0, 0.0
            elif pos.size == 0.0 or (pos.size > 0) != (report.position > 0):
                pos.size, pos.entry = report.position, report.close
            else:
                pos.size = report.position
            pos.last = report.close
        self._show_position(symbol)
        self._show_equity(report.value, report.cash)
        self._beat = time.time()

    def _on_snapshot(self, _topic: str, snapshot: Any) -> None:
        if hasattr(snapshot, "equity"):
            self._show_equity(snapshot.equity, snapshot.cash)

    def _show_equity(self, equity: float, cash: float) -> None:
        peak = self._peak = equity if self._peak is None or equity > self._peak else self._peak
        drawdown = (peak - equity) / peak if peak > 0 else 0.0
        self._account = (float(equity), float(cash), float(peak), drawdown)

    def _account_value(self, index: int) -> float:
        """Equity, cash, peak or drawdown (by ``index``), read when scraped."""
        return self._account[index]

    def _position_value(self, symbol: str, index: int) -> float:
        """Size, value or unrealized PnL (by ``index``) of ``symbol``, read when scraped."""
        return self._shown[symbol][index]

    def _bars(self, symbol: str) -> Any:
        """The per-symbol bar counter (``labels()`` once per symbol)."""
        found = self._per_symbol.get(symbol)
        if found is None:
            found = self._per_symbol[symbol] = self.metrics.bars.labels(symbol)
        return found

    def _show_position(self, symbol: str) -> None:
        with self._lock:
            pos = self._positions[symbol]
            size, entry, last = pos.size, pos.entry, pos.last
        shown = self._shown.get(symbol)
        if shown is None:  # first sight of the symbol: its gauges read self._shown when scraped
            shown = self._shown[symbol] = (0.0, 0.0, 0.0)
            m = self.metrics
            for index, family in enumerate((m.position, m.position_notional, m.unrealized)):
                family.labels(symbol).set_function(partial(self._position_value, symbol, index))
        if last is None:
            self._shown[symbol] = (float(size), shown[1], shown[2])
        else:
            upnl = size * (last - entry) if size else 0.0
            self._shown[symbol] = (float(size), float(size * last), float(upnl))

    def _on_heartbeat(self, _topic: str, event: Any) -> None:
        passes = event.get("passes") if isinstance(event, dict) else getattr(event, "passes", None)
        if passes is None or self._passes is None or passes != self._passes:
            self._beat = time.time()
        self._passes = passes

    # -- risk, kill switch, feeds, venue, reconcile, alerts ------------------------------
    def _on_risk(self, _topic: str, decision: Any) -> None:
        if getattr(decision, "allowed", True) is False:
            self.metrics.risk_blocks.labels(labels.identifier(decision.rule)).inc()

    def _on_kill(self, topic: str, _event: Any) -> None:
        if topic in ("killswitch.engaged", "killswitch.halted"):
            self.metrics.kill_switch.set(1)

    def _on_feed_bar(self, topic: str, bar: Any) -> None:
        open_ms = getattr(bar, "open_ms", None)
        if isinstance(open_ms, int):
            symbol = topic.split(".", 2)[2]
            with self._lock:
                if open_ms > self._feeds.get(symbol, -1):
                    self._feeds[symbol] = open_ms

    def _on_stale(self, _topic: str, event: Any) -> None:
        self.metrics.feed_stale.labels(str(getattr(event, "symbol", "?"))).inc()

    def _on_reconnect(self, _topic: str, _event: Any) -> None:
        self.metrics.reconnects.labels("feed").inc()

    def _on_stream(self, _topic: str, change: Any) -> None:
        key = (str(change.venue), str(change.kind), str(change.symbol))
        before = self._streams.get(key)
        self._streams[key] = change.state
        if change.state == "connected" and before == "disconnected":
            self.metrics.reconnects.labels("stream").inc()

    def _on_request(self, _topic: str, request: Any) -> None:
        m = self.metrics
        m.request_duration.labels(labels.identifier(request.method)).observe(request.seconds)
        if request.error:
            m.exchange_errors.labels(labels.error_kind(request.error)).inc()

    def _on_reconcile(self, topic: str, _event: Any) -> None:
        self.metrics.reconcile.labels(labels.identifier(topic.split(".", 1)[1])).inc()

    def _on_notification(self, topic: str, event: Any) -> None:
        get = event.get if isinstance(event, dict) else lambda k: getattr(event, k, None)
        result = get("result") or topic.rsplit(".", 1)[-1]
        count = get("alerts")
        self.metrics.alerts.labels(
            labels.alert_channel(get("channel")), labels.alert_result(result)
        ).inc(count if isinstance(count, int) and count > 0 else 1)

    # -- computed at scrape time ---------------------------------------------------------
    def feed_samples(self, now: float | None = None) -> list[tuple[str, float, float]]:
        """``(symbol, lag seconds, last bar close time)`` of every feed seen."""
        now = time.time() if now is None else now
        with self._lock:
            feeds = dict(self._feeds)
        out = []
        for symbol, open_ms in sorted(feeds.items()):
            close = open_ms / 1000.0 + self._tf_seconds
            out.append((symbol, max(0.0, now - close), close))
        return out


def _apply_fill(pos: _Position, change: float, price: float) -> None:
    """Move ``pos`` by ``change`` base units at ``price``, keeping the average entry price."""
    new = pos.size + change
    if abs(new) < 1e-12:
        pos.size, pos.entry = 0.0, 0.0
    elif pos.size == 0.0 or ((pos.size > 0) != (new > 0) and abs(change) > abs(pos.size)):
        pos.size, pos.entry = new, price  # opened, or flipped through zero
    elif (pos.size > 0) == (change > 0):
        pos.entry = (pos.entry * abs(pos.size) + price * abs(change)) / abs(new)
        pos.size = new
    else:
        pos.size = new  # reduced: the entry price of what is left stays


class _Computed(Collector):
    """The gauges an exporter computes when Prometheus scrapes (feed lag, journal backlog)."""

    def __init__(self, exporter: MetricsExporter) -> None:
        self._exporter = exporter

    def describe(self) -> Iterable[GaugeMetricFamily]:
        """No description up front: the registry then calls :meth:`collect` to learn names."""
        return []

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """The feed gauges per symbol and the journal backlog, as of now."""
        exp = self._exporter
        lag = GaugeMetricFamily(
            "realtrade_feed_lag_seconds",
            "Wall time since the close of the feed's newest closed bar (0 when ahead)",
            labels=["symbol"],
        )
        frame = GaugeMetricFamily(
            "realtrade_feed_timeframe_seconds", "Bar length of the feed", labels=["symbol"]
        )
        last = GaugeMetricFamily(
            "realtrade_feed_last_bar_timestamp_seconds",
            "Close time (Unix) of the feed's newest closed bar",
            labels=["symbol"],
        )
        for symbol, seconds, close in exp.feed_samples():
            lag.add_metric([symbol], seconds)
            frame.add_metric([symbol], exp._tf_seconds)
            last.add_metric([symbol], close)
        backlog = GaugeMetricFamily(
            "realtrade_journal_backlog",
            "Bus events published and not yet delivered to the journal and the other subscribers",
            value=exp.backlog,
        )
        return [lag, frame, last, backlog]
