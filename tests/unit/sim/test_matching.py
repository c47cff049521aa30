"""The matching engine: every order type and time in force, funds locking, fees, stops."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from real_trade.sim.accounts import Account
from real_trade.sim.binance.errors import sim_error_code_msg as binance
from real_trade.sim.matching import MatchingEngine
from real_trade.sim.rules import DEFAULT_RULES
from real_trade.sim.types import (
    DuplicateOrder,
    ExecutionType,
    FilterError,
    InsufficientBalance,
    OrderRejected,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    UnknownOrder,
    WouldTakeAsMaker,
    WouldTriggerImmediately,
)

D = Decimal
TIF = TimeInForce

BUY, SELL = Side.BUY, Side.SELL
T0 = 1_700_000_000_000


class Market:
    """An engine with a fee account and helpers to open accounts and place orders."""

    def __init__(self, maker: str = "0.001", taker: str = "0.001") -> None:
        self.fees = Account(1, "", "", maker_fee=D(0), taker_fee=D(0), internal=True)
        self.accounts: dict[int, Account] = {1: self.fees}
        self.engine = MatchingEngine(
            DEFAULT_RULES["BTCUSDT"], self.accounts, self.fees, rng=random.Random(7)
        )
        self.maker, self.taker = D(maker), D(taker)
        self.deposits: dict[str, D] = {}

    def account(self, usdt: str = "100000", btc: str = "10") -> Account:
        acct = Account(
            100 + len(self.accounts), "k", "s", maker_fee=self.maker, taker_fee=self.taker
        )
        for asset, amount in (("USDT", D(usdt)), ("BTC", D(btc))):
            acct.credit(asset, amount)
            self.deposits[asset] = self.deposits.get(asset, D(0)) + amount
        self.accounts[acct.account_id] = acct
        return acct

    def limit(
        self, acct: Account, side: Side, qty: str, price: str, tif: TIF = TIF.GTC, **kw: object
    ):  # type: ignore[no-untyped-def]
        return self.engine.place(
            acct,
            side,
            OrderType.LIMIT,
            now_ms=T0,
            quantity=D(qty),
            price=D(price),
            time_in_force=tif,
            **kw,
        )  # type: ignore[arg-type]

    def market(self, acct: Account, side: Side, qty: str | None = None, quote: str | None = None):  # type: ignore[no-untyped-def]
        return self.engine.place(
            acct,
            side,
            OrderType.MARKET,
            now_ms=T0,
            quantity=None if qty is None else D(qty),
            quote_order_qty=None if quote is None else D(quote),
        )

    def stop(
        self,
        acct: Account,
        side: Side,
        typ: OrderType,
        qty: str,
        stop: str,
        price: str | None = None,
    ):  # type: ignore[no-untyped-def]
        return self.engine.place(
            acct,
            side,
            typ,
            now_ms=T0,
            quantity=D(qty),
            stop_price=D(stop),
            price=None if price is None else D(price),
            time_in_force=None if price is None else TIF.GTC,
        )

    def assert_conserved(self) -> None:
        for asset, total in self.deposits.items():
            held = sum((a.free(asset) + a.locked(asset) for a in self.accounts.values()), D(0))
            assert held == total, asset
        for a in self.accounts.values():
            for bal in a.balances.values():
                assert bal.free >= 0 and bal.locked >= 0


def test_limit_orders_rest_and_lock_funds() -> None:
    m = Market()
    a = m.account()
    buy = m.limit(a, BUY, "0.5", "30000")
    sell = m.limit(a, SELL, "2", "31000")
    assert buy.status is OrderStatus.NEW and sell.status is OrderStatus.NEW
    assert a.locked("USDT") == D("15000") and a.free("USDT") == D("85000")
    assert a.locked("BTC") == D("2") and a.free("BTC") == D("8")
    assert m.engine.book.depth(5) == ([(D("30000"), D("0.5"))], [(D("31000"), D("2"))])


def test_crossing_limit_fills_at_maker_price_refunds_and_charges_fees() -> None:
    m = Market(maker="0.001", taker="0.002")
    seller, buyer = m.account(), m.account()
    m.limit(seller, SELL, "0.2", "30000")
    order = m.limit(buyer, BUY, "0.2", "30100")
    assert order.status is OrderStatus.FILLED
    assert order.executed_qty == D("0.2") and order.cummulative_quote_qty == D("6000")
    (fill,) = order.fills
    assert (fill.price, fill.is_maker, fill.is_buyer) == (D("30000"), False, True)
    assert (fill.commission, fill.commission_asset) == (D("0.0004"), "BTC")
    # price improvement: locked at 30100, paid 30000; nothing left locked
    assert buyer.free("USDT") == D("94000") and buyer.locked("USDT") == 0
    assert buyer.free("BTC") == D("10.1996")
    assert seller.free("USDT") == D("100000") + D("6000") - D("6") and seller.locked("BTC") == 0
    assert m.fees.free("BTC") == D("0.0004") and m.fees.free("USDT") == D("6")
    m.assert_conserved()


def test_partial_fill_and_price_time_priority() -> None:
    m = Market()
    a, b, c, t = m.account(), m.account(), m.account(), m.account()
    first = m.limit(a, SELL, "0.3", "30000")
    second = m.limit(b, SELL, "0.3", "30000")
    better = m.limit(c, SELL, "0.1", "29999")
    taker = m.limit(t, BUY, "0.5", "30000")
    assert taker.status is OrderStatus.FILLED
    assert [f.price for f in taker.fills] == [D("29999"), D("30000"), D("30000")]
    assert [f.qty for f in taker.fills] == [D("0.1"), D("0.3"), D("0.1")]
    assert better.status is OrderStatus.FILLED and first.status is OrderStatus.FILLED
    assert second.status is OrderStatus.PARTIALLY_FILLED and second.executed_qty == D("0.1")
    assert m.engine.book.depth(5)[1] == [(D("30000"), D("0.2"))]
    assert b.locked("BTC") == D("0.2")
    m.assert_conserved()


def test_cancel_releases_lock_and_unknown_orders_are_2011() -> None:
    m = Market()
    a = m.account()
    o = m.limit(a, BUY, "1", "30000")
    m.engine.drain()
    cancelled = m.engine.cancel(a, now_ms=T0, order_id=o.order_id)
    assert cancelled.status is OrderStatus.CANCELED
    assert a.locked("USDT") == 0 and a.free("USDT") == D("100000")
    assert m.engine.book.depth(5) == ([], [])
    (event,) = m.engine.drain().order_events
    assert event.execution_type is ExecutionType.CANCELED
    for kwargs in ({"order_id": o.order_id}, {"order_id": 999}, {"client_order_id": "nope"}):
        with pytest.raises(UnknownOrder) as err:
            m.engine.cancel(a, now_ms=T0, **kwargs)  # type: ignore[arg-type]
        assert binance(err.value) == (-2011, "Unknown order sent.")
    other = m.account()
    o2 = m.limit(a, SELL, "1", "31000")
    with pytest.raises(UnknownOrder):  # another account's order is not yours to cancel
        m.engine.cancel(other, now_ms=T0, order_id=o2.order_id)


def test_ioc_remainder_expires() -> None:
    m = Market()
    a, b = m.account(), m.account()
    m.limit(a, SELL, "0.3", "30000")
    o = m.limit(b, BUY, "1", "30000", TIF.IOC)
    assert o.status is OrderStatus.EXPIRED and o.executed_qty == D("0.3")
    assert b.locked("USDT") == 0 and b.free("USDT") == D("91000")
    assert m.engine.book.depth(5) == ([], [])
    kinds = [
        e.execution_type
        for e in m.engine.drain().order_events
        if e.order.account_id == b.account_id
    ]
    assert kinds == [ExecutionType.NEW, ExecutionType.TRADE, ExecutionType.EXPIRED]


def test_fok_is_all_or_nothing() -> None:
    m = Market()
    a, b = m.account(), m.account()
    m.limit(a, SELL, "0.3", "30000")
    m.limit(a, SELL, "0.3", "30010")
    o = m.limit(b, BUY, "0.5", "30000", TIF.FOK)
    assert o.status is OrderStatus.EXPIRED and o.executed_qty == 0 and not o.fills
    assert b.free("USDT") == D("100000") and b.locked("USDT") == 0
    o = m.limit(b, BUY, "0.5", "30010", TIF.FOK)
    assert o.status is OrderStatus.FILLED and o.executed_qty == D("0.5")
    m.assert_conserved()


def test_limit_maker_rejected_when_it_would_take() -> None:
    m = Market()
    a, b = m.account(), m.account()
    m.limit(a, SELL, "0.3", "30000")
    with pytest.raises(WouldTakeAsMaker) as err:
        m.engine.place(
            b, BUY, OrderType.LIMIT_MAKER, now_ms=T0, quantity=D("0.1"), price=D("30000")
        )
    assert binance(err.value) == (-2010, "Order would immediately match and take.")
    assert b.locked("USDT") == 0
    o = m.engine.place(
        b, BUY, OrderType.LIMIT_MAKER, now_ms=T0, quantity=D("0.1"), price=D("29999.99")
    )
    assert o.status is OrderStatus.NEW and o.tif is TIF.GTC


def test_market_by_quantity_walks_the_book_and_expires_when_it_runs_out() -> None:
    m = Market()
    a, b = m.account(), m.account()
    m.limit(a, SELL, "0.1", "30000")
    m.limit(a, SELL, "0.1", "30100")
    o = m.market(b, BUY, qty="0.5")
    assert o.status is OrderStatus.EXPIRED and o.executed_qty == D("0.2")
    assert o.cummulative_quote_qty == D("6010") and b.locked("USDT") == 0
    assert b.free("USDT") == D("100000") - D("6010")
    o = m.market(b, SELL, qty="0.1")  # empty bid side: nothing to do, expires
    assert o.status is OrderStatus.EXPIRED and o.executed_qty == 0 and b.locked("BTC") == 0
    m.assert_conserved()


def test_market_buy_costing_more_than_free_quote_is_rejected_without_changes() -> None:
    m = Market()
    a, poor = m.account(), m.account(usdt="100", btc="0")
    m.limit(a, SELL, "1", "30000")
    m.engine.drain()
    with pytest.raises(InsufficientBalance) as err:
        m.market(poor, BUY, qty="0.01")
    assert binance(err.value) == (
        -2010,
        "Account has insufficient balance for requested action.",
    )
    assert poor.free("USDT") == D("100") and m.engine.book.depth(1)[1] == [(D("30000"), D("1"))]
    assert not m.engine.drain().order_events
    with pytest.raises(InsufficientBalance):
        m.market(poor, SELL, qty="0.01")
    with pytest.raises(InsufficientBalance):
        m.limit(poor, BUY, "0.01", "29000")


def test_quote_order_qty_market_buy_and_sell() -> None:
    m = Market()
    a, b = m.account(), m.account()
    m.limit(a, SELL, "0.1", "30000")
    m.limit(a, SELL, "1", "40000")
    o = m.market(b, BUY, quote="7000")
    # 0.1 at 30000 = 3000, then 4000 / 40000 = 0.1 at 40000
    assert o.status is OrderStatus.FILLED and o.executed_qty == D("0.2") == o.orig_qty
    assert o.cummulative_quote_qty == D("7000") and o.orig_quote_order_qty == D("7000")
    o = m.market(b, BUY, quote="100")  # 100 / 40000 = 0.0025 exactly
    assert o.executed_qty == D("0.0025") and o.cummulative_quote_qty == D("100")
    o = m.market(b, BUY, quote="10.01")  # floors to the 0.00001 step: 0.00025 = 10 USDT
    assert o.executed_qty == D("0.00025") and o.cummulative_quote_qty == D("10.00000")
    m.limit(a, BUY, "1", "20000")
    o = m.market(b, SELL, quote="1000")
    assert o.executed_qty == D("0.05") and o.cummulative_quote_qty == D("1000")
    assert b.locked("USDT") == 0 and b.locked("BTC") == 0
    m.assert_conserved()


def test_quote_order_qty_on_empty_book_and_book_running_out() -> None:
    m = Market()
    a, b = m.account(), m.account()
    with pytest.raises(OrderRejected, match="liquidity is less than the minimum quantity"):
        m.market(b, BUY, quote="100")
    m.limit(a, SELL, "0.001", "30000")
    o = m.market(b, BUY, quote="100")
    assert o.status is OrderStatus.EXPIRED and o.executed_qty == D("0.001")
    assert o.cummulative_quote_qty == D("30") and b.locked("USDT") == 0


def test_stop_loss_sell_triggers_on_last_price_and_executes_as_market() -> None:
    m = Market()
    a, b, c = m.account(), m.account(), m.account()
    m.limit(a, BUY, "1", "29000")
    m.limit(a, SELL, "0.1", "30000")
    m.limit(b, BUY, "0.1", "30000")  # last price 30000
    stop = m.stop(c, SELL, OrderType.STOP_LOSS, "0.5", "29500")
    assert stop.status is OrderStatus.NEW and not stop.is_working and stop.working_time_ms == -1
    assert c.locked("BTC") == D("0.5")
    (placed,) = [e for e in m.engine.drain().order_events if e.order.account_id == c.account_id]
    assert not placed.order.is_working and placed.order.working_time_ms == -1
    m.limit(a, SELL, "0.1", "29400")
    m.limit(b, BUY, "0.1", "29400")  # last 29400 <= 29500: trigger
    assert stop.status is OrderStatus.FILLED and stop.is_working
    assert stop.fills[0].price == D("29000") and c.locked("BTC") == 0
    events = [e for e in m.engine.drain().order_events if e.order.account_id == c.account_id]
    assert [e.execution_type for e in events] == [ExecutionType.NEW, ExecutionType.TRADE]
    assert events[0].order.is_working and events[0].order.working_time_ms == T0
    m.assert_conserved()


def test_stop_limit_buy_and_take_profit_semantics() -> None:
    m = Market()
    a, b, c = m.account(), m.account(), m.account()
    m.limit(a, SELL, "0.1", "30000")
    m.limit(b, BUY, "0.1", "30000")  # last 30000
    with pytest.raises(WouldTriggerImmediately) as err:  # BUY STOP_LOSS triggers at >= stop
        m.stop(c, BUY, OrderType.STOP_LOSS_LIMIT, "0.1", "29900", price="30000")
    assert binance(err.value) == (-2010, "Order would trigger immediately.")
    with pytest.raises(WouldTriggerImmediately):  # SELL TAKE_PROFIT triggers at >= stop
        m.stop(c, SELL, OrderType.TAKE_PROFIT, "0.1", "29000")
    with pytest.raises(WouldTriggerImmediately):  # BUY TAKE_PROFIT triggers at <= stop
        m.stop(c, BUY, OrderType.TAKE_PROFIT_LIMIT, "0.1", "30500", price="30500")
    sl = m.stop(c, BUY, OrderType.STOP_LOSS_LIMIT, "0.2", "30500", price="30600")
    tp = m.stop(c, SELL, OrderType.TAKE_PROFIT_LIMIT, "0.1", "30400", price="30700")
    assert c.locked("USDT") == D("6120") and c.locked("BTC") == D("0.1")
    m.limit(a, SELL, "0.05", "30500")
    m.limit(b, BUY, "0.05", "30500")  # last 30500: both trigger, nothing to match -> rest
    assert sl.is_working and sl.status is OrderStatus.NEW
    assert tp.is_working and tp.status is OrderStatus.NEW
    assert m.engine.pending_stops() == 0
    bids, asks = m.engine.book.depth(5)
    assert (D("30600"), D("0.2")) in bids and (D("30700"), D("0.1")) in asks
    m.limit(a, SELL, "0.2", "30550")  # crosses the triggered stop-limit buy, at its price
    assert sl.status is OrderStatus.FILLED and sl.fills[0].price == D("30600")
    assert sl.fills[0].is_maker
    m.assert_conserved()


def test_take_profit_market_sell_triggers_when_price_rises_to_the_stop() -> None:
    m = Market()
    a, b, c = m.account(), m.account(), m.account()
    m.limit(a, BUY, "1", "30400")
    m.limit(a, SELL, "0.1", "30000")
    m.limit(b, BUY, "0.1", "30000")  # last 30000
    tp = m.stop(c, SELL, OrderType.TAKE_PROFIT, "0.2", "30500")
    m.limit(a, SELL, "0.1", "30450")
    m.limit(b, BUY, "0.1", "30450")  # last 30450 < 30500: still waiting
    assert tp.status is OrderStatus.NEW and not tp.is_working
    m.limit(a, SELL, "0.1", "30500")
    m.limit(b, BUY, "0.1", "30500")  # last 30500 >= 30500: sells into the best bid
    assert tp.status is OrderStatus.FILLED and tp.fills[0].price == D("30400")
    assert c.free("USDT") == D("100000") + D("6080") - D("6.08") and c.locked("BTC") == 0
    m.assert_conserved()


def test_cancel_pending_stop_releases_lock_and_never_triggers() -> None:
    m = Market()
    a, b, c = m.account(), m.account(), m.account()
    stop = m.stop(c, SELL, OrderType.STOP_LOSS_LIMIT, "0.5", "29500", price="29400")
    m.engine.cancel(c, now_ms=T0, order_id=stop.order_id)
    assert c.locked("BTC") == 0 and m.engine.pending_stops() == 0
    m.limit(a, SELL, "0.1", "29000")
    m.limit(b, BUY, "0.1", "29000")
    assert stop.status is OrderStatus.CANCELED and not stop.fills


def test_triggered_stop_market_buy_spends_only_free_quote() -> None:
    m = Market()
    a, b, poor = m.account(), m.account(), m.account(usdt="3000", btc="0")
    stop = m.stop(poor, BUY, OrderType.STOP_LOSS, "1", "30000")
    assert poor.locked("USDT") == 0
    m.limit(a, SELL, "5", "30000")
    m.limit(b, BUY, "0.1", "30000")  # last 30000 >= stop: buys what 3000 USDT affords
    assert stop.status is OrderStatus.EXPIRED and stop.executed_qty == D("0.1")
    assert poor.free("USDT") == 0 and poor.locked("USDT") == 0
    m.assert_conserved()


def test_cascading_stops_trigger_each_other() -> None:
    m = Market()
    a, b, c = m.account(), m.account(), m.account()
    m.limit(a, BUY, "0.1", "29000")
    m.limit(a, BUY, "1", "28000")
    s1 = m.stop(c, SELL, OrderType.STOP_LOSS, "0.1", "29500")
    s2 = m.stop(c, SELL, OrderType.STOP_LOSS, "0.5", "29000")
    m.limit(a, SELL, "0.1", "29500")
    m.limit(b, BUY, "0.1", "29500")  # last 29500 -> s1 sells at 29000 -> s2 sells at 28000
    assert s1.status is OrderStatus.FILLED and s1.fills[0].price == D("29000")
    assert s2.status is OrderStatus.FILLED and s2.fills[0].price == D("28000")


def test_duplicate_client_ids_only_among_open_orders() -> None:
    m = Market()
    a, b = m.account(), m.account()
    o = m.limit(a, BUY, "0.1", "30000", client_order_id="my-1")
    with pytest.raises(DuplicateOrder) as err:
        m.limit(a, BUY, "0.1", "29000", client_order_id="my-1")
    assert binance(err.value) == (-2010, "Duplicate order sent.")
    m.limit(b, BUY, "0.1", "29000", client_order_id="my-1")  # other account: fine
    m.engine.cancel(a, now_ms=T0, client_order_id="my-1")
    again = m.limit(a, BUY, "0.1", "29000", client_order_id="my-1")  # closed: reusable
    assert again.order_id != o.order_id
    generated = m.limit(a, BUY, "0.1", "28000")
    assert len(generated.client_order_id) == 22 and generated.client_order_id.isalnum()


def test_self_trade_settles_both_sides() -> None:
    m = Market(maker="0", taker="0")
    a = m.account()
    m.limit(a, SELL, "1", "30000")
    o = m.limit(a, BUY, "1", "30000")
    assert o.status is OrderStatus.FILLED
    assert a.free("USDT") == D("100000") and a.free("BTC") == D("10")
    assert a.locked("USDT") == 0 and a.locked("BTC") == 0
    (trade,) = m.engine.drain().trades
    assert trade.buyer_order_id == o.order_id and not trade.is_buyer_maker


def test_test_orders_validate_but_change_nothing() -> None:
    m = Market()
    a = m.account()
    o = m.engine.place(
        a,
        BUY,
        OrderType.LIMIT,
        now_ms=T0,
        quantity=D("1"),
        price=D("30000"),
        time_in_force=TIF.GTC,
        test=True,
    )
    assert o.order_id == -1 and a.locked("USDT") == 0 and not m.engine.book.depth(1)[0]
    with pytest.raises(FilterError):
        m.engine.place(
            a,
            BUY,
            OrderType.LIMIT,
            now_ms=T0,
            quantity=D("1"),
            price=D("30000.001"),
            time_in_force=TIF.GTC,
            test=True,
        )


def test_max_num_orders_and_trading_disabled() -> None:
    m = Market()
    a = m.account()
    for i in range(200):
        m.limit(a, BUY, "0.001", str(20000 + i))
    with pytest.raises(FilterError, match="too many open orders"):
        m.limit(a, BUY, "0.001", "19000")
    a.can_trade = False
    with pytest.raises(OrderRejected, match="may not place or cancel"):
        m.limit(a, SELL, "0.001", "40000")


def test_trade_events_carry_the_fill() -> None:
    m = Market()
    a, b = m.account(), m.account()
    m.limit(a, SELL, "0.3", "30000")
    m.limit(b, BUY, "0.1", "30000")
    out = m.engine.drain()
    trades = [e for e in out.order_events if e.execution_type is ExecutionType.TRADE]
    maker_ev = next(e for e in trades if e.order.account_id == a.account_id)
    assert maker_ev.is_maker and maker_ev.last_qty == D("0.1") and maker_ev.last_price == D("30000")
    assert maker_ev.commission == D("3") and maker_ev.commission_asset == "USDT"
    assert maker_ev.order.status is OrderStatus.PARTIALLY_FILLED
    assert maker_ev.trade_id == out.trades[0].trade_id
    assert out.touched == {a.account_id: {"BTC", "USDT"}, b.account_id: {"BTC", "USDT"}}
