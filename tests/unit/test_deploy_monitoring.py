"""The shipped Grafana dashboard and Prometheus alert rules name metrics the exporter has.

Every PromQL expression of ``deploy/grafana/realtrade-dashboard.json`` (panel queries and the
template variable) and of ``deploy/prometheus/realtrade-rules.yml`` is parsed for metric names
(a regex over the expression with strings, label matchers, ranges and grouping clauses
removed); each name must be one the endpoint exposes (:data:`METRIC_NAMES`) or Prometheus' own
``up``. ``promtool check rules`` validates the rule file when the Debian package provides it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from real_trade.monitor.prometheus import METRIC_NAMES
from tests.support import services_required

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "realtrade-dashboard.json"
RULES = ROOT / "deploy" / "prometheus" / "realtrade-rules.yml"

_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
    "atan2",
    "inf",
    "nan",
}
_BUILTIN_SERIES = {"up"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, labels left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+|\$\{[^}]*\}", " ", text)  # Grafana variables
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)\s*(\(?)", text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in _KEYWORDS or re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def dashboard_exprs(node: Any) -> Iterator[str]:
    """Every ``expr`` of the dashboard's targets and every template variable's query."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            elif key == "query" and isinstance(value, str) and "(" in value:
                yield re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", value)
            else:
                yield from dashboard_exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_exprs(item)


def rule_exprs() -> list[tuple[str, str]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [(r["alert"], r["expr"]) for g in doc["groups"] for r in g["rules"]]


def unknown(exprs: list[str]) -> dict[str, set[str]]:
    out = {}
    for expr in exprs:
        missing = metric_names(expr) - METRIC_NAMES - _BUILTIN_SERIES
        if missing:
            out[expr] = missing
    return out


def test_the_name_parser_finds_metrics_and_skips_functions_labels_and_keywords() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, endpoint) (rate(x_bucket{job="a b"}[5m]))) '
        '> 2 * y_total offset 5m or time() - z{instance=~"$instance"} and on (symbol) up'
    )
    assert metric_names(expr) == {"x_bucket", "y_total", "z", "up"}
    assert unknown(["realtrade_fills_total", "realtrade_fill_total"]) == {
        "realtrade_fill_total": {"realtrade_fill_total"}
    }


def test_every_dashboard_query_names_metrics_the_exporter_exposes() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = list(dashboard_exprs(dashboard))
    assert len(exprs) >= 20
    assert unknown(exprs) == {}
    assert all(metric_names(e) & METRIC_NAMES for e in exprs), "a query without our metric"
    used = set().union(*(metric_names(e) for e in exprs))
    for needed in (
        "realtrade_equity_quote",
        "realtrade_drawdown_ratio",
        "realtrade_kill_switch_engaged",
        "realtrade_feed_lag_seconds",
        "realtrade_order_ack_latency_seconds_bucket",
    ):
        assert needed in used


def test_alert_rules_cover_feed_lag_kill_switch_drawdown_and_heartbeat() -> None:
    rules = dict(rule_exprs())
    assert unknown(list(rules.values())) == {}
    used = {name: metric_names(expr) for name, expr in rules.items()}
    assert "realtrade_feed_lag_seconds" in used["RealTradeFeedLag"]
    assert "realtrade_kill_switch_engaged" in used["RealTradeKillSwitchEngaged"]
    assert "realtrade_drawdown_ratio" in used["RealTradeDrawdown"]
    assert "realtrade_heartbeat_timestamp_seconds" in used["RealTradeNoHeartbeat"]


def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        reason = "promtool is not installed (Debian: apt-get install prometheus)"
        if services_required():
            pytest.fail(f"{reason}; RT_REQUIRE_SERVICES=1 demands it")
        pytest.skip(reason)
    out = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 7 rules found" in out.stdout + out.stderr
