"""Orders decided on backfill bars: where the venue's market stands now, for the paper broker.

A live feed first replays history (data status DELAYED), then goes LIVE; after a reconnect it
replays the gap the same way. An order a strategy places on such a bar goes to the exchange
*now* and meets the market as it stands now, not the old bar's prices. The paper broker does
the same: :func:`replays_history` tells such a bar, :func:`live_market` asks the venue (its
ticker, through the feed's store's client) for the price and time to meet, and the paper
execution moves its market there before the order goes in
(:meth:`~real_trade.execution.paper.PaperExecution.meet_live_market`).

A backtest feed (``historical=True``, or any feed that is not live such as ``PandasData``) is
never backfill: there, history is the market, and fills on its bars stay as they are.

A backfill replays hundreds of bars in a second or two; a strategy that orders on many of them
(seed 001's buy-when-flat, sell-when-long does on every bar) would ask the venue's ticker once an
order, a thousand requests of the IP's weight for one price. The market read is reused for
:data:`LIVE_MARKET_REUSE_S` seconds (per venue client and symbols), the time an exchange takes to
fill such a burst anyway.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LIVE_MARKET_REUSE_S",
    "LiveMarket",
    "LivePriceUnknownError",
    "live_market",
    "meet_live_market",
    "reference_price",
    "replays_history",
    "venue_client_of",
]


class LivePriceUnknownError(RuntimeError):  # internal: becomes a Rejected order's reason
    """The venue's current price could not be learned (no venue client, or it failed)."""


@dataclass(frozen=True, slots=True)
class LiveMarket:
    """The venue's market now: ``prices`` by unified symbol, at the venue's time ``now_ms``."""

    prices: dict[str, float]
    now_ms: int


LIVE_MARKET_REUSE_S = 1.0
"""Seconds (wall clock) a venue's market read for a backfill order serves the next ones."""

_recent: weakref.WeakKeyDictionary[Any, tuple[float, tuple[str, ...], LiveMarket]] = (
    weakref.WeakKeyDictionary()
)
_recent_lock = threading.Lock()


def replays_history(data: Any) -> bool:
    """Whether ``data``'s current bar is backfill of a live feed (DELAYED), not the market now."""
    islive = getattr(data, "islive", None)
    if islive is None or not islive():
        return False
    return bool(getattr(data, "_laststatus", None) == data.DELAYED)


def venue_client_of(*owners: Any) -> Any:
    """The first venue client among the owners' stores (the broker's, then the feed's)."""
    for owner in owners:
        store = getattr(owner, "store", None)
        client = getattr(store, "client", None) if store is not None else None
        if client is not None:
            return client
    return None


def _price_of(ticker: dict[str, Any]) -> float | None:
    """The ticker's mid between best bid and ask, else its last trade price."""
    bid, ask = ticker.get("bid"), ticker.get("ask")
    if bid and ask and math.isfinite(bid) and math.isfinite(ask) and 0 < bid <= ask:
        return (float(bid) + float(ask)) / 2
    for key in ("last", "close"):
        value = ticker.get(key)
        if value and math.isfinite(value) and value > 0:
            return float(value)
    return None


def live_market(client: Any, symbols: Iterable[str]) -> LiveMarket:
    """The venue's current price of each symbol (its ticker) and its time now.

    The time is the newest ticker timestamp, else the venue's clock (a simulator's may be
    stepped or accelerated, so never the local wall clock). Raises
    :class:`LivePriceUnknownError` naming the cause.
    """
    if client is None:
        raise LivePriceUnknownError("no venue client: the broker and the feed have no store")
    wanted = tuple(symbols)
    now = time.monotonic()
    with _recent_lock:
        try:
            recent: tuple[float, tuple[str, ...], LiveMarket] | None = _recent.get(client)
        except TypeError:  # a client that cannot be weakly held
            recent = None
    if recent is not None and recent[1] == wanted and now - recent[0] < LIVE_MARKET_REUSE_S:
        return recent[2]
    market = _read_live_market(client, wanted)
    with _recent_lock, contextlib.suppress(TypeError):  # a client that cannot be weakly held
        _recent[client] = (now, wanted, market)
    return market


def _read_live_market(client: Any, symbols: Iterable[str]) -> LiveMarket:
    """:func:`live_market`'s venue reads (no reuse)."""
    prices: dict[str, float] = {}
    stamps: list[int] = []
    for symbol in symbols:
        try:
            ticker = client.fetch_ticker(symbol)
        except Exception as exc:  # the venue's words, for the order's reason
            raise LivePriceUnknownError(f"the ticker of {symbol} failed: {exc}") from exc
        price = _price_of(ticker)
        if price is None:
            raise LivePriceUnknownError(f"the ticker of {symbol} has no price: {ticker}")
        prices[symbol] = price
        if ticker.get("timestamp"):
            stamps.append(int(ticker["timestamp"]))
    if stamps:
        return LiveMarket(prices, max(stamps))
    try:
        return LiveMarket(prices, int(client.fetch_time()))
    except Exception as exc:
        raise LivePriceUnknownError(f"the venue's time is unknown: {exc}") from exc


def meet_live_market(session: Any, client: Any, symbol: str, symbols: Iterable[str]) -> float:
    """A paper order on a backfill bar: the session's paper market moves to the venue's market
    now; the price of ``symbol`` there. :class:`LivePriceUnknownError` gives the order's
    rejection reason."""
    try:
        market = live_market(client, symbols)
    except LivePriceUnknownError as exc:
        raise LivePriceUnknownError(
            f"paper cannot price an order placed on a backfill bar: {exc}; "
            "an exchange fills it at the market now (or place it once LIVE)"
        ) from exc
    session.meet_live_market(market.prices, market.now_ms)
    return market.prices[symbol]


def reference_price(
    broker: Any,
    session: Any,
    data: Any,
    symbol: str,
    symbols: Iterable[str],
    reader: Any = None,
) -> float | None:
    """The price an order on ``data`` is placed at: its close (read by ``reader``, the feed's
    :class:`~real_trade.brokers.translate.BarReader`, when given), or for a paper order on a
    backfill bar the venue's price now (the session's paper market moves there first;
    ``symbols`` are the broker's, in order)."""
    if session.paper is not None and replays_history(data):
        client = venue_client_of(broker, data)
        return meet_live_market(session, client, symbol, sorted(symbols))
    if reader is not None:
        return reader.close()
    return float(data.close[0]) if len(data) else None
