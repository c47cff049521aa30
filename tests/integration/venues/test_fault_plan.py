"""The fault plan on every face: each armed fault reaches ccxt (and ccxt.pro) as the venue would
send it, over (binance, bybit, okx) x (spot, perp).

REST: 5xx, 429, a timestamp outside the window, a refused order and the ambiguous submits (the
answer fails, the order stands: found again by its client id). Websockets: dropped connections,
dropped/duplicated/reordered book updates and a paused private stream.
"""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from real_trade.sim.server import SimExchange
from tests.integration.venues.cases import VenueCase, order_amount

pytestmark = pytest.mark.integration

REQUEST_FAULTS: dict[str, type[Exception]] = {
    "500": ccxt.ExchangeNotAvailable,
    "502": ccxt.ExchangeNotAvailable,
    "503": ccxt.ExchangeNotAvailable,
    "504": ccxt.RequestTimeout,
    "429": ccxt.RateLimitExceeded,
    "timestamp": ccxt.InvalidNonce,
}
"""What ccxt raises for each armed request fault (its HTTP table: 504 is a timeout)."""

VENUE_CLASS: dict[tuple[str, str], type[Exception]] = {
    ("binance", "429"): ccxt.DDoSProtection,  # ccxt's binance words every 418/429 so
    ("bybit-spot", "reject"): ccxt.BadRequest,  # 170130: "data sent is not valid"
    ("okx", "reject"): ccxt.BadRequest,  # sCode 51000: "Parameter error"
}
"""Where ccxt's own table for the venue's answer names another class (on the real hosts too);
keyed by venue or ``venue-market``. Every such class is still a definitive refusal
(an ``ExchangeError``, not a ``NetworkError``), so a client does not retry it."""


def _expected(case: VenueCase, fault: str, default: type[Exception]) -> type[Exception]:
    return VENUE_CLASS.get((case.id, fault), VENUE_CLASS.get((case.venue, fault), default))


@pytest.mark.parametrize("kind", list(REQUEST_FAULTS))
def test_request_fault_reaches_ccxt(sim: SimExchange, case: VenueCase, ex: Any, kind: str) -> None:
    sim.faults.fail_next(1, kind)  # type: ignore[arg-type]
    with pytest.raises(ccxt.BaseError) as info:
        ex.fetch_open_orders(case.symbol)
    expected = _expected(case, kind, REQUEST_FAULTS[kind])
    assert type(info.value) is expected, f"{case.id}: {type(info.value).__name__}: {info.value}"
    assert ex.fetch_open_orders(case.symbol) == []  # one failure only


def test_refused_order_is_a_definitive_refusal(sim: SimExchange, case: VenueCase, ex: Any) -> None:
    sim.faults.reject_next_orders(1)
    with pytest.raises(ccxt.BaseError) as info:
        ex.create_order(case.symbol, "market", "buy", order_amount(ex, case.symbol))
    expected = _expected(case, "reject", ccxt.InvalidOrder)
    assert type(info.value) is expected, f"{case.id}: {info.value!r}"
    assert isinstance(info.value, ccxt.ExchangeError)
    assert not isinstance(info.value, ccxt.NetworkError)
    assert ex.fetch_open_orders(case.symbol) == []


AMBIGUOUS: dict[str, type[Exception]] = {
    "503": ccxt.ExchangeNotAvailable,
    "500": ccxt.ExchangeNotAvailable,
    "timeout": ccxt.RequestTimeout,
    "disconnect": ccxt.NetworkError,
}


@pytest.mark.parametrize("kind", list(AMBIGUOUS))
def test_ambiguous_submit_is_found_by_client_id(
    sim: SimExchange, case: VenueCase, ex: Any, kind: str
) -> None:
    bid = ex.fetch_order_book(case.symbol)["bids"][0][0]
    price = float(ex.price_to_precision(case.symbol, bid * 0.95))
    client_id = f"amb{kind}{case.market}"
    sim.faults.ambiguous_next(1, kind)  # type: ignore[arg-type]
    with pytest.raises(AMBIGUOUS[kind]):
        ex.create_order(
            case.symbol,
            "limit",
            "buy",
            order_amount(ex, case.symbol, price=price),
            price,
            {"clientOrderId": client_id},
        )
    (standing,) = ex.fetch_open_orders(case.symbol)
    assert standing["clientOrderId"] == client_id
    ex.cancel_order(standing["id"], case.symbol)
