"""Where a backtest's candles come from: :func:`load_symbol_bars`, the one place that loads them.

It reads the local history cache first (:mod:`real_trade.history`, as a ``BaseData`` feed in
backtest mode does, per the config's ``[history]`` section: on for a real exchange, off against
the simulator unless ``use = true``) and asks the config's venue (or the simulator at
``sim_url``) through the store's venue client only for what the cache lacks (closed candles
only, paginated, deduplicated), writing it back.

Frames have a UTC ``DatetimeIndex`` named ``datetime`` (each bar's **open** time) and float
columns ``open``, ``high``, ``low``, ``close``, ``volume``, in time order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from real_trade.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from real_trade.config import RealTradeConfig

__all__ = ["COLUMNS", "DEFAULT_BARS", "frame_from_rows", "load_bars", "load_symbol_bars"]

COLUMNS = ("open", "high", "low", "close", "volume")
DEFAULT_BARS = 1000
"""Bars loaded when no start is given: the newest closed ones (a feed's ``history_bars``)."""


def frame_from_rows(rows: list[list[float]]) -> pd.DataFrame:
    """A bars frame from ccxt candles ``[open_ms, open, high, low, close, volume]``."""
    import pandas as pd

    frame = pd.DataFrame(
        [[float(v) if v is not None else 0.0 for v in row[1:6]] for row in rows],
        columns=list(COLUMNS),
        index=pd.DatetimeIndex(
            pd.to_datetime([int(row[0]) for row in rows], unit="ms", utc=True), name="datetime"
        ),
    )
    return frame[~frame.index.duplicated(keep="last")].sort_index()


def _history_store(config: RealTradeConfig) -> Any:
    """A store of the config's venue for public data only (no keys are needed for candles)."""
    from real_trade.bus import EventBus
    from real_trade.engine.factory import build_store

    return build_store(config, bus=EventBus(synchronous=True, name="history"), keys=False)


def load_symbol_bars(
    config: RealTradeConfig, symbol: str, start_ms: int | None, end_ms: int | None
) -> pd.DataFrame:
    """The closed ``config.timeframe`` candles of ``symbol`` opening in ``[start_ms, end_ms)``.

    ``start_ms=None`` means the newest :data:`DEFAULT_BARS` bars before ``end_ms``;
    ``end_ms=None`` up to the newest closed bar. Raises ConfigError when there are none.
    """
    from real_trade.history.feed_cache import feed_history

    store = _history_store(config)
    try:
        store.start()
        until = None if end_ms is None else end_ms - 1
        limit = DEFAULT_BARS if start_ms is None else None
        history = feed_history(
            config.history.use,
            store,
            symbol,
            config.timeframe,
            history_bars=DEFAULT_BARS,
            root=config.history.dir,
        )
        if history is not None:
            frame = history.series(start_ms, until).to_frame()
        else:
            rows = store.client.fetch_ohlcv(symbol, config.timeframe, start_ms, until, limit, True)
            frame = frame_from_rows(rows) if rows else None
    finally:
        store.stop()
    if frame is None or frame.empty:
        raise ConfigError(
            f"no {config.timeframe} candles of {symbol} on {config.exchange} in the period asked",
            field="from",
            fix="choose --from/--to inside the venue's history",
        )
    return frame


def load_bars(
    config: RealTradeConfig, start_ms: int | None, end_ms: int | None
) -> dict[str, pd.DataFrame]:
    """One bars frame per symbol of ``config.run_symbols`` (see :func:`load_symbol_bars`)."""
    return {
        symbol: load_symbol_bars(config, symbol, start_ms, end_ms) for symbol in config.run_symbols
    }
