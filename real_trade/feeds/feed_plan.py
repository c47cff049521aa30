"""``FeedPlan``: a data feed's parameters as plain values, and the :class:`BarStream` they make.

:class:`~real_trade.feeds.BaseData` (the backtrader shim) turns its ``params`` into a plan and
asks it for the stream once the store has started; everything between (history cache or REST,
live source, watchdog, backtest or live mode) is decided here, without backtrader.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from real_trade.feeds.bars import BarStream, StateChange
from real_trade.feeds.sources import BarHistory, make_live_source, make_watchdog
from real_trade.feeds.timeframes import check_venue_timeframe
from real_trade.feeds.watchdog import FeedWatchdog

__all__ = ["FeedPlan"]

_log = logging.getLogger("real_trade.feeds")


@dataclass(frozen=True)
class FeedPlan:
    """What one feed of ``symbol`` ``timeframe`` candles asks for (BaseData's parameters).

    ``historical``: a backtest (history only); else live (backfill, then live bars). The other
    fields are the feed parameters of the same names (:class:`~real_trade.feeds.BaseData`).
    """

    symbol: str
    timeframe: str
    historical: bool = False
    backfill_start: bool = True
    backfill: bool = True
    history_bars: int = 1000
    live_source: Any = "auto"
    stale_after: Any = "auto"
    max_connection_age: Any = "auto"
    clock: Callable[[], float] | None = None
    watchdog_interval: float = 0.5
    cache: Any = None

    @classmethod
    def from_params(cls, params: Any, symbol: str, timeframe: str) -> FeedPlan:
        """The plan of a feed whose backtrader ``params`` object is ``params``."""
        names = [f.name for f in fields(cls) if f.name not in ("symbol", "timeframe")]
        return cls(symbol, timeframe, **{name: getattr(params, name) for name in names})

    def on_venue(self, client: Any) -> FeedPlan:
        """This plan with ``symbol`` as ``client``'s venue names it (unified), after checking
        that the venue serves ``timeframe`` (ConfigError naming its valid ones if not)."""
        check_venue_timeframe(
            self.timeframe,
            getattr(client.exchange, "timeframes", None) or None,
            client.venue.display_name,
        )
        return replace(self, symbol=client.symbol_of(self.symbol))

    def watchdog(self, venue: Any = None) -> FeedWatchdog:
        """The watchdog of a live feed on ``venue`` (a bad bound raises, naming the parameter)."""
        return make_watchdog(
            self.timeframe,
            venue,
            stale_after=self.stale_after,
            max_connection_age=self.max_connection_age,
            clock=self.clock,
            check_interval=self.watchdog_interval,
        )

    def history(self, client: Any) -> BarHistory:
        """The feed's history on ``client``: the local cache when ``cache`` asks for one."""
        from real_trade.history.feed_cache import feed_history

        cached = feed_history(
            self.cache,
            client,
            self.symbol,
            self.timeframe,
            history_bars=int(self.history_bars),
            bus=client.bus,
        )
        return BarHistory(
            client, self.symbol, self.timeframe, history_bars=self.history_bars, cached=cached
        )

    def stream(
        self,
        client: Any,
        history: BarHistory,
        *,
        fromdate_ms: int | None = None,
        todate_ms: int | None = None,
    ) -> BarStream:
        """The (not started) :class:`BarStream` of this plan on ``client``, over ``history``."""
        live = not self.historical
        return BarStream(
            history,
            make_live_source(self.live_source, client, self.symbol, self.timeframe)
            if live
            else None,
            self.timeframe,
            fromdate_ms=fromdate_ms,
            todate_ms=todate_ms,
            mode="live" if live else "backtest",
            backfill_start=self.backfill_start,
            backfill=self.backfill,
            bus=client.bus,
            name=self.symbol,
            watchdog=self.watchdog(client.venue) if live else None,
        )

    def end(self, change: StateChange) -> None:
        """The stream ended with ``change`` (DISCONNECTED): a failed backtest raises its error,
        a failed live feed logs it."""
        if change.error is None:
            return
        if self.historical:
            raise change.error
        _log.error("%s: live data ended: %s", self.symbol, change.reason)
