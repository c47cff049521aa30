"""The venue table of the conformance suite: one :class:`VenueCase` per (venue, market).

Each case names the simulator it needs (:data:`SIMS`, one per venue, shared by a test module),
the ccxt symbol it trades and how to build the real, unmodified ccxt and ccxt.pro clients for
it. Test ids are ``<venue>-<market>`` (``bybit-perp``), so a failure names the venue.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import ccxt
import ccxt.pro as ccxtpro

from real_trade.sim.server import SimExchange

__all__ = ["CASES", "SIMS", "SimPool", "VenueCase", "order_amount"]


@dataclass(frozen=True)
class VenueCase:
    """One venue and market: ``venue`` (the face), ``market`` (spot or perp), ``symbol``."""

    venue: str
    market: str
    symbol: str

    @property
    def id(self) -> str:
        """``venue-market``: the pytest id."""
        return f"{self.venue}-{self.market}"

    @property
    def perp(self) -> bool:
        """Whether the market is a linear perpetual."""
        return self.market == "perp"

    def config(self, sim: SimExchange, key: str | None, secret: str | None) -> dict[str, Any]:
        """The ccxt config of this case's client for ``sim``."""
        if self.venue == "binance":
            kind = "future" if self.perp else "spot"
            return sim.ccxt_config(key, secret, market_type=kind)
        config = sim.ccxt_config(key, secret, venue=self.venue)
        config["options"]["defaultType"] = "swap" if self.perp else "spot"
        return config

    def _class_name(self) -> str:
        return "binanceusdm" if self.venue == "binance" and self.perp else self.venue

    def client(self, sim: SimExchange, key: str | None = None, secret: str | None = None) -> Any:
        """A sync ccxt client with markets loaded."""
        ex = getattr(ccxt, self._class_name())(self.config(sim, key, secret))
        ex.load_markets()
        return ex

    def pro(self, sim: SimExchange, key: str | None = None, secret: str | None = None) -> Any:
        """A ccxt.pro client (markets not loaded yet; close it)."""
        return getattr(ccxtpro, self._class_name())(self.config(sim, key, secret))


CASES: tuple[VenueCase, ...] = (
    VenueCase("binance", "spot", "BTC/USDT"),
    VenueCase("binance", "perp", "BTC/USDT:USDT"),
    VenueCase("bybit", "spot", "BTC/USDT"),
    VenueCase("bybit", "perp", "BTC/USDT:USDT"),
    VenueCase("okx", "spot", "BTC/USDT"),
    VenueCase("okx", "perp", "BTC/USDT:USDT"),
)

SIMS: dict[str, dict[str, Any]] = {
    "binance": {"faces": ["binance", "binance_futures"], "seed": 41},
    "bybit": {"faces": ["bybit"], "seed": 42},
    "okx": {"faces": ["okx"], "seed": 43},
}
"""The simulator each venue's cases share (spot over its main core, perpetuals over its futures
core)."""


class SimPool:
    """Real-time simulators started on first use, one per venue, stopped by :meth:`close`."""

    def __init__(self) -> None:
        """An empty pool."""
        self._stack = ExitStack()
        self._sims: dict[str, SimExchange] = {}

    def get(self, venue: str) -> SimExchange:
        """The running simulator serving ``venue``."""
        if venue not in self._sims:
            self._sims[venue] = self._stack.enter_context(SimExchange(**SIMS[venue]))
        return self._sims[venue]

    def running(self) -> Iterator[SimExchange]:
        """The simulators started so far."""
        return iter(list(self._sims.values()))

    def close(self) -> None:
        """Stop every simulator."""
        self._stack.close()


def order_amount(
    ex: Any, symbol: str, notional: float = 300.0, price: float | None = None
) -> float:
    """An amount (contracts on a contract market) worth about ``notional`` quote at ``price``
    (else the last price), rounded up to the market's precision and at least its minimum."""
    market = ex.market(symbol)
    if price is None:
        price = float(ex.fetch_ticker(symbol)["last"])
    size = float(market.get("contractSize") or 1.0)
    amount = notional / price / size
    step = float(market["precision"]["amount"])
    amount = math.ceil(amount / step) * step
    minimum = market["limits"]["amount"]["min"] or 0.0
    return float(ex.amount_to_precision(symbol, max(amount, float(minimum))))
