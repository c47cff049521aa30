"""The HTML report in a real browser (headless chromium): it renders offline, its charts are
drawn where the page lays them out, and the screenshot is not blank."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from real_trade.monitor.metrics import DAY_MS, EquityPoint
from real_trade.monitor.report import ReportData, assemble_report, write_report
from real_trade.persistence import FillRow, build_trades
from tests.e2e.browser_support import dump_dom, read_png, screenshot

pytestmark = pytest.mark.integration

START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC
HOUR_MS = 3_600_000
EQUITY_BLUE = (9, 105, 218)  # the equity line's stroke (#0969da)
DRAWDOWN_RED = (207, 34, 46)  # the drawdown line's stroke (#cf222e)
BACKGROUND = (246, 248, 250)  # the page (#f6f8fa)

_PROBE = """<script>
function box(s){const e=document.querySelector(s);if(!e)return null;
const b=e.getBoundingClientRect();return [b.left,b.top,b.width,b.height];}
function len(s){const e=document.querySelector(s);return e?e.getTotalLength():0;}
const probe={equity:box('svg.equity'),drawdown:box('svg.drawdown'),
equity_line:len('svg.equity .line'),drawdown_line:len('svg.drawdown .line'),
monthly_rows:document.querySelectorAll('table.monthly tbody tr').length,
trade_rows:document.querySelectorAll('table.trades tbody tr').length,
metric_rows:document.querySelectorAll('table.metrics tbody tr').length,
external:performance.getEntriesByType('resource').length};
const pre=document.createElement('pre');pre.id='probe';
pre.textContent=JSON.stringify(probe);document.body.appendChild(pre);
</script>"""


def sample_report(days: int = 100, seed: int = 5) -> ReportData:
    """A deterministic report: ``days`` of hourly equity (a random walk) and a few dozen round
    trips of BTC/USDT, through the same assembly a journal's or backtest's report goes."""
    rng = random.Random(seed)
    fills: list[FillRow] = []
    price = 40_000.0
    for n in range(days // 2):
        opened = START_MS + n * 2 * DAY_MS + 3 * HOUR_MS
        for k, side in enumerate(("buy", "sell")):
            price *= 1 + rng.gauss(0.001, 0.02)
            fills.append(
                FillRow(
                    "sample",
                    f"c{n}-{k}",
                    None,
                    "BTC/USDT",
                    side,
                    f"t{n}-{k}",
                    price,
                    0.05,
                    price * 0.05 * 0.001,
                    "USDT",
                    price * 0.05 * 0.001,
                    opened + k * 20 * HOUR_MS,
                    0.05 if side == "buy" else -0.05,
                )
            )
    value, points = 10_000.0, []
    for h in range(days * 24):
        value *= 1 + rng.gauss(0.0002, 0.004)
        points.append(EquityPoint(START_MS + h * HOUR_MS, value, h % 48 < 20))
    return assemble_report(
        title="Sample report (synthetic data)",
        source="backtest",
        start_ms=START_MS,
        end_ms=START_MS + days * DAY_MS,
        start_value=10_000.0,
        equity=points,
        trades=build_trades(fills),
        fills=fills,
        orders_by_state={"COMPLETED": len(fills)},
        strategies=["sample"],
    )


def test_the_report_renders_offline_with_its_charts_drawn(tmp_path: Path) -> None:
    data = sample_report()
    page = write_report(data, tmp_path / "report.html")
    html = page.read_text(encoding="utf-8")
    # self-contained: no script, no style sheet, image or font fetched from anywhere
    assert "<script" not in html and "<link" not in html and " src=" not in html
    assert not re.findall(r"(?:https?:)?//(?!www\.w3\.org/2000/svg)", html)

    probed = tmp_path / "probed.html"
    probed.write_text(html.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dump_dom(probed), re.S)
    assert found, "the probe did not run"
    probe = json.loads(found.group(1))
    assert probe["external"] == 0, "the page fetched something"
    assert probe["monthly_rows"] == 1 and probe["trade_rows"] == data.summary.trades
    assert probe["metric_rows"] >= 15
    for name in ("equity", "drawdown"):
        left, top, width, height = probe[name]
        assert width > 900 and height > 120, f"{name} chart laid out at {probe[name]}"
        assert probe[f"{name}_line"] > width, f"the {name} line is not drawn across the chart"

    image = read_png(screenshot(page, tmp_path / "report.png"))
    assert (image.width, image.height) == (1280, 1600)
    background = image.count((0, 0, image.width, image.height), BACKGROUND, 2)
    assert background < 0.9 * image.width * image.height, "the screenshot is blank"
    for name, color in (("equity", EQUITY_BLUE), ("drawdown", DRAWDOWN_RED)):
        left, top, width, height = (round(v) for v in probe[name])
        inside = image.count((left, top, width, height), color, 40)
        assert inside > width * 0.8, f"the {name} line is not painted in its chart ({inside} px)"
        below = image.count((left, top + height + 40, width, 60), color, 40)
        assert below < inside / 20, f"{name}-coloured pixels outside its chart"
