"""Bybit v5's error answers: retCodes and messages for the core's neutral reasons and faults.

Every answer is the v5 envelope ``{retCode, retMsg, result, retExtInfo, time}``; Bybit answers
most refusals with HTTP 200 and the code in the body (ccxt's ``handle_errors`` reads it), an IP
over its limit with HTTP 403. :func:`from_sim_error` maps a :class:`SimError`'s neutral
:class:`Reason` to the code ccxt turns into the right exception (spot codes 170xxx, contract
codes 110xxx: see ``VENUES.md`` section 4).
"""

from __future__ import annotations

from typing import Any

from real_trade.sim.errors import Reason, SimError

__all__ = ["BybitApiError", "envelope", "from_sim_error"]


class BybitApiError(Exception):
    """A refusal in Bybit's words: ``ret_code``, ``ret_msg`` and the HTTP status."""

    def __init__(self, ret_code: int, ret_msg: str, http_status: int = 200) -> None:
        """Remember the code, message and status."""
        super().__init__(f"{ret_code}: {ret_msg}")
        self.ret_code = ret_code
        self.ret_msg = ret_msg
        self.http_status = http_status

    def to_json(self, time_ms: int) -> dict[str, Any]:
        """The envelope carrying this error."""
        return envelope({}, time_ms, self.ret_code, self.ret_msg)


def envelope(result: Any, time_ms: int, ret_code: int = 0, ret_msg: str = "OK") -> dict[str, Any]:
    """Bybit v5's response envelope."""
    return {
        "retCode": ret_code,
        "retMsg": ret_msg,
        "result": result,
        "retExtInfo": {},
        "time": time_ms,
    }


# (spot code, contract code, message)
_REASONS: dict[Reason, tuple[int, int, str]] = {
    Reason.INSUFFICIENT_BALANCE: (170131, 110007, "Insufficient balance."),
    Reason.DUPLICATE_ORDER: (170141, 110072, "Duplicate clientOrderId."),
    Reason.UNKNOWN_ORDER: (170213, 110001, "Order does not exist."),
    Reason.UNKNOWN_SYMBOL: (10001, 10001, "params error: symbol invalid"),
    Reason.NOT_A_CONTRACT: (10001, 10001, "params error: symbol invalid"),
    Reason.PRICE_FILTER: (170134, 110003, "Order price has too many decimals."),
    Reason.INVALID_PRICE: (170136, 110003, "Order price is out of permissible range."),
    Reason.LOT_SIZE: (170137, 110094, "Order quantity has too many decimals."),
    Reason.MARKET_LOT_SIZE: (170137, 110094, "Order quantity has too many decimals."),
    Reason.INVALID_QUANTITY: (170136, 110003, "Order quantity exceeded the limits."),
    Reason.NOTIONAL: (170140, 110094, "Order value exceeded lower limit."),
    Reason.MAX_NUM_ORDERS: (170140, 110003, "Too many open orders."),
    Reason.WOULD_TAKE: (170134, 110003, "PostOnly order would take liquidity."),
    Reason.NO_LIQUIDITY: (170134, 110003, "No liquidity for a market order."),
    Reason.REDUCE_ONLY_REJECTED: (110017, 110017, "Reduce-only order rejected."),
    Reason.LEVERAGE_NOT_VALID: (10001, 10001, "params error: leverage invalid"),
    Reason.TRADING_DISABLED: (10005, 10005, "Permission denied."),
}


def from_sim_error(err: SimError, *, spot: bool = True) -> BybitApiError:
    """Bybit's answer to a neutral core refusal (spot or contract codes)."""
    entry = _REASONS.get(err.reason)
    if entry is None:
        return BybitApiError(10001, f"params error: {err}")
    spot_code, contract_code, msg = entry
    return BybitApiError(spot_code if spot else contract_code, msg)


def params_error(msg: str) -> BybitApiError:
    """10001, Bybit's generic bad-request code (ccxt: BadRequest)."""
    return BybitApiError(10001, f"params error: {msg}")
