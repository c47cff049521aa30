"""Inline SVG charts for the HTML report: a time series as a line over a filled area.

Plain SVG text, no script and no external file, so a report renders offline in any browser
and prints as it looks. Long series are thinned to at most :data:`MAX_POINTS` (each bucket
keeps its first, lowest, highest and last point, so peaks and troughs survive).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from html import escape

__all__ = ["MAX_POINTS", "nice_ticks", "thin", "time_chart"]

MAX_POINTS = 2000
"""The most points a chart draws; longer series are thinned."""

_LEFT, _RIGHT, _TOP, _BOTTOM = 78, 16, 14, 30


def thin(
    points: Sequence[tuple[int, float]], max_points: int = MAX_POINTS
) -> list[tuple[int, float]]:
    """At most about ``max_points`` of ``points`` (time order kept): per bucket its first,
    lowest, highest and last point."""
    if len(points) <= max_points:
        return list(points)
    size = math.ceil(len(points) / (max_points / 4))
    out: list[tuple[int, float]] = []
    for i in range(0, len(points), size):
        bucket = points[i : i + size]
        keep = {0, len(bucket) - 1}
        keep.add(min(range(len(bucket)), key=lambda j: bucket[j][1]))
        keep.add(max(range(len(bucket)), key=lambda j: bucket[j][1]))
        out.extend(bucket[j] for j in sorted(keep))
    return out


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values covering ``[low, high]`` (1, 2, 2.5 or 5 times a power
    of ten apart)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def _decimals(step: float) -> int:
    """The decimals that print every multiple of ``step`` distinctly (0.25 -> 2, 50 -> 0)."""
    for decimals in range(9):
        if abs(round(step, decimals) - step) <= abs(step) * 1e-6:
            return decimals
    return 9


def _time_label(ms: int, span_ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    if span_ms > 3 * 86_400_000:
        return f"{moment:%Y-%m-%d}"
    if span_ms > 86_400_000:
        return f"{moment:%m-%d %H:%M}"
    return f"{moment:%H:%M}"


def time_chart(
    points: Sequence[tuple[int, float]],
    *,
    label: str,
    css_class: str,
    y_format: Callable[[float, int], str],
    width: int = 1000,
    height: int = 260,
    baseline: float | None = None,
) -> str:
    """An ``<svg>`` line chart of ``(time_ms, value)`` points with a filled area down to
    ``baseline`` (the lowest tick when None), axis ticks and UTC time labels. ``css_class``
    names the chart for the page's style sheet; ``label`` is its accessible title;
    ``y_format(value, decimals)`` writes a tick label with the decimals the tick step needs."""
    title = f"<title>{escape(label)}</title>"
    head = (
        f'<svg class="chart {escape(css_class)}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{title}'
    )
    pts = thin(points)
    if len(pts) < 2:
        return (
            f'{head}<text class="empty" x="{width / 2:.0f}" y="{height / 2:.0f}" '
            f'text-anchor="middle">not enough points to draw</text></svg>'
        )
    t0, t1 = pts[0][0], pts[-1][0]
    span = max(1, t1 - t0)
    values = [v for _, v in pts]
    low, high = min(values), max(values)
    if baseline is not None:
        low, high = min(low, baseline), max(high, baseline)
    if high - low < 1e-12 * max(1.0, abs(high)):
        pad = max(abs(high) * 0.01, 1e-9)
        low, high = low - pad, high + pad
    ticks = nice_ticks(low, high)
    decimals = _decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 2
    y_low, y_high = min(ticks[0], low), max(ticks[-1], high)
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM

    def x(ms: int) -> float:
        return _LEFT + (ms - t0) / span * plot_w

    def y(value: float) -> float:
        return _TOP + (y_high - value) / (y_high - y_low) * plot_h

    parts = [head, '<g class="grid">']
    for tick in ticks:
        yy = y(tick)
        parts.append(
            f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}"/>'
            f'<text class="ylabel" x="{_LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">'
            f"{escape(y_format(tick, decimals))}</text>"
        )
    for i in range(6):
        ms = t0 + span * i // 5
        xx = x(ms)
        anchor = "start" if i == 0 else "end" if i == 5 else "middle"
        parts.append(
            f'<text class="xlabel" x="{xx:.1f}" y="{height - 8}" text-anchor="{anchor}">'
            f"{escape(_time_label(ms, span))}</text>"
        )
    parts.append("</g>")
    line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pts)
    base_y = y(baseline if baseline is not None else y_low)
    area = f"{x(t0):.1f},{base_y:.1f} {line} {x(t1):.1f},{base_y:.1f}"
    parts.append(f'<polygon class="area" points="{area}"/>')
    parts.append(f'<polyline class="line" points="{line}"/>')
    parts.append(
        f'<rect class="frame" x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}"/></svg>'
    )
    return "".join(parts)
