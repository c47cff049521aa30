"""The ``[metrics]`` section and the ``/metrics`` endpoint of one exporter, over loopback HTTP."""

from __future__ import annotations

import datetime as dt
import socket
import urllib.request

import pytest

from real_trade.bus import EventBus
from real_trade.config import RealTradeConfig
from real_trade.config.metrics import MetricsConfig
from real_trade.engine.runtime import BarReport
from real_trade.errors import ConfigError
from real_trade.execution.events import FillEvent, OrderUpdate
from real_trade.execution.orders import OrderState
from real_trade.monitor.prometheus import MetricsExporter, MetricsServer, start_metrics
from real_trade.monitor.prometheus import exporter as exporter_module
from real_trade.monitor.prometheus.labels import REJECTION_REASONS, rejection_reason
from real_trade.risk.engine import PreTradeOrder, RiskDecision


def test_metrics_are_off_by_default_and_listen_on_loopback() -> None:
    config = RealTradeConfig()
    assert config.metrics.enabled is False
    assert config.metrics.host == "127.0.0.1"


def test_a_bad_port_is_a_config_error_naming_the_field(tmp_path: object) -> None:
    with pytest.raises(ConfigError) as info:
        RealTradeConfig(metrics={"enabled": True, "port": 70000})
    assert info.value.field == "metrics.port"


def test_a_port_in_use_is_a_config_error_naming_metrics_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as info:
            MetricsServer(MetricsExporter(), "127.0.0.1", port)
    assert info.value.field == "metrics.port"


def test_the_endpoint_serves_bus_events_in_its_own_registry_without_order_ids() -> None:
    bus = EventBus(synchronous=True)
    server = start_metrics(MetricsConfig(enabled=True, port=0), bus, bot="t", mode="paper")
    try:
        for n in range(3):
            bus.publish(
                "fill",
                FillEvent(
                    n,
                    f"cid-secret-{n}",
                    None,
                    "BTC/USDT",
                    "buy",
                    f"trade-{n}",
                    100.0,
                    0.5,
                    0.05,
                    "USDT",
                    0,
                    position_change=0.5,
                    fee_in_quote=0.05,
                ),
            )
        denied = RiskDecision(False, PreTradeOrder("BTC/USDT", "buy", 1.0), rule="max_order_amount")
        bus.publish("risk.decision", denied)
        with urllib.request.urlopen(server.url, timeout=5) as response:
            text = response.read().decode()
    finally:
        server.stop()
    assert 'realtrade_fills_total{side="buy",symbol="BTC/USDT"} 3.0' in text
    assert 'realtrade_fees_paid_quote_total{symbol="BTC/USDT"} 0.15' in text
    assert 'realtrade_position_size{symbol="BTC/USDT"} 1.5' in text
    assert 'realtrade_risk_blocks_total{rule="max_order_amount"} 1.0' in text
    assert 'realtrade_build_info{bot="t"' in text
    assert "cid-secret" not in text and "trade-" not in text
    assert "python_gc_objects_collected_total" not in text  # not the global default registry


def test_rejection_reasons_fall_into_a_fixed_set() -> None:
    texts = [
        "Account has insufficient balance",
        "Filter failure: NOTIONAL",
        "trading HALTED",
        "Too many requests",
        "something else 12345",
        None,
    ]
    found = [rejection_reason(t) for t in texts]
    assert found == ["insufficient_funds", "invalid_order", "risk", "rate_limit", "other", "other"]
    assert set(found) <= set(REJECTION_REASONS)
    assert rejection_reason("x", "margin") == "margin"


def _order(state: OrderState) -> OrderUpdate:
    return OrderUpdate(
        7, "cid-7", None, "BTC/USDT", "buy", "market", state, 0.5, 0.0, None, None, None, None, 0
    )


def test_the_ack_latency_is_the_time_between_the_two_deliveries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr(exporter_module.time, "monotonic", lambda: clock[0])
    bus = EventBus(synchronous=True)
    exporter = MetricsExporter().attach(bus)
    bus.publish("order.submitted", _order(OrderState.SUBMITTED))
    clock[0] = 100.25
    bus.publish("order.accepted", _order(OrderState.ACCEPTED))
    clock[0] = 500.0  # scraped later: the latency stays the one between the deliveries
    value = exporter.registry.get_sample_value
    assert value("realtrade_order_ack_latency_seconds_sum") == pytest.approx(0.25)
    labels = {"symbol": "BTC/USDT", "side": "buy", "kind": "market"}
    assert value("realtrade_orders_submitted_total", labels) == 1.0
    assert value("realtrade_open_orders", {"symbol": "BTC/USDT"}) == 1.0
    exporter.detach()


def _bar(close: float, position: float, value: float) -> BarReport:
    when = dt.datetime(2023, 3, 1)
    return BarReport(
        "s", "BTC/USDT", when, close, close, close, close, 1.0, position, 500.0, value, True
    )


def test_the_bar_gauges_show_the_newest_bar_when_scraped() -> None:
    bus = EventBus(synchronous=True)
    exporter = MetricsExporter().attach(bus)
    value = exporter.registry.get_sample_value
    assert value("realtrade_equity_quote") == 0.0  # nothing seen yet
    bus.publish("engine.bar", _bar(100.0, 2.0, 1000.0))
    bus.publish("engine.bar", _bar(90.0, 2.0, 900.0))
    symbol = {"symbol": "BTC/USDT"}
    assert value("realtrade_equity_quote") == 900.0
    assert value("realtrade_cash_quote") == 500.0
    assert value("realtrade_equity_peak_quote") == 1000.0
    assert value("realtrade_drawdown_ratio") == pytest.approx(0.1)
    assert value("realtrade_position_size", symbol) == 2.0
    assert value("realtrade_position_notional_quote", symbol) == 180.0
    assert value("realtrade_unrealized_pnl_quote", symbol) == -20.0  # entered at 100
    assert value("realtrade_bars_total", symbol) == 2.0
    assert (value("realtrade_heartbeat_timestamp_seconds") or 0.0) > 1.7e9
    exporter.detach()
