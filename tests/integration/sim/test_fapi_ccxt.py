"""Real ccxt (``binanceusdm``) against the simulator's Binance USDⓈ-M face (``/fapi``).

The simulator serves spot and USD-M on one port (``faces=["binance", "binance_futures"]``);
the perpetual ``BTCUSDT`` lives in its own core beside spot ``BTCUSDT``. The clock is stepped
and starts a minute before the 08:00 UTC funding, so one ``advance`` crosses a funding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ccxt
import pytest

from real_trade.sim.server import SimExchange

pytestmark = pytest.mark.integration
SYMBOL = "BTC/USDT:USDT"
DAY_MS = 86_400_000
START_MS = 1_767_225_600_000 + 8 * 3_600_000 - 120_000  # 2026-01-01 07:58 UTC


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator serving spot and USD-M, two minutes before a funding."""
    with SimExchange(
        stepped=True, seed=5, start_ms=START_MS, faces=["binance", "binance_futures"]
    ) as exchange:
        exchange.advance(60)
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


def client(sim: SimExchange, usdt: float = 10_000) -> Any:
    """A ccxt ``binanceusdm`` client with a fresh account holding ``usdt`` in futures."""
    key, secret = sim.create_account({"USDT": usdt})
    config = sim.ccxt_config(key, secret, market_type="future")
    config["options"]["recvWindow"] = 60_000
    ex = ccxt.binanceusdm(config)
    # the stepped clock stays at market time: sign with it, as adjustForTimeDifference would
    ex.milliseconds = lambda: sim.clock.now_ms()
    ex.load_markets()
    return ex


def test_load_markets_lists_the_linear_perpetual(sim: SimExchange) -> None:
    ex = client(sim)
    market = ex.market(SYMBOL)
    assert market["swap"] and market["linear"] and market["contract"]
    assert market["settle"] == "USDT" and market["contractSize"] == 1.0
    assert market["limits"]["cost"]["min"] == 100.0
    assert SYMBOL in ex.symbols and "BTC/USDT" not in ex.symbols


def test_market_data(sim: SimExchange) -> None:
    ex = client(sim)
    bars = ex.fetch_ohlcv(SYMBOL, "1m", limit=5)
    assert 1 <= len(bars) <= 5 and all(b[2] >= b[3] for b in bars)
    book = ex.fetch_order_book(SYMBOL, limit=5)
    assert book["bids"][0][0] < book["asks"][0][0] and book["nonce"] > 0
    ticker = ex.fetch_ticker(SYMBOL)
    assert ticker["symbol"] == SYMBOL and ticker["last"] > 0
    rate = ex.fetch_funding_rate(SYMBOL)
    assert rate["markPrice"] > 0 and rate["indexPrice"] > 0
    assert rate["fundingTimestamp"] % (8 * 3_600_000) == 0


def test_funding_history_after_a_funding_time(sim: SimExchange) -> None:
    ex = client(sim)
    before = ex.fetch_funding_rate_history(SYMBOL)
    sim.advance(90)  # crosses 08:00 UTC
    after = ex.fetch_funding_rate_history(SYMBOL)
    assert len(after) == len(before) + 1
    assert after[-1]["timestamp"] == START_MS + 120_000 and after[-1]["symbol"] == SYMBOL


def test_short_by_selling_when_flat_then_close_reduce_only(sim: SimExchange) -> None:
    ex = client(sim)
    assert ex.set_leverage(5, SYMBOL)["leverage"] == 5
    ex.set_margin_mode("isolated", SYMBOL)
    with pytest.raises(ccxt.ExchangeError, match="-4046"):  # ccxt: MarginModeAlreadySet
        ex.set_margin_mode("isolated", SYMBOL)
    order = ex.create_order(SYMBOL, "market", "sell", 0.01)
    assert order["status"] == "closed" and order["filled"] == 0.01
    [pos] = ex.fetch_positions([SYMBOL])
    assert pos["side"] == "short" and pos["contracts"] == 0.01
    assert pos["entryPrice"] == pytest.approx(order["average"])
    assert pos["markPrice"] > 0 and pos["leverage"] == 5 and pos["marginMode"] == "isolated"
    assert pos["liquidationPrice"] > pos["entryPrice"]
    assert pos["unrealizedPnl"] == pytest.approx(
        (pos["entryPrice"] - pos["markPrice"]) * 0.01, abs=1e-6
    )
    balance = ex.fetch_balance()["USDT"]
    assert balance["used"] > 0 and balance["free"] < 10_000
    close = ex.create_order(SYMBOL, "market", "buy", 0.01, params={"reduceOnly": True})
    assert close["reduceOnly"] is True and close["status"] == "closed"
    assert ex.fetch_positions([SYMBOL]) == []
    trades = ex.fetch_my_trades(SYMBOL)
    assert [t["side"] for t in trades] == ["sell", "buy"]


def test_limit_orders_fetch_and_cancel(sim: SimExchange) -> None:
    ex = client(sim)
    last = ex.fetch_ticker(SYMBOL)["last"]
    order = ex.create_order(SYMBOL, "limit", "buy", 0.01, round(last * 0.9, 2))
    assert order["status"] == "open" and order["price"] == round(last * 0.9, 2)
    assert [o["id"] for o in ex.fetch_open_orders(SYMBOL)] == [order["id"]]
    assert ex.fetch_order(order["id"], SYMBOL)["status"] == "open"
    assert ex.cancel_order(order["id"], SYMBOL)["status"] == "canceled"
    assert ex.fetch_open_orders(SYMBOL) == []
    assert [o["status"] for o in ex.fetch_orders(SYMBOL)] == ["canceled"]


