"""Binance USDⓈ-M's error answers for the core's neutral reasons.

The futures API reuses spot's ``{"code", "msg"}`` shape (:class:`BinanceApiError`) and most of
its parameter errors, but refuses orders with its own codes: -2019 "Margin is insufficient.",
-4164 for a notional under the minimum, -4116 for a duplicated client order id, -2022 for a
reduce-only order that would not reduce, -4014/-1111 for price and quantity steps, -4004/-4005
for a quantity below/above the range, -5022 for a post-only order that would take, -2021 for a
stop that would trigger at once.
:func:`from_sim_error` translates with this table first and falls back to spot's words.
"""

from __future__ import annotations

from real_trade.sim.binance.errors import BinanceApiError, sim_error_code_msg
from real_trade.sim.errors import Reason, SimError

__all__ = ["FUTURES_CODES", "conditional_not_here", "from_sim_error", "no_need_to_change"]

FUTURES_CODES: dict[Reason, tuple[int, str]] = {
    Reason.INSUFFICIENT_BALANCE: (-2019, "Margin is insufficient."),
    Reason.NOTIONAL: (
        -4164,
        "Order's notional must be no smaller than 100 (unless you choose reduce only).",
    ),
    Reason.DUPLICATE_ORDER: (-4116, "ClientOrderId is duplicated."),
    Reason.PRICE_FILTER: (-4014, "Price not increased by tick size."),
    Reason.LOT_SIZE: (-1111, "Precision is over the maximum defined for this asset."),
    Reason.MARKET_LOT_SIZE: (-4005, "Quantity greater than max quantity."),
    Reason.WOULD_TAKE: (
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be "
        "rejected. The order will not be recorded in the order history",
    ),
    Reason.WOULD_TRIGGER_IMMEDIATELY: (-2021, "Order would immediately trigger."),
    Reason.NO_LIQUIDITY: (
        -4131,
        "The counterparty's best price does not meet the PERCENT_PRICE filter limit.",
    ),
    Reason.MAX_NUM_ORDERS: (-4045, "Reach max stop order limit."),
    Reason.REDUCE_ONLY_REJECTED: (-2022, "ReduceOnly Order is rejected."),
    Reason.NO_POSITION: (-2022, "ReduceOnly Order is rejected."),
}
"""USDⓈ-M's code and text for the reasons whose answer differs from spot's."""

_LOT_BOUNDS: dict[str, tuple[int, str]] = {
    "min_qty": (-4004, "Quantity less than min quantity."),
    "max_qty": (-4005, "Quantity greater than max quantity."),
}
"""A quantity outside LOT_SIZE's range (``field``): USD-M's own codes (off the step: -1111)."""


def from_sim_error(err: SimError, *, for_query: bool = False) -> BinanceApiError:
    """USDⓈ-M's code and text for an error of the core (spot's when the same)."""
    if err.reason is Reason.LOT_SIZE and err.field in _LOT_BOUNDS:
        return BinanceApiError(*_LOT_BOUNDS[err.field])
    fixed = FUTURES_CODES.get(err.reason)
    if fixed is not None:
        return BinanceApiError(*fixed)
    code, msg = sim_error_code_msg(err, for_query=for_query)
    return BinanceApiError(code, msg)


def conditional_not_here() -> BinanceApiError:
    """-4120: conditional types go to the algo order endpoints since late 2025."""
    return BinanceApiError(
        -4120,
        "Order type not supported for this endpoint. Please use the Algo Order API endpoints "
        "instead.",
    )


def no_need_to_change(what: str) -> BinanceApiError:
    """-4046 (margin type) or -4059 (position side) for a setting already in force."""
    if what == "margin":
        return BinanceApiError(-4046, "No need to change margin type.")
    return BinanceApiError(-4059, "No need to change position side.")
