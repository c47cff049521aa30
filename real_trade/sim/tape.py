"""A symbol's public trade tape: recent trades and Binance-style aggregate trades.

:class:`Tape` keeps the last trades of one symbol for ``trades``/``historicalTrades`` and merges
them into aggregate trades (one taker order, one price, one instant) for ``aggTrades``, with
Binance's paging rules.
"""

from __future__ import annotations

from bisect import bisect_left

from real_trade.sim.types import AggTrade, Trade

__all__ = ["Tape"]


class Tape:
    """A symbol's recent public trades and aggregate trades (the last ``max_trades`` kept)."""

    def __init__(self, symbol: str, max_trades: int = 50_000) -> None:
        """Create an empty tape."""
        self.symbol = symbol
        self.max_trades = max_trades
        self.trades: list[Trade] = []
        self.aggs: list[AggTrade] = []
        self._agg_taker = -1
        self._next_agg = 1

    def add(self, trade: Trade) -> None:
        """Record a trade, merging it into the last aggregate when Binance would."""
        self.trades.append(trade)
        taker = trade.seller_order_id if trade.is_buyer_maker else trade.buyer_order_id
        last = self.aggs[-1] if self.aggs else None
        if (
            last is not None
            and taker == self._agg_taker
            and last.price == trade.price
            and last.time_ms == trade.time_ms
            and last.last_trade_id == trade.trade_id - 1
        ):
            self.aggs[-1] = AggTrade(
                last.agg_id,
                self.symbol,
                last.price,
                last.qty + trade.qty,
                last.first_trade_id,
                trade.trade_id,
                last.time_ms,
                last.is_buyer_maker,
            )
        else:
            self.aggs.append(
                AggTrade(
                    self._next_agg,
                    self.symbol,
                    trade.price,
                    trade.qty,
                    trade.trade_id,
                    trade.trade_id,
                    trade.time_ms,
                    trade.is_buyer_maker,
                )
            )
            self._next_agg += 1
            self._agg_taker = taker
        if len(self.trades) > self.max_trades * 1.2:
            del self.trades[: len(self.trades) - self.max_trades]
            del self.aggs[: max(0, len(self.aggs) - self.max_trades)]

    def recent(self, limit: int) -> list[Trade]:
        """The last ``limit`` trades, oldest first."""
        return self.trades[-limit:] if limit > 0 else []

    def from_id(self, from_id: int, limit: int) -> list[Trade]:
        """Up to ``limit`` trades with id >= ``from_id`` (Binance's ``historicalTrades``)."""
        if not self.trades or limit <= 0:
            return []
        i = max(0, from_id - self.trades[0].trade_id)
        return self.trades[i : i + limit]

    def agg_trades(
        self,
        *,
        from_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[AggTrade]:
        """Aggregate trades with Binance's ``fromId``/``startTime``/``endTime``/``limit`` rules.

        ``fromId`` wins; a time range alone spans at most one hour (``startTime`` only: the hour
        after it; ``endTime`` only: the hour before it); nothing: the most recent ``limit``.
        """
        aggs = self.aggs
        if limit <= 0 or not aggs:
            return []
        if from_id is not None:
            i = max(0, from_id - aggs[0].agg_id)
            return aggs[i : i + limit]
        if start_ms is None and end_ms is None:
            return aggs[-limit:]
        lo_t = start_ms if start_ms is not None else end_ms - 3_600_000  # type: ignore[operator]
        hi_t = end_ms if end_ms is not None else lo_t + 3_600_000
        lo = bisect_left(aggs, lo_t, key=lambda a: a.time_ms)
        hi = bisect_left(aggs, hi_t + 1, key=lambda a: a.time_ms)
        return aggs[lo : min(hi, lo + limit)]
