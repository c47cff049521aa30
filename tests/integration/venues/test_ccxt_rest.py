"""The venue conformance suite, REST: ccxt's unmodified clients against every face.

Each test runs over (binance, bybit, okx) x (spot, perp); its id names the venue and market.
What a user's code sees must not depend on the venue: the same unified fields, the same order
lifecycle and the same ccxt exception class for the same refusal.
"""

from __future__ import annotations

import copy
from typing import Any

import ccxt
import pytest

from real_trade.sim.server import SimExchange
from tests.integration.venues.cases import VenueCase, order_amount
from tests.integration.venues.conftest import FUNDS

pytestmark = pytest.mark.integration


def _far_bid(ex: Any, symbol: str) -> float:
    """A buy price well below the market but inside every face's price band."""
    bid = ex.fetch_order_book(symbol)["bids"][0][0]
    return float(ex.price_to_precision(symbol, bid * 0.95))


def _fetch_order(case: VenueCase, ex: Any, order_id: str) -> Any:
    """``fetch_order``: ccxt's bybit wants the caller to acknowledge that only the last 500
    orders can be fetched, as on the venue."""
    params = {"acknowledged": True} if case.venue == "bybit" else {}
    return ex.fetch_order(order_id, case.symbol, params)


def test_markets_and_server_time(sim: SimExchange, case: VenueCase, ex: Any) -> None:
    market = ex.market(case.symbol)
    assert market["spot"] is not case.perp and market["swap"] is case.perp
    if case.perp:
        assert market["linear"] and market["settle"] == "USDT" and market["contractSize"] > 0
    assert market["precision"]["amount"] > 0 and market["precision"]["price"] > 0
    assert abs(ex.fetch_time() - sim.clock.now_ms()) < 5_000


def test_klines_book_and_ticker(case: VenueCase, ex: Any) -> None:
    bars = ex.fetch_ohlcv(case.symbol, "1m", limit=5)
    assert len(bars) == 5 and [b[0] for b in bars] == sorted({b[0] for b in bars})
    assert all(b[0] % 60_000 == 0 and b[3] <= min(b[1], b[4]) <= b[2] for b in bars)
    book = ex.fetch_order_book(case.symbol, 5)
    assert book["symbol"] == case.symbol and 0 < len(book["bids"]) <= 5
    assert book["bids"][0][0] < book["asks"][0][0]
    ticker = ex.fetch_ticker(case.symbol)
    assert ticker["symbol"] == case.symbol and ticker["last"] > 0
    assert ticker["bid"] is None or ticker["bid"] <= ticker["ask"]


def test_balance_counts_the_funding_once(case: VenueCase, ex: Any) -> None:
    balance = ex.fetch_balance()
    assert balance["USDT"]["total"] == FUNDS["USDT"]
    assert balance["USDT"]["free"] == FUNDS["USDT"] and not balance["USDT"]["used"]


def test_limit_order_create_fetch_cancel(case: VenueCase, ex: Any) -> None:
    price = _far_bid(ex, case.symbol)
    amount = order_amount(ex, case.symbol, price=price)
    placed = ex.create_order(case.symbol, "limit", "buy", amount, price, {"clientOrderId": "cf1"})
    assert placed["id"]
    fetched = _fetch_order(case, ex, placed["id"])
    assert fetched["status"] == "open" and fetched["clientOrderId"] == "cf1"
    assert fetched["amount"] == amount and fetched["price"] == price and fetched["side"] == "buy"
    assert [o["id"] for o in ex.fetch_open_orders(case.symbol)] == [placed["id"]]
    assert ex.fetch_balance()["USDT"]["used"] > 0
    ex.cancel_order(placed["id"], case.symbol)
    assert _fetch_order(case, ex, placed["id"])["status"] == "canceled"
    assert ex.fetch_open_orders(case.symbol) == []
    assert ex.fetch_balance()["USDT"]["used"] == 0


