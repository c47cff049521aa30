"""Symbol rules: Binance filter names, boundaries, precision and parameter errors."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal

import pytest

from real_trade.sim.binance.errors import BinanceApiError
from real_trade.sim.binance.errors import sim_error_code_msg as binance
from real_trade.sim.binance.format import symbol_filters
from real_trade.sim.binance.vocab import parse_order_type as binance_type
from real_trade.sim.binance.vocab import parse_side as binance_side
from real_trade.sim.binance.vocab import parse_tif as binance_tif
from real_trade.sim.rules import (
    DEFAULT_RULES,
    SymbolRules,
    derive_rules,
    format_decimal,
    parse_client_order_id,
    parse_order_type,
    parse_side,
    parse_tif,
    split_symbol,
    to_decimal,
)
from real_trade.sim.types import (
    BadParameter,
    FilterError,
    OrderRejected,
    OrderType,
    Reason,
    Side,
    SimError,
    TimeInForce,
)

D = Decimal
TIF = TimeInForce

BTC = DEFAULT_RULES["BTCUSDT"]


def limit(qty: str, price: str, rules: SymbolRules = BTC) -> None:
    rules.validate(
        Side.BUY, OrderType.LIMIT, quantity=D(qty), price=D(price), time_in_force=TIF.GTC
    )


def market(qty: str | None, avg: str | None, quote: str | None = None) -> None:
    BTC.validate(
        Side.SELL,
        OrderType.MARKET,
        quantity=None if qty is None else D(qty),
        quote_order_qty=None if quote is None else D(quote),
        avg_price=None if avg is None else D(avg),
    )


def test_btcusdt_defaults_are_binance_like() -> None:
    assert (BTC.base, BTC.quote) == ("BTC", "USDT")
    assert BTC.tick_size == D("0.01") and BTC.step_size == D("0.00001")
    assert BTC.min_notional == D("5") and BTC.apply_min_to_market and BTC.avg_price_mins == 5
    assert set(DEFAULT_RULES) == {"BTCUSDT", "ETHUSDT", "BNBUSDT", "BTCUSDC"}
    assert DEFAULT_RULES["ETHUSDT"].step_size == D("0.0001")
    assert DEFAULT_RULES["BNBUSDT"].step_size == D("0.001")


@pytest.mark.parametrize(
    ("qty", "price", "failure"),
    [
        ("0.001", "30000.00", None),
        ("0.001", "30000.001", "PRICE_FILTER"),  # fine precision, off the 0.01 tick
        ("0.001", "30000.005", "PRICE_FILTER"),
        ("0.001", "0.001", "PRICE_FILTER"),
        ("0.001", "1000000.01", "PRICE_FILTER"),
        ("0.001", "1000000.00", None),
        ("0.00001", "500000", None),  # exactly min qty, notional 5
        ("0.000001", "30000", "LOT_SIZE"),
        ("0.000015", "30000", "LOT_SIZE"),
        ("9000", "1", None),
        ("9000.00001", "1", "LOT_SIZE"),
        ("0.00016", "31250", None),  # notional exactly 5
        ("0.00016", "31249.99", "NOTIONAL"),
        ("0", "30000", "LOT_SIZE"),
    ],
)
def test_limit_filters_at_their_boundaries(qty: str, price: str, failure: str | None) -> None:
    if failure is None:
        limit(qty, price)
        return
    with pytest.raises(FilterError) as err:
        limit(qty, price)
    assert binance(err.value)[0] == -1013
    assert err.value.reason is (Reason.INVALID_QUANTITY if qty == "0" else Reason[failure])
    expected = "Invalid quantity." if qty == "0" else f"Filter failure: {failure}"
    assert binance(err.value)[1] == expected


def test_filter_messages_are_binance_texts() -> None:
    for qty, price, name in (
        ("0.000015", "30000", "LOT_SIZE"),
        ("0.0001", "30000", "NOTIONAL"),
        ("0.001", "30000.005", "PRICE_FILTER"),
    ):
        with pytest.raises(FilterError) as err:
            limit(qty, price)
        assert binance(err.value) == (-1013, f"Filter failure: {name}")


def test_too_much_precision_is_1111() -> None:
    with pytest.raises(BadParameter) as err:
        limit("0.000000001", "30000")
    assert binance(err.value) == (
        -1111,
        "Parameter 'quantity' has too much precision.",
    )
    with pytest.raises(BadParameter) as err:
        limit("0.001", "30000.000000001")
    assert binance(err.value)[1] == "Parameter 'price' has too much precision."
    limit("0.00100000000", "30000.0000000000")  # trailing zeros do not count


def test_market_orders_use_average_price_and_market_lot_size() -> None:
    market("0.0002", "30000")  # 6 USDT
    with pytest.raises(FilterError, match="notional"):
        market("0.0001", "30000")  # 3 USDT
    market("0.0001", None)  # no price known: notional unchecked
    with pytest.raises(FilterError, match="market lot size"):
        market("118.5", "30000")
    market(None, None, quote="5")
    with pytest.raises(FilterError, match="notional"):
        market(None, None, quote="4.99999999")


def _market_passes(rules: SymbolRules, qty: Decimal, avg: Decimal) -> bool:
    try:
        rules.validate(Side.BUY, OrderType.MARKET, quantity=qty, avg_price=avg)
    except FilterError as exc:
        assert exc.reason is Reason.NOTIONAL
        return False
    return True


@pytest.mark.parametrize(
    "rules",
    [
        BTC,
        dataclasses.replace(BTC, apply_max_to_market=True, max_notional=D("6")),
        dataclasses.replace(BTC, apply_min_to_market=False),
        dataclasses.replace(
            BTC, apply_min_to_market=False, apply_max_to_market=True, max_notional=D("6")
        ),
    ],
    ids=["min", "min-and-max", "none", "max"],
)
def test_market_notional_passes_means_every_average_between_passes(rules: SymbolRules) -> None:
    """``market_notional_passes(qty, low, high)`` (the simulator skips the exact average of a
    market order then) is True only when the notional filter passes at every average from
    low to high; at one price it says exactly what the filter says. Near the edges."""
    rng = random.Random(12)
    outcomes = set()
    for _ in range(3_000):
        qty = D(rng.randrange(16, 30)) * D("0.00001")
        edge = rng.choice([D(5), D(6)]) / qty  # the average at MIN_NOTIONAL, at max notional
        low = (edge * D(1 + rng.uniform(-0.001, 0.001))).quantize(D("0.00000001"))
        high = low + rng.choice([D(0), D("0.00000001"), D("0.01"), D(rng.uniform(0, 50))])
        between = [low, high, (low + high) / 2, low + (high - low) * D(rng.random())]
        says = rules.market_notional_passes(qty, low, high)
        outcomes.add(says)
        if says:
            assert all(_market_passes(rules, qty, avg) for avg in between), (qty, low, high)
        assert rules.market_notional_passes(qty, low, low) == _market_passes(rules, qty, low)
    if rules.apply_min_to_market or rules.apply_max_to_market:
        assert outcomes == {True, False}


def test_apply_min_to_market_false_skips_market_notional() -> None:
    rules = SymbolRules(
        symbol="XUSDT",
        base="X",
        quote="USDT",
        tick_size=D("0.01"),
        min_price=D("0.01"),
        max_price=D("1000"),
        step_size=D("1"),
        min_qty=D("1"),
        max_qty=D("1000"),
        min_notional=D("10"),
        apply_min_to_market=False,
    )
    rules.validate(Side.BUY, OrderType.MARKET, quantity=D("1"), avg_price=D("1"))
    with pytest.raises(FilterError, match="notional"):
        rules.validate(
            Side.BUY, OrderType.LIMIT, quantity=D("1"), price=D("1"), time_in_force=TIF.GTC
        )


@pytest.mark.parametrize(
    ("kwargs", "code", "msg"),
    [
        (
            dict(t=OrderType.LIMIT, quantity="1", price="1"),
            -1102,
            "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
        ),
        (
            dict(t=OrderType.LIMIT, quantity="1", tif=TIF.GTC),
            -1102,
            "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
        ),
        (
            dict(t=OrderType.MARKET),
            -1102,
            "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
        ),
        (
            dict(t=OrderType.MARKET, quantity="1", price="1"),
            -1106,
            "Parameter 'price' sent when not required.",
        ),
        (
            dict(t=OrderType.MARKET, quantity="1", tif=TIF.GTC),
            -1106,
            "Parameter 'timeInForce' sent when not required.",
        ),
        (
            dict(t=OrderType.LIMIT, quantity="1", price="1", tif=TIF.GTC, stop="1"),
            -1106,
            "Parameter 'stopPrice' sent when not required.",
        ),
        (
            dict(t=OrderType.STOP_LOSS, quantity="1"),
            -1102,
            "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed.",
        ),
        (
            dict(t=OrderType.LIMIT_MAKER, quantity="1", price="1", tif=TIF.GTC),
            -1106,
            "Parameter 'timeInForce' sent when not required.",
        ),
    ],
)
def test_parameter_errors(kwargs: dict[str, object], code: int, msg: str) -> None:
    def dec(name: str) -> D | None:
        v = kwargs.get(name)
        return None if v is None else D(str(v))

    with pytest.raises(BadParameter) as err:
        BTC.validate(
            Side.BUY,
            kwargs["t"],
            quantity=dec("quantity"),
            price=dec("price"),  # type: ignore[arg-type]
            stop_price=dec("stop"),
            time_in_force=kwargs.get("tif"),  # type: ignore[arg-type]
        )
    assert binance(err.value) == (code, msg)


def test_disallowed_order_type_is_rejected() -> None:
    rules = derive_rules("FOOUSDT", "2")
    fields = {f: getattr(rules, f) for f in rules.__slots__ if f != "order_types"}
    only_limit = SymbolRules(**fields, order_types=(OrderType.LIMIT,))
    with pytest.raises(OrderRejected) as err:
        only_limit.validate(Side.BUY, OrderType.MARKET, quantity=D("10"))
    assert binance(err.value) == (
        -2010,
        "Market orders are not supported for this symbol.",
    )


def test_parsers_raise_neutral_reasons() -> None:
    assert (
        parse_side("buy") is Side.BUY and parse_order_type("limit_maker") is OrderType.LIMIT_MAKER
    )
    assert parse_tif(None) is None and parse_tif("fok") is TIF.FOK
    for fn, reason in (
        (parse_side, Reason.INVALID_SIDE),
        (parse_order_type, Reason.INVALID_ORDER_TYPE),
        (parse_tif, Reason.INVALID_TIME_IN_FORCE),
    ):
        with pytest.raises(BadParameter) as err:
            fn("BUY")  # type: ignore[operator]  # Binance's spelling is the face's to read
        assert err.value.reason is reason
    assert to_decimal("0.1", "q") == D("0.1") and to_decimal(0.1, "q") == D("0.1")
    for bad in ("-1", "abc", "NaN", float("inf")):
        with pytest.raises(BadParameter) as err:
            to_decimal(bad, "quantity")
        assert (err.value.reason, err.value.fields) == (Reason.BAD_NUMBER, ("quantity",))
        assert binance(err.value)[0] == -1100 and "'quantity'" in binance(err.value)[1]


def test_binance_vocab_parsers_raise_binance_codes() -> None:
    assert binance_side("BUY") is Side.BUY and binance_type("LIMIT_MAKER") is OrderType.LIMIT_MAKER
    assert binance_tif(None) is None and binance_tif("FOK") is TIF.FOK
    for fn, code in ((binance_side, -1117), (binance_type, -1116), (binance_tif, -1115)):
        with pytest.raises(BinanceApiError) as err:
            fn("buy")  # type: ignore[operator]
        assert err.value.code == code


def test_derive_rules_for_any_pair() -> None:
    eth = derive_rules("ETHBTC", "0.05")
    assert (eth.base, eth.quote) == ("ETH", "BTC")
    assert eth.min_notional == D("0.0001")
    doge = derive_rules("DOGEUSDT", D("0.08"))
    assert doge.step_size == D("1") and doge.tick_size <= D("0.00001")
    btc = derive_rules("BTCFDUSD", 60000)
    assert btc.step_size == D("0.00001") and btc.tick_size == D("0.01") and btc.min_notional == 5
    # an order of about 10 quote units passes its own derived filters
    price = D("0.08")
    doge.validate(Side.BUY, OrderType.LIMIT, quantity=D("200"), price=price, time_in_force=TIF.GTC)
    with pytest.raises(ValueError, match="cannot split"):
        split_symbol("FOOBAR")


def test_derive_rules_takes_the_sources_tick_for_the_price_filter() -> None:
    sol = derive_rules("SOLUSDT", "21.5", tick_size=D("0.05"))
    assert (sol.tick_size, sol.min_price) == (D("0.05"), D("0.05"))
    assert derive_rules("SOLUSDT", "21.5").tick_size == D("0.001")  # the default for the price
    with pytest.raises(FilterError, match="price filter"):
        sol.validate(
            Side.BUY, OrderType.LIMIT, quantity=D("1"), price=D("21.52"), time_in_force=TIF.GTC
        )
    with pytest.raises(ValueError, match="tick size"):
        derive_rules("SOLUSDT", "21.5", tick_size=D(0))


def test_client_order_ids_follow_binances_pattern() -> None:
    assert parse_client_order_id(None) is None
    assert parse_client_order_id("my-order_1:a/b.c") == "my-order_1:a/b.c"
    for bad in ("has space", "x" * 37, "", "é"):
        with pytest.raises(BadParameter) as err:
            parse_client_order_id(bad)
        assert binance(err.value)[0] == -1100 and "newClientOrderId" in binance(err.value)[1]


def test_binance_filter_dicts_have_exact_names_and_formatting() -> None:
    filters = {f["filterType"]: f for f in symbol_filters(BTC)}
    assert set(filters) >= {"PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "NOTIONAL"}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    assert format_decimal(D("1.5")) == "1.50000000"


def test_every_reason_has_a_binance_answer() -> None:
    for reason in Reason:
        err = SimError(reason, "stop_price", "quote_quantity", order_type=OrderType.STOP_LOSS)
        code, msg = binance(err)
        assert code < 0 and msg, reason
    missing = SimError(Reason.MISSING_ONE_OF, "order_id", "client_order_id")
    assert binance(missing) == (
        -1102,
        "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!",
    )
    assert str(missing) == "one of order_id or client_order_id is required"
