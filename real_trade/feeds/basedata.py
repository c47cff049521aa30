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
live source is the venue's native one where it has one, else ccxt.pro's (``live_source``).

**Plain classes behind it.** :class:`~real_trade.feeds.feed_plan.FeedPlan` (the parameters as
values, and the stream they make), :mod:`real_trade.feeds.sources` (history, live source,
watchdog: ``stale_after``, ``max_connection_age``, ``clock``, ``watchdog_interval``, published on
``feed.stale`` / ``feed.reconnect``), and :func:`~real_trade.utils.stop_signals.
stop_cerebro_on_signals`: in a plain script, a live feed's first Ctrl-C or SIGTERM stops Cerebro
gracefully after the current bar, a second one at once.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, ClassVar

import backtrader as bt

from real_trade.errors import ConfigError
from real_trade.feeds.bars import Bar, BarStream, FeedState, StateChange
from real_trade.feeds.feed_plan import FeedPlan
from real_trade.feeds.sources import BarHistory, LiveSourceFactory, native_source_factory
from real_trade.feeds.timeframes import (
    bt_to_timeframe,
    date_num_of_ms,
    ms_of_date_num,
    timeframe_to_bt,
)
from real_trade.utils.stop_signals import restore_signals, stop_cerebro_on_signals

__all__ = ["BaseData", "LiveSourceFactory", "native_source_factory"]

_log = logging.getLogger("real_trade.feeds")


class BaseData(bt.feed.DataBase):
    """A backtrader feed of closed candles from any real_trade store (module docstring).

    ``BaseData(store, symbol="BTC/USDT", timeframe=bt.TimeFrame.Minutes, compression=60)`` or
    ``BaseData.from_timeframe_string("1h", store, symbol="BTC/USDT")``. Parameters beyond
    backtrader's: ``symbol`` (unified symbol or venue id; ``dataname`` works too),
    ``ccxt_timeframe`` (wins over timeframe/compression), ``historical``, ``backfill_start``,
    ``backfill``, ``history_bars``, ``live_source`` (``"auto"``, ``"ccxt"``, ``"native"`` or a
    :data:`LiveSourceFactory`), ``qcheck`` (seconds ``_load`` may wait in live mode), the
    watchdog's ``stale_after``, ``max_connection_age``, ``clock`` and ``watchdog_interval``, and
    ``cache``: the local history cache, only missing candles fetched (``None``: on for real
    venues, off against the simulator; ``True``/``False``, a folder or a ``HistoryCache``).
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
        state: getattr(bt.feed.DataBase, state.name) for state in FeedState
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
        self._history: BarHistory | None = None
        self.plan().watchdog(None)  # a bad bound fails here, naming the parameter

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

    def order_book(self, depth: int | None = 10) -> Any:
        """The best ``depth`` levels of the symbol's live book as a ``BookDepth``, None until
        it is SYNCED (the first call starts the sync): ``self.data.order_book()`` in ``next()``."""
        return self.store.get_order_book(self.symbol, depth)

    # -- backtrader's protocol -----------------------------------------------------------
    def islive(self) -> bool:
        """True unless ``historical``: Cerebro then runs bar by bar, without preloading."""
        return not self.p.historical

    def haslivedata(self) -> bool:
        """Whether a bar or notification is queued (Cerebro then does not wait)."""
        return self._stream is not None and self._stream.has_items()

    def wake(self) -> None:
        """Any thread: a live ``_load`` waiting for a bar returns at once without one, so
        Cerebro runs a cycle now (its broker books the fills and statuses that came in: the
        live broker calls this when its execution reports arrive). No-op when historical."""
        stream = self._stream
        if stream is not None and not self.p.historical:
            stream.wake()

    def plan(self) -> FeedPlan:
        """The feed's parameters as a plain :class:`FeedPlan` (what :meth:`start` builds on)."""
        return FeedPlan.from_params(self.p, self.symbol, self.ccxt_timeframe)

    def start(self) -> None:
        """Start the store, check symbol and timeframe with the venue, start the stream."""
        super().start()
        self._start_finish()
        self.store.start()
        client = self.store.client
        plan = self.plan().on_venue(client)
        self.symbol = plan.symbol
        self._history = plan.history(client)
        self._stream = plan.stream(
            client,
            self._history,
            fromdate_ms=ms_of_date_num(self.fromdate),
            todate_ms=ms_of_date_num(self.todate),
        )
        if not (self.p.historical and self._history.cached is not None):
            self._stream.start()  # a cached backtest starts it in _load, unless preloaded
        if not self.p.historical:  # last: a start that failed leaves no handler behind
            cerebro = getattr(self, "_env", None)
            self._previous_handlers = stop_cerebro_on_signals(cerebro, _log.warning)

    def stop(self) -> None:
        """Stop the stream and its live source (the store stays up: others may share it)."""
        super().stop()
        if self._stream is not None:
            self._stream.stop()
        previous, self._previous_handlers = self._previous_handlers, {}
        restore_signals(previous)

    def preload(self) -> None:
        """A backtest over the history cache loads every bar at once (real_trade.history)."""
        cached = self._history.cached if self._history is not None else None
        if cached is not None and self._stream is not None:
            from real_trade.history.btfeed import preload_history

            if preload_history(self, cached, self._stream):
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
        self.plan().end(change)
        return False

    def _fill_lines(self, bar: Bar) -> None:
        self.lines.datetime[0] = date_num_of_ms(bar.open_ms)
        self.lines.open[0] = bar.open
        self.lines.high[0] = bar.high
        self.lines.low[0] = bar.low
        self.lines.close[0] = bar.close
        self.lines.volume[0] = bar.volume
        self.lines.openinterest[0] = 0.0
