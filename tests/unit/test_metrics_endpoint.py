"""The ``[metrics]`` section and the ``/metrics`` endpoint of one exporter, over loopback HTTP."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from real_trade.bus import EventBus
from real_trade.config import RealTradeConfig
from real_trade.config.metrics import MetricsConfig
from real_trade.errors import ConfigError
from real_trade.execution.events import FillEvent
from real_trade.monitor.prometheus import MetricsExporter, MetricsServer, start_metrics
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
