"""The values a :class:`~real_trade.session.session.TradingSession` is made of and hands out.

:class:`SessionConfig` is what a session trades with (mode, paper account, ids, bus, journal,
risk, venue); :class:`SessionUpdate` one order event for the host, with what it did to the
position. The timing constants of the session live here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from real_trade.bus import EventBus
from real_trade.execution import FillEvent, OrderUpdate
from real_trade.risk import LiveRiskConfig, RiskDecision, RiskEngine

__all__ = [
    "KILL_CONFIRM_S",
    "SNAPSHOT_EVERY_S",
    "STOP_SETTLE_S",
    "SessionConfig",
    "SessionUpdate",
]

SNAPSHOT_EVERY_S = 10.0
"""An account snapshot at least this often (and on each new bar)."""
STOP_SETTLE_S = 5.0
"""How long a stopping live session waits for the answers to orders it sent just before."""
KILL_CONFIRM_S = 30.0
"""How long a kill waits (on the session's cycle, in the trading clock's seconds: the paper
market's time on paper) for cancels and closes to be confirmed."""


@dataclass
class SessionConfig:
    """What a session trades with: mode, paper account, ids, bus, journal, risk, venue.

    ``currency`` is the cash currency (default: the quote of the first symbol); ``run_id``
    makes client order ids restart-stable and keys the journal; ``journal`` is a
    :class:`~real_trade.persistence.Journal` or a URL; ``risk`` a RiskEngine or LiveRiskConfig;
    ``client``/``venue`` the venue client and its spec (live; ``venue`` also shapes paper ids);
    ``contract_settings`` maps a contract to its ``(leverage, margin_mode)``, set on start;
    ``funding_poll_interval`` is how often (s) live reads the funding bills while a position is
    open (OKX);
    ``book`` (paper) a depth source ``(symbol, levels) -> BookDepth | None`` whose real book
    paper market orders walk (:mod:`~real_trade.execution.paper_book`).
    """

    paper: bool = True
    initial_cash: float = 10_000.0
    commission: float = 0.001
    currency: str | None = None
    run_id: str | None = None
    rules: Any = None
    level_notional: float = 20_000.0
    bus: EventBus | None = None
    journal: Any = None
    risk: RiskEngine | LiveRiskConfig | None = None
    reconcile_interval: float = 60.0
    funding_poll_interval: float = 60.0
    client: Any = None
    venue: Any = None
    contract_settings: Mapping[str, tuple[int | None, str | None]] = field(default_factory=dict)
    book: Any = None


@dataclass(frozen=True)
class SessionUpdate:
    """One order event for the host, with the position change a fill makes (0 otherwise)
    and, for an order the risk engine refused, its decision."""

    event: OrderUpdate | FillEvent
    position_change: float = 0.0
    denial: RiskDecision | None = None
