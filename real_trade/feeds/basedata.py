"""``BaseData``: the backtrader data feed of real_trade, a thin shim over :class:`BarStream`.

The feed hands every piece of work to plain classes: the store's venue client (REST history,
ccxt.pro streams), a :class:`~real_trade.feeds.bars.LiveBarSource` and a
:class:`~real_trade.feeds.bars.BarStream`, whose queue ``_load`` reads.

**Bar time.** A bar's ``datetime`` is its **open** time in UTC (shown in ``tz`` if given), as
ccxt, the exchanges and ``bt.feeds.PandasData`` over a ccxt candle frame stamp it; so a
strategy run over this feed and over PandasData with the same candles sees the same datetimes
and makes the same decisions. ``fromdate``/``todate`` bound the open times. In live mode the
bar opening at ``T`` reaches the strategy once it has closed, i.e. just after ``T + timeframe``.

**Modes.** ``historical=True``: a backtest over the history between ``fromdate`` and ``todate``
(the last ``history_bars`` bars when no ``fromdate``); backtrader preloads it and a failed
history request raises. Otherwise live: backfill (DELAYED), then closed live bars (LIVE),
CONNBROKEN on a disconnect, a REST backfill of the gap after the reconnect (DELAYED), LIVE
again; ``_load`` waits at most ``qcheck`` seconds, so Cerebro's loop never blocks on it. The
live source is the venue's native websocket source where the venue table names one
(``VenueSpec.native_kline_stream``: Binance), else :class:`~real_trade.feeds.ccxt_bars.
CcxtBarSource`; ``live_source`` overrides the choice.

**Watchdog.** A live feed restarts its source and backfills the gap when no closed bar came for
``stale_after`` seconds (``"auto"``: 1.5 bars + 10 s; None: off), and reconnects proactively once
a connection is ``max_connection_age`` seconds old (``"auto"``: an hour before the venue's own
limit, 23 h on Binance; None where the venue has none). Both are measured on ``clock`` (seconds,
``time.monotonic`` by default), checked every ``watchdog_interval`` wall seconds, and published
on ``feed.stale`` / ``feed.reconnect`` (:mod:`real_trade.feeds.watchdog`).

**Ctrl-C.** A live feed run by Cerebro in the main thread of a plain script (SIGINT and SIGTERM
still at Python's defaults) makes the first Ctrl-C or SIGTERM stop the run gracefully: Cerebro
ends after the current bar, the strategy's ``stop`` runs, ``cerebro.run()`` returns. A second
one interrupts at once. Handlers the program installed itself are left alone, and the defaults
come back when the feed stops.
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from types import FrameType
from typing import Any, ClassVar

import backtrader as bt

from real_trade.errors import ConfigError
from real_trade.feeds.bars import Bar, BarStream, FeedState, LiveBarSource, StateChange
from real_trade.feeds.ccxt_bars import CcxtBarSource
from real_trade.feeds.timeframes import (
    bt_to_timeframe,
    check_venue_timeframe,
    timeframe_to_bt,
)
from real_trade.feeds.watchdog import FeedWatchdog, default_max_connection_age
from real_trade.utils.stop_signals import install_stop_signals
from real_trade.venues.spec import VenueSpec

__all__ = ["BaseData", "LiveSourceFactory", "native_source_factory"]

_log = logging.getLogger("real_trade.feeds")

LiveSourceFactory = Callable[[Any, str, str], LiveBarSource]
"""``factory(client, symbol, timeframe) -> LiveBarSource``: a custom live source for a feed."""


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


def _inside_run(cerebro: Any, frame: FrameType | None) -> bool:
    """Whether ``frame`` (the main thread's, as a signal handler gets it) is inside
    ``cerebro.run()``."""
    run_code = getattr(type(cerebro).run, "__code__", None)
    while frame is not None:
        if frame.f_code is run_code and frame.f_locals.get("self") is cerebro:
            return True
        frame = frame.f_back
    return False


def _ms_from_num(num: float) -> int | None:
    """backtrader date number (UTC) -> epoch ms, or None for +-infinity."""
    if num in (float("inf"), float("-inf")):
        return None
    moment = bt.num2date(num).replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


class BaseData(bt.feed.DataBase):
    """A backtrader feed of closed candles from any real_trade store (module docstring).

    ``BaseData(store, symbol="BTC/USDT", timeframe=bt.TimeFrame.Minutes, compression=60)`` or
    ``BaseData.from_timeframe_string("1h", store, symbol="BTC/USDT")``. Parameters beyond
    backtrader's: ``symbol`` (unified symbol or venue id; ``dataname`` works too),
    ``ccxt_timeframe`` (wins over timeframe/compression), ``historical``, ``backfill_start``,
    ``backfill``, ``history_bars``, ``live_source`` (``"auto"``, ``"ccxt"``, ``"native"`` or a
    :data:`LiveSourceFactory`), ``qcheck`` (seconds ``_load`` may wait in live mode), the
    watchdog's ``stale_after``, ``max_connection_age``, ``clock`` and ``watchdog_interval``, and
    ``cache``: history (backtest and live backfill) read from the local history cache first and
    only the missing candles fetched, then written back (``None``: on for real venues, off
    against the simulator; ``True``/``False``, a folder or a ``real_trade.history.HistoryCache``;
    see :mod:`real_trade.history`).
    """

    params = (
        ("symbol", None),
        ("ccxt_timeframe", None),
        ("historical", False),
        ("backfill_start", True),
        ("backfill", True),
        ("history_bars", 1000),
        ("live_source", "auto"),
        ("qcheck", 0.5),
        ("stale_after", "auto"),
        ("max_connection_age", "auto"),
        ("clock", None),
        ("watchdog_interval", 0.5),
        ("cache", None),
    )

    venue_name: ClassVar[str | None] = None
    store_class_name: ClassVar[str | None] = None

    _STATUS: ClassVar[dict[FeedState, int]] = {
        FeedState.DELAYED: bt.feed.DataBase.DELAYED,
        FeedState.LIVE: bt.feed.DataBase.LIVE,
        FeedState.CONNBROKEN: bt.feed.DataBase.CONNBROKEN,
        FeedState.DISCONNECTED: bt.feed.DataBase.DISCONNECTED,
        FeedState.NOTSUBSCRIBED: bt.feed.DataBase.NOTSUBSCRIBED,
    }

    def __init__(self, store: Any = None, **unknown: Any) -> None:
        """Bind the feed to ``store`` and resolve its timeframe (no network here)."""
        if unknown:
            valid = ", ".join(self.p._getkeys())
            raise ConfigError(
                f"{type(self).__name__} got unknown parameters: {', '.join(sorted(unknown))}",
                field=sorted(unknown)[0],
                fix=f"use the feed's parameters: {valid}",
            )
        self.store = store if store is not None else self._default_store()
        spec = getattr(self.store, "venue_spec", None)
        if self.venue_name and spec is not None and spec.name != self.venue_name:
            raise ConfigError(
                f"{type(self).__name__} needs a {self.venue_name} store, got {self.store!r}",
                field="store",
                fix=f"use {self.store_class_name or 'a matching store'}, or BaseData",
            )
        requested = self.p.symbol or self.p.dataname
        if not requested or not isinstance(requested, str):
            raise ConfigError(
                f"{type(self).__name__} needs a symbol", field="symbol", fix='symbol="BTC/USDT"'
            )
        self.symbol: str = requested
        if self.p.dataname is None:
            self.p.dataname = requested
        if self.p.ccxt_timeframe:
            self.p.timeframe, self.p.compression = timeframe_to_bt(self.p.ccxt_timeframe)
        self.ccxt_timeframe: str = bt_to_timeframe(self.p.timeframe, self.p.compression)
        self.error: BaseException | None = None
        self._stream: BarStream | None = None
        self._previous_handlers: dict[Any, Any] = {}
        self._cached_history: Callable[[int | None, int | None], list[Bar]] | None = None
        self._make_watchdog(None)  # a bad bound fails here, naming the parameter

    @classmethod
    def _default_store(cls) -> Any:
        if not cls.store_class_name:
            raise ConfigError(
                f"{cls.__name__} needs a store", field="store", fix="pass the store first"
            )
        stores = importlib.import_module("real_trade.stores")
        return getattr(stores, cls.store_class_name).get_instance()

    @classmethod
    def from_timeframe_string(
        cls, timeframe_str: str | None = None, store: Any = None, **kwargs: Any
    ) -> BaseData:
        """A feed of ``timeframe_str`` candles (``"1m"`` ... ``"1M"``) on ``store``.

        ``kwargs`` are the feed's parameters (``symbol=...``, ``historical=...``); the string may
        also come as ``timeframe="1h"``. An unknown string raises ConfigError listing the valid
        ones; one the venue lacks is refused when the feed starts, naming the venue's valid ones.
        """
        if timeframe_str is None and isinstance(kwargs.get("timeframe"), str):
            timeframe_str = kwargs.pop("timeframe")
        if timeframe_str is None:
            raise ConfigError(
                "from_timeframe_string needs a timeframe", field="timeframe", fix='e.g. "1h"'
            )
        timeframe_to_bt(timeframe_str)
        return cls(store, ccxt_timeframe=timeframe_str, **kwargs)

    @property
    def exchange(self) -> Any:
        """The store's ccxt.pro exchange object."""
        return self.store.exchange

    @property
    def stream(self) -> BarStream | None:
        """The :class:`BarStream` behind the feed (after ``start``)."""
        return self._stream

    # -- backtrader's protocol -----------------------------------------------------------
    def islive(self) -> bool:
        """True unless ``historical``: Cerebro then runs bar by bar, without preloading."""
        return not self.p.historical

    def haslivedata(self) -> bool:
        """Whether a bar or notification is queued (Cerebro then does not wait)."""
        return self._stream is not None and self._stream.has_items()

    def start(self) -> None:
        """Start the store, check symbol and timeframe with the venue, start the stream."""
        super().start()
        self._start_finish()
        self.store.start()
        client = self.store.client
        check_venue_timeframe(
            self.ccxt_timeframe,
            getattr(client.exchange, "timeframes", None) or None,
            client.venue.display_name,
        )
        self.symbol = client.symbol_of(self.symbol)
        from real_trade.history.feed_cache import feed_history

        self._cached_history = feed_history(
            self.p.cache,
            client,
            self.symbol,
            self.ccxt_timeframe,
            history_bars=int(self.p.history_bars),
            bus=client.bus,
        )
        source = None if self.p.historical else self._make_source(client)
        self._stream = BarStream(
            self._history,
            source,
            self.ccxt_timeframe,
            fromdate_ms=_ms_from_num(self.fromdate),
            todate_ms=_ms_from_num(self.todate),
            mode="backtest" if self.p.historical else "live",
            backfill_start=self.p.backfill_start,
            backfill=self.p.backfill,
            bus=client.bus,
            name=self.symbol,
            watchdog=None if self.p.historical else self._make_watchdog(client),
        )
        if not (self.p.historical and self._cached_history is not None):
            self._stream.start()  # a cached backtest starts it in _load, unless preloaded
        if not self.p.historical:  # last: a start that failed leaves no handler behind
            self._previous_handlers = self._install_ctrl_c()

    def stop(self) -> None:
        """Stop the stream and its live source (the store stays up: others may share it)."""
        super().stop()
        if self._stream is not None:
            self._stream.stop()
        previous, self._previous_handlers = self._previous_handlers, {}
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _install_ctrl_c(self) -> dict[Any, Any]:
        """Make Ctrl-C / SIGTERM stop Cerebro gracefully (module docstring); return the handlers
        to restore (none when not in a plain script's main thread under Cerebro)."""
        cerebro = getattr(self, "_env", None)
        if cerebro is None or threading.current_thread() is not threading.main_thread():
            return {}
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return {}
        if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
            return {}
        requested: list[bool] = []

        def request_stop() -> None:
            requested.append(True)
            cerebro.runstop()

        previous = install_stop_signals(request_stop, lambda: bool(requested), _log.warning)
        graceful: dict[int, Any] = {signum: signal.getsignal(signum) for signum in previous}

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if _inside_run(cerebro, frame):
                graceful[signum](signum, frame)
                return
            # cerebro.run() has ended without stopping this feed (it raised): the program's
            # own handlers are back, and this signal goes to them
            for number, handler in previous.items():
                signal.signal(number, handler)
            handler = previous[signum]
            if callable(handler):
                handler(signum, frame)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)

        for signum in previous:
            signal.signal(signum, on_signal)
        return previous

    def preload(self) -> None:
        """A backtest over the history cache loads every bar at once (real_trade.history)."""
        if self._cached_history is not None and self._stream is not None:
            from real_trade.history.btfeed import preload_history

            if preload_history(self, self._cached_history, self._stream):
                return
        super().preload()

    def _load(self) -> bool | None:
        stream = self._stream
        if stream is None:
            return False
        stream.start()  # idempotent
        timeout = None if self.p.historical else self._qcheck
        while True:
            item = stream.next_item(timeout)
            if item is None:
                return False if stream.ended and not stream.has_items() else None
            if isinstance(item, StateChange):
                if self._on_state_change(item):
                    continue
                return False
            self._fill_lines(item)
            return True

    # -- helpers -------------------------------------------------------------------------
    def _on_state_change(self, change: StateChange) -> bool:
        """Notify backtrader; False when the stream ended (raises for a failed backtest)."""
        self.put_notification(self._STATUS[change.state], change.reason)
        if change.state is not FeedState.DISCONNECTED:
            return True
        self.error = change.error
        if change.error is not None:
            if self.p.historical:
                raise change.error
            _log.error("%s: live data ended: %s", self.symbol, change.reason)
        return False

    def _fill_lines(self, bar: Bar) -> None:
        opened = datetime.fromtimestamp(bar.open_ms / 1000, tz=timezone.utc).replace(tzinfo=None)
        self.lines.datetime[0] = bt.date2num(opened)
        self.lines.open[0] = bar.open
        self.lines.high[0] = bar.high
        self.lines.low[0] = bar.low
        self.lines.close[0] = bar.close
        self.lines.volume[0] = bar.volume
        self.lines.openinterest[0] = 0.0

    def _history(self, since_ms: int | None, until_ms: int | None) -> list[Bar]:
        """Closed bars in ``[since_ms, until_ms]`` (the latest ``history_bars`` if no start)."""
        if self._cached_history is not None:
            return self._cached_history(since_ms, until_ms)
        limit = int(self.p.history_bars) if since_ms is None else None
        rows = self.store.client.fetch_ohlcv(
            self.symbol, self.ccxt_timeframe, since_ms, until_ms, limit, True
        )
        return [Bar.from_ohlcv(row) for row in rows]

    def _make_watchdog(self, client: Any) -> FeedWatchdog:
        """The watchdog of this feed; ``"auto"`` ages come from the venue's capability table."""
        age = self.p.max_connection_age
        if age == "auto":
            quirks = getattr(getattr(client, "venue", None), "quirks", None) or {}
            age = default_max_connection_age(quirks.get("ws_max_connection_seconds"))
        return FeedWatchdog(
            self.ccxt_timeframe,
            stale_after=self.p.stale_after,
            max_connection_age=age,
            clock=self.p.clock or time.monotonic,
            check_interval=self.p.watchdog_interval,
        )

    def _make_source(self, client: Any) -> LiveBarSource:
        choice = self.p.live_source
        if callable(choice):
            source: LiveBarSource = choice(client, self.symbol, self.ccxt_timeframe)
            return source
        if choice not in ("auto", "ccxt", "native"):
            raise ConfigError(
                f"unknown live_source {choice!r}",
                field="live_source",
                fix='use "auto", "ccxt", "native" or a factory(client, symbol, timeframe)',
            )
        if choice != "ccxt":
            native = self._native_source(client)
            if native is not None:
                return native
            if choice == "native":
                raise ConfigError(
                    f"no native bar source for {client.venue.display_name}",
                    field="live_source",
                    fix='use live_source="auto" or "ccxt"',
                )
        return CcxtBarSource(client, self.symbol, self.ccxt_timeframe)

    def _native_source(self, client: Any) -> LiveBarSource | None:
        """The venue's native websocket source (the venue table names it), None without one."""
        return native_source_factory(client.venue)(client, self.symbol, self.ccxt_timeframe)
