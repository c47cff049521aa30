"""``DataFlowManager``: indicators through the cache, and data shared through the event bus.

``publish_data(topic, data, metadata)`` keeps the data in the manager's :class:`DataCache`
(``get_cached_data(topic)`` answers until its TTL runs out) and publishes a :class:`DataEvent`
on the bus topic ``data_flow.<topic>``; ``register_subscriber(topic, callback)`` subscribes
``callback(event)`` there. The bus is the project's one (:func:`real_trade.bus.get_bus` unless
one is given): there is no private publish/subscribe.

``calculate_technical_indicators(data_feed, ["sma_10", "rsi"])`` returns one array per name:
``sma_N``, ``ema_N``, ``rsi_N``, ``bollinger_N`` (or ``bb_N``; three arrays ``<name>_upper``,
``<name>_middle``, ``<name>_lower``); without ``_N`` the period is backtrader's default (SMA 20,
EMA 30, RSI 14, Bollinger 20). Results are cached by the data's values.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from real_trade.bus import EventBus, Subscription, get_bus
from real_trade.core.data_flow.cache import DataCache
from real_trade.core.data_flow.indicators import TechnicalIndicatorsProcessor, closes_of

__all__ = ["TOPIC_PREFIX", "DataEvent", "DataFlowManager", "parse_indicator"]

TOPIC_PREFIX = "data_flow"
"""Bus topics of published data are ``data_flow.<topic>``."""

_DEFAULT_PERIODS = {"sma": 20, "ema": 30, "rsi": 14, "bollinger": 20}
_NAME = re.compile(r"^(sma|ema|rsi|bollinger|bb)(?:_(\d+))?$")


@dataclass(frozen=True)
class DataEvent:
    """Data published on the bus: its topic (without the prefix), the data, metadata, time."""

    topic: str
    data: Any
    metadata: dict[str, Any] = field(default_factory=dict)
    timestamp: float = 0.0


def parse_indicator(name: str) -> tuple[str, int]:
    """``"sma_10"`` -> ``("sma", 10)``; ``"rsi"`` -> ``("rsi", 14)``; ``"bb_20"`` -> bollinger."""
    match = _NAME.match(name.strip().lower())
    if match is None:
        raise ValueError(
            f"unknown indicator {name!r}: use sma, ema, rsi or bollinger, optionally with a "
            "period such as sma_10"
        )
    kind = "bollinger" if match.group(1) == "bb" else match.group(1)
    period = int(match.group(2)) if match.group(2) else _DEFAULT_PERIODS[kind]
    return kind, period


class DataFlowManager:
    """Indicators computed once per data and shared, and data published through the bus.

    ``cache`` (default: a new :class:`DataCache`), ``bus`` (default: the process bus),
    ``processor`` (default: a :class:`TechnicalIndicatorsProcessor` on the same cache).
    """

    def __init__(
        self,
        cache: DataCache | None = None,
        bus: EventBus | None = None,
        processor: TechnicalIndicatorsProcessor | None = None,
    ) -> None:
        """A manager over ``cache`` and ``bus`` (see the class docstring)."""
        self.cache = cache if cache is not None else DataCache()
        self.bus = bus if bus is not None else get_bus()
        self.processor = processor or TechnicalIndicatorsProcessor(self.cache)
        self.subscribers: dict[str, list[Callable[[DataEvent], None]]] = {}
        self._subscriptions: list[Subscription] = []

    # -- publish / subscribe -----------------------------------------------------------------
    def register_subscriber(
        self, data_topic: str, callback: Callable[[DataEvent], None]
    ) -> Subscription:
        """Call ``callback(event)`` for each :class:`DataEvent` published on ``data_topic``
        (bus patterns allowed: ``"ticker.*"``); returns the bus subscription."""
        sub = self.bus.subscribe(
            f"{TOPIC_PREFIX}.{data_topic}", lambda _topic, event: callback(event)
        )
        self.subscribers.setdefault(data_topic, []).append(callback)
        self._subscriptions.append(sub)
        return sub

    def publish_data(self, topic: str, data: Any, metadata: dict[str, Any] | None = None) -> None:
        """Cache ``data`` as ``topic`` and publish it on the bus as a :class:`DataEvent`."""
        event = DataEvent(topic, data, dict(metadata or {}), time.time())
        self.cache.put("published", data, topic=topic)
        self.bus.publish(f"{TOPIC_PREFIX}.{topic}", event)

    def get_cached_data(self, topic: str) -> Any | None:
        """The data last published on ``topic`` while its TTL lasts, else None."""
        return self.cache.get("published", topic=topic)

    def close(self) -> None:
        """Unsubscribe every callback this manager registered."""
        for sub in self._subscriptions:
            sub.unsubscribe()
        self._subscriptions.clear()
        self.subscribers.clear()

    # -- indicators --------------------------------------------------------------------------
    def calculate_technical_indicators(
        self, data_feed: Any, indicators: Sequence[str]
    ) -> dict[str, Any]:
        """One numpy array per indicator name over ``data_feed``'s closes (module docstring).

        ``data_feed``: a backtrader feed (the bars so far), a DataFrame with ``close``, or a
        sequence or array of prices."""
        prices = closes_of(data_feed)
        out: dict[str, Any] = {}
        for name in indicators:
            kind, period = parse_indicator(name)
            result = self.processor.process_series(prices, kind, period=period)
            if kind == "bollinger":
                upper, middle, lower = result
                out[f"{name}_upper"], out[f"{name}_middle"], out[f"{name}_lower"] = (
                    upper,
                    middle,
                    lower,
                )
            else:
                out[name] = result
        return out
