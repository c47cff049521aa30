"""The exchange-side dead-man switch: the venue cancels our open orders unless re-armed in time.

A process killed with SIGKILL (or a machine that loses its network) cannot cancel its resting
orders; the venue can, when it was told to expect a heartbeat. :class:`DeadManSwitch` is the one
mechanism: the runner calls :meth:`DeadManSwitch.arm` on every heartbeat (each call restarts the
venue's countdown of ``timeout_s``) and :meth:`DeadManSwitch.disarm` on a clean stop. How one
venue arms it is a :class:`DeadManVenue` of :data:`DEAD_MAN_VENUES`, called through ccxt's
implicit API methods on the store's client:

* Binance USDⓈ-M (``future``): ``POST /fapi/v1/countdownCancelAll`` per symbol
  (``fapiPrivatePostCountdownCancelAll``, ``countdownTime`` in ms, 0 disarms).
* OKX (``future``/``swap``): ``POST /api/v5/trade/cancel-all-after`` for the whole account
  (``privatePostTradeCancelAllAfter``, ``timeOut`` seconds, 0 disarms, else 10..120).

Not armed (:data:`NO_DEAD_MAN`, and a clear ConfigError when asked for): Binance spot has no
countdown; Bybit's disconnect protection (DCP, ``/v5/order/disconnected-cancel-all``) is not a
heartbeat call: it sets a window that starts when the account's private websocket subscribed to
``dcp`` drops, and Bybit enables it per account on request. real_trade holds no such
connection yet (the simulator's Bybit face implements DCP, see :mod:`real_trade.sim.bybit.ws`).

``[run] dead_man_switch`` (unset: on for perpetuals where the venue has one, off otherwise) and
``dead_man_timeout_s`` configure it; :func:`dead_man_for` resolves them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from real_trade.errors import ConfigError, redact

if TYPE_CHECKING:
    from real_trade.config import RealTradeConfig

__all__ = ["DEAD_MAN_VENUES", "NO_DEAD_MAN", "DeadManSwitch", "DeadManVenue", "dead_man_for"]

_log = logging.getLogger("real_trade.venues.dead_man")

ArmCall = Callable[[Any, list[str], int], Awaitable[object]]
"""``arm(exchange, symbols, timeout_ms)`` on the client's I/O loop (ccxt.pro ``exchange``, unified
symbols, markets loaded); ``timeout_ms`` 0 disarms."""


@dataclass(frozen=True)
class DeadManVenue:
    """How one venue arms its cancel-all countdown: the call, the timeouts it accepts, and
    whether an unset ``dead_man_switch`` turns it on (False where the venue enables it per
    account on request, so that it is armed only when asked for)."""

    endpoint: str
    arm: ArmCall
    min_s: float = 1.0
    max_s: float = 3600.0
    by_default: bool = True


async def _binance_usdm(exchange: Any, symbols: list[str], timeout_ms: int) -> None:
    for symbol in symbols:
        await exchange.fapiPrivatePostCountdownCancelAll(
            {"symbol": exchange.market(symbol)["id"], "countdownTime": timeout_ms}
        )


async def _okx(exchange: Any, symbols: list[str], timeout_ms: int) -> None:
    await exchange.privatePostTradeCancelAllAfter({"timeOut": str(timeout_ms // 1000)})


_DCP = "dcp"


async def _bybit_dcp(exchange: Any, symbols: list[str], timeout_ms: int) -> None:
    """Bybit: the private websocket subscribed to ``dcp`` is the heartbeat (its window set over
    REST when the subscription is made, again after every reconnect); disarming unsubscribes,
    so that closing the connection cleanly does not cancel anything."""
    url = await exchange.get_url_by_market_type(symbols[0], True, "watchOrders")
    client = exchange.clients.get(url)
    if timeout_ms == 0:
        if client is not None and client.subscriptions.pop(_DCP, None) is not None:
            request = {"op": "unsubscribe", "req_id": str(exchange.request_id()), "args": [_DCP]}
            await client.send(request)
        return
    if client is not None and _DCP in client.subscriptions and not client.error:
        return  # subscribed on this very connection: nothing to renew
    window = {"product": "DERIVATIVES", "timeWindow": max(3, timeout_ms // 1000)}
    await exchange.privatePostV5OrderDisconnectedCancelAll(window)
    await exchange.authenticate(url)
    request = {"op": "subscribe", "req_id": str(exchange.request_id()), "args": [_DCP]}
    pushes = exchange.watch(url, _DCP, request, _DCP)  # its pushes are not read
    pushes.add_done_callback(lambda f: f.cancelled() or f.exception())


_OKX = DeadManVenue("POST /api/v5/trade/cancel-all-after", _okx, min_s=10, max_s=120)

_BYBIT = DeadManVenue(
    "POST /v5/order/disconnected-cancel-all + private websocket topic dcp",
    _bybit_dcp,
    min_s=3,
    max_s=300,
    by_default=False,
)

DEAD_MAN_VENUES: dict[tuple[str, str], DeadManVenue] = {
    ("binance", "future"): DeadManVenue("POST /fapi/v1/countdownCancelAll", _binance_usdm),
    ("okx", "future"): _OKX,
    ("okx", "swap"): _OKX,
    ("bybit", "future"): _BYBIT,
    ("bybit", "swap"): _BYBIT,
}
"""``(venue, market type)`` -> how to arm its dead-man switch."""

NO_DEAD_MAN: dict[str, str] = {
    "binance": "Binance has a countdown cancel-all for USDⓈ-M futures only, not for spot",
    "bybit": "Bybit's disconnect protection (DCP) is armed here for linear perpetuals only",
}
"""Why a venue of the table has no dead-man switch here (by venue name)."""


def dead_man_for(config: RealTradeConfig) -> tuple[DeadManVenue, float] | None:
    """The dead-man switch a run of ``config`` arms, with its timeout in seconds, or None.

    Off in paper mode (no order rests at a venue) and when ``run.dead_man_switch`` is false;
    unset means on for perpetuals (``future``/``swap``) on a venue of :data:`DEAD_MAN_VENUES`
    that arms it ``by_default``.
    ConfigError when it is asked for (true) where the venue has none, or when the timeout is
    outside what the venue accepts.
    """
    wanted = config.run.dead_man_switch
    if config.trading_mode == "paper" or wanted is False:
        return None
    venue = DEAD_MAN_VENUES.get((config.exchange, config.market_type))
    if venue is not None and wanted is None and not venue.by_default:
        return None
    if venue is None:
        if wanted:
            why = NO_DEAD_MAN.get(
                config.exchange, f"no dead-man switch is known for {config.exchange}"
            )
            raise ConfigError(
                f"run.dead_man_switch: {why} (market_type {config.market_type!r})",
                field="run.dead_man_switch",
                fix="set dead_man_switch = false, or trade a perpetual on Binance or OKX",
            )
        return None
    timeout_s = config.run.dead_man_timeout_s
    if not venue.min_s <= timeout_s <= venue.max_s:
        raise ConfigError(
            f"{config.exchange} accepts a dead-man timeout of {venue.min_s:g}..{venue.max_s:g} s, "
            f"not {timeout_s:g}",
            field="run.dead_man_timeout_s",
            fix=f"set dead_man_timeout_s between {venue.min_s:g} and {venue.max_s:g}",
        )
    return venue, timeout_s


class DeadManSwitch:
    """The venue's countdown over ``symbols``, re-armed on each heartbeat (module docstring).

    ``client`` is the store's :class:`~real_trade.venues.client.VenueClient`. :meth:`arm` and
    :meth:`disarm` never raise: a failed call is logged and counted in :attr:`failures` (the
    next heartbeat tries again, and the countdown armed before still runs).
    """

    def __init__(
        self, client: Any, venue: DeadManVenue, symbols: list[str], timeout_s: float
    ) -> None:
        """A switch for ``symbols`` on ``client``'s venue; nothing is sent until :meth:`arm`."""
        self.client = client
        self.venue = venue
        self.symbols = list(symbols)
        self.timeout_s = timeout_s
        self.beats = 0
        self.failures = 0
        self.armed = False

    def __repr__(self) -> str:
        """The endpoint, symbols, timeout and state."""
        return (
            f"DeadManSwitch({self.venue.endpoint!r}, symbols={self.symbols!r}, "
            f"timeout_s={self.timeout_s:g}, armed={self.armed})"
        )

    def arm(self) -> bool:
        """(Re)start the countdown (one heartbeat); True when the venue accepted it."""
        if self._send(int(self.timeout_s * 1000)):
            self.beats += 1
            self.armed = True
            return True
        return False

    def disarm(self) -> bool:
        """Stop the countdown (a clean stop); True when the venue accepted it."""
        if not self._send(0):
            return False
        self.armed = False
        return True

    def _send(self, timeout_ms: int) -> bool:
        client = self.client
        try:
            symbols = [client.symbol_of(s) for s in self.symbols]
            client.run(self.venue.arm(client.exchange, symbols, timeout_ms))
        except Exception as exc:
            self.failures += 1
            _log.warning(
                "dead-man switch: %s (timeout %d ms) failed: %s",
                self.venue.endpoint,
                timeout_ms,
                redact(f"{type(exc).__name__}: {exc}"),
            )
            return False
        return True