def test_market_orders_trades_and_positions(case: VenueCase, ex: Any) -> None:
    amount = order_amount(ex, case.symbol)
    params = {"tgtCcy": "base_ccy"} if case.venue == "okx" and not case.perp else {}
    if case.venue == "bybit" and not case.perp:
        params = {"marketUnit": "baseCoin"}
    buy = ex.create_order(case.symbol, "market", "buy", amount, None, params)
    done = _fetch_order(case, ex, buy["id"])
    assert done["status"] == "closed" and done["filled"] == amount and done["average"] > 0
    trades = ex.fetch_my_trades(case.symbol)
    assert buy["id"] in {t["order"] for t in trades}
    assert all(t["symbol"] == case.symbol and t["amount"] > 0 for t in trades)
    if case.perp:
        (pos,) = [p for p in ex.fetch_positions([case.symbol]) if p["contracts"]]
        assert pos["symbol"] == case.symbol and pos["side"] == "long"
        assert pos["contracts"] == amount and pos["entryPrice"] > 0
        ex.create_order(case.symbol, "market", "sell", amount, None, {"reduceOnly": True})
        assert not [p for p in ex.fetch_positions([case.symbol]) if p["contracts"]]
    else:
        base = case.symbol.split("/")[0]
        assert ex.fetch_balance()[base]["total"] > FUNDS[base]


def test_edit_order(case: VenueCase, ex: Any) -> None:
    """Bybit, OKX and Binance USD-M amend in place (same id); Binance spot has no amend that
    changes the price, so ccxt cancels and replaces (a new id, the old one canceled)."""
    price = _far_bid(ex, case.symbol)
    amount = order_amount(ex, case.symbol, price=price)
    placed = ex.create_order(case.symbol, "limit", "buy", amount, price)
    new_price = float(ex.price_to_precision(case.symbol, price * 0.99))
    edited = ex.edit_order(placed["id"], case.symbol, "limit", "buy", amount * 2, new_price)
    (live,) = ex.fetch_open_orders(case.symbol)
    assert live["id"] == edited["id"] and live["price"] == new_price
    assert live["amount"] == pytest.approx(amount * 2)
    if case.venue == "binance" and not case.perp:
        assert edited["id"] != placed["id"]
        assert _fetch_order(case, ex, placed["id"])["status"] == "canceled"
    else:
        assert edited["id"] == placed["id"]
    ex.cancel_order(live["id"], case.symbol)


ERRORS = ("insufficient_funds", "invalid_quantity", "unknown_order", "bad_signature", "recv_window")
EXPECTED: dict[str, type[Exception]] = {
    "insufficient_funds": ccxt.InsufficientFunds,
    "invalid_quantity": ccxt.InvalidOrder,
    "unknown_order": ccxt.OrderNotFound,
    "bad_signature": ccxt.AuthenticationError,
    "recv_window": ccxt.InvalidNonce,
}
VENUE_CLASS: dict[tuple[str, str], type[Exception]] = {
    ("binance-perp", "invalid_quantity"): ccxt.BadRequest,
}
"""Where ccxt itself words a refusal differently on one venue (on the real hosts too): its
``binanceusdm`` maps USD-M's quantity codes (-4004, -4005, -1111) to ``BadRequest``."""


@pytest.mark.parametrize("error", ERRORS)
def test_refusals_arrive_as_the_same_ccxt_class(
    sim: SimExchange, case: VenueCase, ex: Any, error: str
) -> None:
    expected = VENUE_CLASS.get((case.id, error), EXPECTED[error])
    symbol = case.symbol
    with pytest.raises(expected) as info:
        if error == "insufficient_funds":
            poor = case.client(sim, *sim.create_account({"USDT": 10}))
            price = _far_bid(poor, symbol)
            poor.create_order(
                symbol, "limit", "buy", order_amount(poor, symbol, 5_000, price), price
            )
        elif error == "invalid_quantity":
            price = _far_bid(ex, symbol)
            maximum = ex.market(symbol)["limits"]["amount"]["max"] or 1e6
            ex.create_order(symbol, "limit", "buy", int(maximum * 10), price)
        elif error == "unknown_order":
            ex.cancel_order("1234567890", symbol)
        elif error == "bad_signature":
            bad = getattr(ccxt, type(ex).__name__)(case.config(sim, ex.apiKey, "not-the-secret"))
            bad.markets, bad.markets_by_id = ex.markets, ex.markets_by_id
            bad.options = copy.deepcopy(ex.options)
            bad.fetch_open_orders(symbol)
        else:
            sim.faults.set_clock_skew(120_000)
            ex.fetch_open_orders(symbol)
    assert type(info.value) is expected, f"{case.id}: {type(info.value).__name__}: {info.value}"
