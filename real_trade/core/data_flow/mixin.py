"""``DataFlowMixin``: a strategy's access to the data flow (indicators, publish, subscribe).

Mix it in before the strategy class: ``class MyStrategy(DataFlowMixin, bt.Strategy)``.
``self.data_flow`` is a :class:`~real_trade.core.data_flow.manager.DataFlowManager` (one per
strategy unless the class or the instance sets ``data_flow`` to a shared one);
``self.get_technical_indicators(self.data, ["sma_10", "rsi"])`` computes over the bars so far,
once per bar (repeated calls in the same bar come from ``_indicator_cache``); ``bars=N``
bounds the work to the last N bars.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from real_trade.bus import Subscription
from real_trade.core.data_flow.indicators import closes_of
from real_trade.core.data_flow.manager import DataEvent, DataFlowManager

__all__ = ["DataFlowMixin"]


class DataFlowMixin:
    """Data-flow helpers for a backtrader strategy (module docstring)."""

    _data_flow: DataFlowManager | None = None
    _indicator_cache: dict[tuple[Any, ...], dict[str, Any]] | None = None

    @property
    def data_flow(self) -> DataFlowManager:
        """The strategy's data-flow manager (created on first use)."""
        if self._data_flow is None:
            self._data_flow = DataFlowManager()
        return self._data_flow

    @data_flow.setter
    def data_flow(self, manager: DataFlowManager) -> None:
        self._data_flow = manager

    def get_technical_indicators(
        self,
        data: Any = None,
        indicators: Sequence[str] = ("sma_20", "rsi"),
        bars: int | None = None,
    ) -> dict[str, Any]:
        """The indicators over ``data`` (default: the strategy's first data) so far.

        ``bars``: compute over the last ``bars`` bars only (constant cost per bar in a long
        run; SMA and Bollinger stay exact, EMA and RSI restart their seed ``bars`` back, so
        they differ from backtrader's by that seed's decayed weight). None: every bar."""
        feed = data if data is not None else getattr(self, "data")  # noqa: B009
        if self._indicator_cache is None:
            self._indicator_cache = {}
        key = (id(feed), len(feed), tuple(indicators), bars)
        hit = self._indicator_cache.get(key)
        if hit is None:
            source: Any = feed
            if bars is not None:
                source = list(closes_of(feed))[-bars:]
            hit = self.data_flow.calculate_technical_indicators(source, indicators)
            # this bar's results only: entries of an older bar (another length) go
            kept = {k: v for k, v in self._indicator_cache.items() if k[1] == len(feed)}
            kept[key] = hit
            self._indicator_cache = kept
        return hit

    def subscribe_to_data(self, topic: str, callback: Callable[[DataEvent], None]) -> Subscription:
        """Hear what is published on ``topic`` (see ``DataFlowManager.register_subscriber``)."""
        return self.data_flow.register_subscriber(topic, callback)

    def publish_data(self, topic: str, data: Any, metadata: dict[str, Any] | None = None) -> None:
        """Publish ``data`` on ``topic`` through the bus (and the manager's cache)."""
        self.data_flow.publish_data(topic, data, metadata)
