"""The metric families of a run, each in its own :class:`prometheus_client.CollectorRegistry`.

:class:`RunMetrics` creates every ``realtrade_*`` counter, gauge and histogram once, in a
registry of its own (never prometheus_client's global default, so two runs or a test never
collide). Names follow Prometheus' rules: the ``realtrade_`` prefix, base units (seconds,
ratio, the quote currency), ``_total`` on counters. Labels are few and bounded: ``symbol``,
``side``, ``kind``/``state`` of an order, and ``reason``/``rule``/``kind`` from the fixed sets of
:mod:`real_trade.monitor.prometheus.labels`; never an order id. :data:`METRIC_NAMES` lists the
names as Prometheus exposes them (a counter ``x`` is scraped as ``x_total``; a histogram as
``x_bucket``, ``x_sum`` and ``x_count``), for the check of the dashboard and the alert rules.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["LATENCY_BUCKETS", "LOOP_BUCKETS", "METRIC_NAMES", "RunMetrics"]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Histogram buckets (seconds) of the order and exchange request latencies."""
LOOP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Histogram buckets (seconds) of one pass of the trading loop."""


class RunMetrics:
    """Every ``realtrade_*`` family of one run, registered in :attr:`registry`.

    The attributes are the prometheus_client objects; :class:`~real_trade.monitor.prometheus.
    exporter.MetricsExporter` updates them from the bus. The computed gauges (feed lag, journal
    backlog, heartbeat age) are added by the exporter's own collector at scrape time.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        """Create the families in ``registry`` (a new, private one by default)."""
        r = self.registry = registry if registry is not None else CollectorRegistry()
        # counters
        self.orders = Counter(
            "realtrade_orders_submitted",
            "Orders sent (to the venue or the paper engine)",
            ["symbol", "side", "kind"],
            registry=r,
        )
        self.orders_closed = Counter(
            "realtrade_orders_closed",
            "Orders that reached a final state, by state",
            ["symbol", "state"],
            registry=r,
        )
        self.rejections = Counter(
            "realtrade_orders_rejected",
            "Orders rejected (by the venue, a pre-send check or the risk engine), by reason class",
            ["reason"],
            registry=r,
        )
        self.fills = Counter(
            "realtrade_fills", "Executions (fills) of our orders", ["symbol", "side"], registry=r
        )
        self.fill_notional = Counter(
            "realtrade_fill_notional_quote",
            "Traded value of the fills, in the quote currency",
            ["symbol", "side"],
            registry=r,
        )
        self.fees = Counter(
            "realtrade_fees_paid_quote",
            "Commissions paid, valued in the quote currency",
            ["symbol"],
            registry=r,
        )
        self.risk_blocks = Counter(
            "realtrade_risk_blocks", "Orders the risk engine refused, by rule", ["rule"], registry=r
        )
        self.exchange_errors = Counter(
            "realtrade_exchange_errors",
            "Failed exchange requests, by error kind (the real_trade.errors class)",
            ["kind"],
            registry=r,
        )
        self.reconnects = Counter(
            "realtrade_reconnects",
            "Reconnects of market-data feeds and venue streams",
            ["source"],
            registry=r,
        )
        self.feed_stale = Counter(
            "realtrade_feed_stale_events",
            "Times a feed was found stale by its watchdog",
            ["symbol"],
            registry=r,
        )
        self.reconcile = Counter(
            "realtrade_reconcile_findings",
            "Reconciliation findings (journal vs exchange), by kind",
            ["kind"],
            registry=r,
        )
        self.alerts = Counter(
            "realtrade_alerts",
            "Notifications handled by the notifier, by channel and result",
            ["channel", "result"],
            registry=r,
        )
        self.bars = Counter(
            "realtrade_bars", "Closed bars the strategy processed", ["symbol"], registry=r
        )
        # gauges
        self.equity = Gauge(
            "realtrade_equity_quote",
            "Account value (cash plus positions at their last prices), quote currency",
            registry=r,
        )
        self.cash = Gauge("realtrade_cash_quote", "Cash, quote currency", registry=r)
        self.equity_peak = Gauge(
            "realtrade_equity_peak_quote", "Highest account value seen by this process", registry=r
        )
        self.drawdown = Gauge(
            "realtrade_drawdown_ratio",
            "Fall of the account value from its peak, as a fraction of the peak (0.1 = 10%)",
            registry=r,
        )
        self.position = Gauge(
            "realtrade_position_size", "Signed position, base units", ["symbol"], registry=r
        )
        self.position_notional = Gauge(
            "realtrade_position_notional_quote",
            "Signed position valued at the last price, quote currency",
            ["symbol"],
            registry=r,
        )
        self.unrealized = Gauge(
            "realtrade_unrealized_pnl_quote",
            "Unrealized profit of the position against its average entry price, quote currency",
            ["symbol"],
            registry=r,
        )
        self.open_orders = Gauge(
            "realtrade_open_orders",
            "Orders alive (sent or held, not final)",
            ["symbol"],
            registry=r,
        )
        self.kill_switch = Gauge(
            "realtrade_kill_switch_engaged",
            "1 once the kill switch engaged (trading halted), else 0",
            registry=r,
        )
        self.build_info = Gauge(
            "realtrade_build_info",
            "Always 1; the labels say what runs",
            ["version", "python", "bot", "exchange", "mode"],
            registry=r,
        )
        self.heartbeat = Gauge(
            "realtrade_heartbeat_timestamp_seconds",
            "Unix time the trading loop was last seen going round",
            registry=r,
        )
        # histograms
        self.ack_latency = Histogram(
            "realtrade_order_ack_latency_seconds",
            "Order sent -> accepted by the venue (or the paper engine)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.fill_latency = Histogram(
            "realtrade_order_fill_latency_seconds",
            "Order sent -> its first fill",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.request_duration = Histogram(
            "realtrade_exchange_request_duration_seconds",
            "One REST request to the exchange (each attempt), by ccxt method",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.loop_duration = Histogram(
            "realtrade_loop_duration_seconds",
            "Trading-thread CPU "
            "time of the loop pass that processed a bar (waiting for "
            "data excluded)",
            buckets=LOOP_BUCKETS,
            registry=r,
        )


_COMPUTED = (
    "realtrade_feed_lag_seconds",
    "realtrade_feed_timeframe_seconds",
    "realtrade_feed_last_bar_timestamp_seconds",
    "realtrade_journal_backlog",
)
"""The gauges the exporter's collector computes at scrape time."""


def _exposed_names() -> frozenset[str]:
    names = set(_COMPUTED)
    for metric in RunMetrics().registry.collect():
        for sample in metric.samples:
            names.add(sample.name)
        kind = metric.type
        if kind == "counter":
            names.update({f"{metric.name}_total", f"{metric.name}_created"})
        elif kind == "histogram":
            names.update(f"{metric.name}{s}" for s in ("_bucket", "_sum", "_count", "_created"))
        else:
            names.add(metric.name)
    return frozenset(names)


METRIC_NAMES: frozenset[str] = _exposed_names()
"""Every sample name the endpoint can expose (``realtrade_fills_total``, ``..._bucket``)."""
