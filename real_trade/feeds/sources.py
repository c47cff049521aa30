"""What a live feed reads from: its bar history, its live bar source and its watchdog.

Plain functions over a :class:`~real_trade.venues.client.VenueClient`, used by
:class:`~real_trade.feeds.feed_plan.FeedPlan` (and so by :class:`~real_trade.feeds.BaseData`):

* :class:`BarHistory`: closed bars in a range, from the local history cache when the feed has
  one (:mod:`real_trade.history`), else from the venue's REST API (paginated);
* :func:`make_live_source`: the live source ``live_source`` asks for. ``"auto"`` takes the
  venue's native websocket source where the venue table names one
  (``VenueSpec.native_kline_stream``, :func:`native_source_factory`: Binance), else
  :class:`~real_trade.feeds.ccxt_bars.CcxtBarSource` (ccxt.pro ``watch_ohlcv``); ``"ccxt"`` and
  ``"native"`` force one; a callable is a :data:`LiveSourceFactory`;
* :func:`make_watchdog`: the :class:`~real_trade.feeds.watchdog.FeedWatchdog`, whose ``"auto"``
  connection age comes from the venue's capability table (``ws_max_connection_seconds``).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

from real_trade.errors import ConfigError
from real_trade.feeds.bars import Bar, LiveBarSource
from real_trade.feeds.ccxt_bars import CcxtBarSource
from real_trade.feeds.watchdog import FeedWatchdog, default_max_connection_age
from real_trade.venues.spec import VenueSpec

__all__ = [
    "LIVE_SOURCE_CHOICES",
    "BarHistory",
    "LiveSourceFactory",
    "make_live_source",
    "make_watchdog",
    "native_source_factory",
]

LiveSourceFactory = Callable[[Any, str, str], LiveBarSource]
"""``factory(client, symbol, timeframe) -> LiveBarSource``: a custom live source for a feed."""

LIVE_SOURCE_CHOICES = ("auto", "ccxt", "native")
"""The named values of a feed's ``live_source`` (besides a :data:`LiveSourceFactory`)."""


def native_source_factory(venue: VenueSpec) -> Callable[[Any, str, str], LiveBarSource | None]:
    """The factory of ``venue``'s native websocket bar source, from the venue table.

    ``VenueSpec.native_kline_stream`` names it (``"module:factory"``); a venue without one gets
    a factory returning None (the feed then takes ccxt.pro's ``watch_ohlcv``).
    """
    path = venue.native_kline_stream
    if not path:
        return _no_native_source
    module, _, name = path.partition(":")
    factory: Callable[[Any, str, str], LiveBarSource | None] = getattr(
        importlib.import_module(module), name
    )
    return factory


def _no_native_source(_client: Any, _symbol: str, _timeframe: str) -> LiveBarSource | None:
    return None


def make_live_source(choice: Any, client: Any, symbol: str, timeframe: str) -> LiveBarSource:
    """The live bar source ``choice`` (a feed's ``live_source``) asks for on ``client``.

    Raises ConfigError for an unknown choice, and for ``"native"`` on a venue without one.
    """
    if callable(choice):
        source: LiveBarSource = choice(client, symbol, timeframe)
        return source
    if choice not in LIVE_SOURCE_CHOICES:
        raise ConfigError(
            f"unknown live_source {choice!r}",
            field="live_source",
            fix='use "auto", "ccxt", "native" or a factory(client, symbol, timeframe)',
        )
    if choice != "ccxt":
        native = native_source_factory(client.venue)(client, symbol, timeframe)
        if native is not None:
            return native
        if choice == "native":
            raise ConfigError(
                f"no native bar source for {client.venue.display_name}",
                field="live_source",
                fix='use live_source="auto" or "ccxt"',
            )
    return CcxtBarSource(client, symbol, timeframe)


def make_watchdog(
    timeframe: str,
    venue: VenueSpec | None,
    *,
    stale_after: Any = "auto",
    max_connection_age: Any = "auto",
    clock: Callable[[], float] | None = None,
    check_interval: float = 0.5,
) -> FeedWatchdog:
    """The watchdog of a ``timeframe`` feed on ``venue`` (None: no venue limit known yet).

    ``max_connection_age="auto"`` is an hour before the venue's own connection limit (None where
    it has none); ``clock`` defaults to ``time.monotonic``. A bad bound raises ConfigError naming
    the parameter.
    """
    age = max_connection_age
    if age == "auto":
        quirks = getattr(venue, "quirks", None) or {}
        age = default_max_connection_age(quirks.get("ws_max_connection_seconds"))
    return FeedWatchdog(
        timeframe,
        stale_after=stale_after,
        max_connection_age=age,
        clock=clock or time.monotonic,
        check_interval=check_interval,
    )


class BarHistory:
    """A feed's history function: closed bars of ``symbol`` in ``[since_ms, until_ms]``.

    With ``cached`` (a :class:`~real_trade.history.feed_cache.CachedHistory`) the cache answers;
    else ``client.fetch_ohlcv`` does, the latest ``history_bars`` bars when no start is given.
    """

    def __init__(
        self,
        client: Any,
        symbol: str,
        timeframe: str,
        *,
        history_bars: int = 1000,
        cached: Callable[[int | None, int | None], list[Bar]] | None = None,
    ) -> None:
        """Bind the history to ``client`` (no network here)."""
        self.client, self.symbol, self.timeframe = client, symbol, timeframe
        self.history_bars = int(history_bars)
        self.cached = cached

    def __call__(self, since_ms: int | None, until_ms: int | None) -> list[Bar]:
        """Closed bars in ``[since_ms, until_ms]`` (the latest ``history_bars`` if no start)."""
        if self.cached is not None:
            return self.cached(since_ms, until_ms)
        limit = self.history_bars if since_ms is None else None
        rows = self.client.fetch_ohlcv(self.symbol, self.timeframe, since_ms, until_ms, limit, True)
        return [Bar.from_ohlcv(row) for row in rows]
