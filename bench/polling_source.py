"""``PollingBarSource``: the REST-polling baseline of the live benchmarks (not part of the package).

The older ccxt stores for backtrader (bt-ccxt-store and its forks) get live bars by polling
``fetch_ohlcv`` in the feed's ``_load``: sleep, ask for the candles since the last one seen,
drop the newest (still forming) candle (``drop_newest=True``) and hand on every candle newer
than the last one delivered. A bar therefore reaches the strategy only at the first poll after
the next candle has appeared, i.e. on average half a polling interval (plus one REST round trip)
after the exchange closed it.

This class reproduces that behaviour as a :class:`~real_trade.feeds.bars.LiveBarSource`, so it
plugs into :class:`~real_trade.feeds.basedata.BaseData` through ``live_source=`` and everything
else on the live path (store, feed, Cerebro, broker) is the same as in the measured fast path:

* it polls from a thread of its own, one raw ccxt ``fetch_ohlcv(symbol, timeframe, since,
  limit)`` request per poll on the store's I/O loop (no retry layer, as bt-ccxt-store), then
  waits ``interval_s`` wall seconds before the next (sleep-then-fetch, as bt-ccxt-store's
  ``retry`` decorator paces its calls);
* the first poll only learns the newest closed candle (bars before the start are the feed's
  backfill); every later poll emits the closed candles newer than the last emitted one, in
  order, each once, with ``closed=True``;
* a failed poll reports ``"disconnected"`` (the next good one ``"connected"``) and is retried
  at the next interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from real_trade.feeds.bars import Bar

__all__ = ["DEFAULT_POLL_INTERVAL_S", "PollingBarSource", "polling_factory"]

_log = logging.getLogger("bench.polling_source")

DEFAULT_POLL_INTERVAL_S = 1.0
"""One request per wall second: the pace of a polling store kept well inside Binance's request
weight limit (6000 weight/min; a klines request weighs 2), and of freqtrade-style loops."""


class PollingBarSource:
    """Closed bars of ``symbol``/``timeframe`` by polling ``fetch_ohlcv`` every ``interval_s``.

    ``client`` is a store's :class:`~real_trade.venues.client.VenueClient` (its ccxt.pro
    exchange and I/O loop are used); ``limit`` is how many candles one poll asks for
    (bt-ccxt-store's ``ohlcv_limit`` default, 20). ``polls`` counts requests and
    ``emitted_closed`` the bars emitted.
    """

    def __init__(
        self,
        client: Any,
        symbol: str,
        timeframe: str,
        *,
        interval_s: float = DEFAULT_POLL_INTERVAL_S,
        limit: int = 20,
    ) -> None:
        """Configure the source; nothing is requested until :meth:`start`."""
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self.client, self.symbol, self.timeframe = client, symbol, timeframe
        self.interval_s, self.limit = interval_s, limit
        self.polls = 0
        self.emitted_closed = 0
        self.last_error: BaseException | None = None
        self._last_ts: int | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_bar: Callable[[Bar], None] = lambda _bar: None
        self._on_state: Callable[[str], None] = lambda _state: None

    def __repr__(self) -> str:
        """Symbol, timeframe, interval and the last bar emitted."""
        return (
            f"PollingBarSource({self.symbol}, {self.timeframe}, every {self.interval_s:g}s, "
            f"last={self._last_ts})"
        )

    # -- LiveBarSource -------------------------------------------------------------------
    def start(self, on_bar: Callable[[Bar], None], on_state: Callable[[str], None]) -> None:
        """Start polling in a daemon thread (idempotent)."""
        if self._thread is not None:
            return
        self._on_bar, self._on_state = on_bar, on_state
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="bench-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and wait for the thread (idempotent)."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(10.0)

    # -- the polling thread ----------------------------------------------------------------
    def _run(self) -> None:
        up: bool | None = None
        while not self._stopping.is_set():
            try:
                rows = self._fetch()
            except Exception as exc:  # retried at the next interval, like a polling store
                self.last_error = exc
                if up is not False:
                    up = False
                    self._on_state("disconnected")
                _log.warning("%r: poll failed: %s", self, exc)
            else:
                if up is not True:
                    up = True
                    self._on_state("connected")
                self._emit(rows)
            self._stopping.wait(self.interval_s)

    def _fetch(self) -> list[list[float]]:
        exchange = self.client.exchange
        self.polls += 1
        rows: list[list[float]] = self.client.run(
            exchange.fetch_ohlcv(self.symbol, self.timeframe, self._last_ts, self.limit)
        )
        return sorted(rows, key=lambda row: row[0])

    def _emit(self, rows: list[list[float]]) -> None:
        closed = rows[:-1]  # drop_newest: the last candle is still forming
        if not closed:
            return
        if self._last_ts is None:  # the first poll: bars up to now are the backfill's
            self._last_ts = int(closed[-1][0])
            return
        for row in closed:
            if int(row[0]) > self._last_ts and not self._stopping.is_set():
                self._last_ts = int(row[0])
                self.emitted_closed += 1
                self._on_bar(Bar.from_ohlcv(row, closed=True))


def polling_factory(
    interval_s: float = DEFAULT_POLL_INTERVAL_S, limit: int = 20
) -> Callable[[Any, str, str], PollingBarSource]:
    """A ``live_source=`` factory for :class:`~real_trade.feeds.basedata.BaseData`."""

    def make(client: Any, symbol: str, timeframe: str) -> PollingBarSource:
        return PollingBarSource(client, symbol, timeframe, interval_s=interval_s, limit=limit)

    return make
