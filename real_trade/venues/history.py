"""Forward pagination of candle history: no gap, no duplicate, closed bars only if asked.

:func:`paginate_ohlcv` drives a ``fetch_page(since_ms, limit)`` coroutine (one exchange request)
forward from a start time until an end time, deduplicating by open time, and drops the bar that is
still open at the exchange's ``now_ms`` (the simulator's clock may be stepped or accelerated, so
"now" comes from the exchange, never from the wall clock). Pure logic, tested through
:meth:`real_trade.venues.client.VenueClient.fetch_ohlcv`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

__all__ = ["FetchPage", "paginate_ohlcv"]

FetchPage = Callable[[int, int], Awaitable[list[list[float]]]]
"""``fetch_page(since_ms, limit)``: one request for up to ``limit`` candles from ``since_ms``."""

_MAX_PAGES = 100_000


async def paginate_ohlcv(
    fetch_page: FetchPage,
    *,
    timeframe_ms: int,
    now_ms: int,
    since_ms: int | None = None,
    until_ms: int | None = None,
    limit: int | None = None,
    closed_only: bool = True,
    per_call: int = 1000,
) -> list[list[float]]:
    """Candles with ``since_ms <= open <= until_ms``, in time order, each open time once.

    With ``since_ms`` and ``limit``: the first ``limit`` such bars. With ``limit`` only: the
    latest ``limit`` bars up to ``until_ms`` (or now). With neither: the latest ``per_call``
    bars. ``closed_only`` drops any bar with ``open + timeframe > now_ms``. Stops when a page
    brings nothing new, when it passes the end, or when ``limit`` bars are collected.
    """
    if timeframe_ms <= 0:
        raise ValueError("timeframe_ms must be > 0")
    last_closed_open = (now_ms // timeframe_ms) * timeframe_ms - timeframe_ms
    end = until_ms if until_ms is not None else now_ms
    if closed_only:
        end = min(end, last_closed_open)
    take_latest = since_ms is None
    if since_ms is None:
        count = limit if limit is not None else per_call
        since_ms = (end // timeframe_ms) * timeframe_ms - (count - 1) * timeframe_ms
    bars: list[list[float]] = []
    last_open: int | None = None
    cursor = since_ms
    for _ in range(_MAX_PAGES):
        wanted = per_call
        if limit is not None and not take_latest:
            wanted = max(1, min(per_call, limit - len(bars)))
        page = await fetch_page(cursor, wanted)
        fresh = [
            bar
            for bar in page
            if (last_open is None or int(bar[0]) > last_open) and since_ms <= int(bar[0]) <= end
        ]
        fresh.sort(key=lambda bar: bar[0])
        for bar in fresh:
            if last_open is None or int(bar[0]) > last_open:
                bars.append(bar)
                last_open = int(bar[0])
        if limit is not None and not take_latest and len(bars) >= limit:
            break
        newest = max((int(bar[0]) for bar in page), default=None)
        if not fresh or newest is None or newest >= end:
            break
        cursor = max(cursor + timeframe_ms, newest + timeframe_ms)
    if limit is not None:
        bars = bars[-limit:] if take_latest else bars[:limit]
    return bars