def test_stop_and_take_profit_market_are_algo_orders(sim: SimExchange) -> None:
    ex = client(sim)
    ex.create_order(SYMBOL, "market", "buy", 0.01)
    last = ex.fetch_ticker(SYMBOL)["last"]
    stop = ex.create_order(
        SYMBOL,
        "STOP_MARKET",
        "sell",
        0.01,
        None,
        params={"triggerPrice": round(last * 0.95, 2), "reduceOnly": True},
    )
    take = ex.create_order(
        SYMBOL,
        "TAKE_PROFIT_MARKET",
        "sell",
        0.01,
        None,
        params={"triggerPrice": round(last * 1.05, 2), "reduceOnly": True},
    )
    assert stop["info"]["algoType"] == "CONDITIONAL" and stop["triggerPrice"] > 0
    assert ex.fetch_open_orders(SYMBOL) == []  # plain orders only
    algo = ex.fetch_open_orders(SYMBOL, params={"trigger": True})
    assert {o["id"] for o in algo} == {stop["id"], take["id"]}
    assert ex.fetch_order(take["id"], SYMBOL, params={"trigger": True})["status"] == "open"
    ex.cancel_order(stop["id"], SYMBOL, params={"trigger": True})
    assert [o["id"] for o in ex.fetch_open_orders(SYMBOL, params={"trigger": True})] == [take["id"]]


def test_plain_order_endpoint_refuses_conditional_types(sim: SimExchange) -> None:
    ex = client(sim)
    with pytest.raises(ccxt.InvalidOrder, match="-4120"):  # ccxt's linear table, as on fapi
        ex.fapiPrivatePostOrder(
            {
                "symbol": "BTCUSDT",
                "side": "SELL",
                "type": "STOP_MARKET",
                "quantity": "0.01",
                "stopPrice": "1000",
            }
        )


@pytest.mark.parametrize(
    ("code", "error", "place"),
    [
        (
            "-2019",
            ccxt.InsufficientFunds,
            lambda ex, last: ex.create_order(SYMBOL, "limit", "buy", 1, round(last * 0.9)),
        ),
        (
            "-2022",
            ccxt.InvalidOrder,
            lambda ex, last: ex.create_order(
                SYMBOL, "market", "sell", 0.01, params={"reduceOnly": True}
            ),
        ),
        (
            "-4164",
            ccxt.InvalidOrder,
            lambda ex, last: ex.create_order(SYMBOL, "limit", "buy", 0.001, round(last)),
        ),
    ],
)
def test_order_errors_carry_usdm_codes(
    sim: SimExchange, code: str, error: type[Exception], place: Any
) -> None:
    """The codes are USD-M's, and ``ccxt_config`` gives ccxt its linear error table (which it
    picks by host on fapi.binance.com), so they arrive as the same classes as there."""
    ex = client(sim, usdt=1_000)
    last = ex.fetch_ticker(SYMBOL)["last"]
    with pytest.raises(error, match=code):
        place(ex, last)


def test_duplicate_client_order_id_is_4116(sim: SimExchange) -> None:
    ex = client(sim)
    price = round(ex.fetch_ticker(SYMBOL)["last"] * 0.9, 2)
    ex.create_order(SYMBOL, "limit", "buy", 0.01, price, params={"clientOrderId": "dup-1"})
    with pytest.raises(ccxt.InvalidOrder, match="-4116"):
        ex.create_order(SYMBOL, "limit", "buy", 0.01, price, params={"clientOrderId": "dup-1"})


def test_timestamp_outside_recv_window_is_invalid_nonce(sim: SimExchange) -> None:
    ex = client(sim)
    sim.faults.clock_skew_ms = 120_000
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        ex.fetch_balance()


def test_spot_and_futures_wallets_are_separate(sim: SimExchange) -> None:
    key, secret = sim.create_account({"USDT": 500}, futures_balances={"USDT": 2_000})
    spot = ccxt.binance(sim.ccxt_config(key, secret))
    spot.milliseconds = lambda: sim.clock.now_ms()
    futures = ccxt.binance(sim.ccxt_config(key, secret, market_type="future"))
    futures.milliseconds = lambda: sim.clock.now_ms()
    assert spot.fetch_balance()["USDT"]["total"] == 500
    assert futures.fetch_balance()["USDT"]["total"] == 2_000
    assert SYMBOL in futures.load_markets()


def test_hedge_mode_holds_a_long_and_a_short(sim: SimExchange) -> None:
    ex = client(sim)
    ex.set_position_mode(True)
    ex.create_order(SYMBOL, "market", "buy", 0.01, params={"positionSide": "LONG"})
    ex.create_order(SYMBOL, "market", "sell", 0.02, params={"positionSide": "SHORT"})
    held = {(p["side"], p["contracts"], p["hedged"]) for p in ex.fetch_positions([SYMBOL])}
    assert held == {("long", 0.01, True), ("short", 0.02, True)}


def test_ambiguous_503_after_an_accepted_order(sim: SimExchange) -> None:
    ex = client(sim)
    sim.faults.ambiguous_next(1, "503")
    with pytest.raises(ccxt.ExchangeNotAvailable):
        ex.create_order(SYMBOL, "market", "sell", 0.01)
    [pos] = ex.fetch_positions([SYMBOL])  # the order was placed all the same
    assert pos["side"] == "short" and pos["contracts"] == 0.01
