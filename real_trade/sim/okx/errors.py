"""OKX v5's error answers: codes and messages for the core's neutral reasons and faults.

Every answer is the envelope ``{code, msg, data}`` with string codes. Refusals of one order
(place, cancel) come back as ``code "1"`` with the order's own ``sCode``/``sMsg`` in ``data``
(ccxt reads those first); other refusals carry the code in the envelope. See ``VENUES.md``
section 4 for the ccxt exception each code becomes.
"""

from __future__ import annotations

from typing import Any

from real_trade.sim.errors import Reason, SimError

__all__ = ["OkxApiError", "OrderRefused", "envelope", "from_sim_error"]


class OkxApiError(Exception):
    """A refusal in OKX's words: ``code``, ``msg`` and the HTTP status."""

    def __init__(self, code: str | int, msg: str, http_status: int = 200) -> None:
        """Remember the code, message and status."""
        super().__init__(f"{code}: {msg}")
        self.code = str(code)
        self.msg = msg
        self.http_status = http_status

    def to_json(self) -> dict[str, Any]:
        """The envelope carrying this error."""
        return envelope([], self.code, self.msg)


class OrderRefused(Exception):  # noqa: N818 - carries a per-order answer, as OKX words it
    """One order refused: the per-order ``sCode``/``sMsg`` row, answered under ``code "1"``."""

    def __init__(self, s_code: str, s_msg: str, cl_ord_id: str = "") -> None:
        """Remember the order's code, message and client id."""
        super().__init__(f"{s_code}: {s_msg}")
        self.s_code = s_code
        self.s_msg = s_msg
        self.cl_ord_id = cl_ord_id

    def to_json(self) -> dict[str, Any]:
        """OKX's answer: ``code "1"`` with the per-order row."""
        row = {
            "ordId": "",
            "clOrdId": self.cl_ord_id,
            "tag": "",
            "ts": "",
            "sCode": self.s_code,
            "sMsg": self.s_msg,
        }
        return envelope([row], "1", "All operations failed")


def envelope(data: Any, code: str = "0", msg: str = "") -> dict[str, Any]:
    """OKX v5's response envelope."""
    return {"code": code, "msg": msg, "data": data}


_REASONS: dict[Reason, tuple[str, str]] = {
    Reason.INSUFFICIENT_BALANCE: ("51008", "Order failed. Insufficient USDT balance in account."),
    Reason.DUPLICATE_ORDER: ("51016", "Duplicated clOrdId"),
    Reason.UNKNOWN_ORDER: ("51603", "Order does not exist"),
    Reason.UNKNOWN_SYMBOL: ("51001", "Instrument ID does not exist"),
    Reason.NOT_A_CONTRACT: ("51001", "Instrument ID does not exist"),
    Reason.PRICE_FILTER: ("51006", "Order price is not within the price limit"),
    Reason.INVALID_PRICE: ("51006", "Order price is not within the price limit"),
    Reason.LOT_SIZE: ("51121", "Order quantity must be a multiple of the lot size."),
    Reason.MARKET_LOT_SIZE: ("51121", "Order quantity must be a multiple of the lot size."),
    Reason.INVALID_QUANTITY: (
        "51020",
        "Your order should meet or exceed the minimum order amount.",
    ),
    Reason.NOTIONAL: ("51020", "Your order should meet or exceed the minimum order amount."),
    Reason.MAX_NUM_ORDERS: ("51020", "Too many open orders."),
    Reason.WOULD_TAKE: ("51020", "Post-only order would take liquidity."),
    Reason.NO_LIQUIDITY: ("51020", "No liquidity for a market order."),
    Reason.REDUCE_ONLY_REJECTED: ("51205", "Reduce Only is not available."),
    Reason.LEVERAGE_NOT_VALID: ("51000", "Parameter lever error"),
    Reason.TRADING_DISABLED: ("50030", "No permission to use this API"),
}


def from_sim_error(err: SimError) -> tuple[str, str]:
    """OKX's ``(code, message)`` for a neutral core refusal (51000 when none fits); 51008
    names the currency that is short (BTC for a spot sell, USDT for a buy)."""
    if err.reason is Reason.INSUFFICIENT_BALANCE and err.field:
        return "51008", f"Order failed. Insufficient {err.field} balance in account."
    return _REASONS.get(err.reason, ("51000", f"Parameter error: {err}"))
