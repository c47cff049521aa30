"""ExchangeCore: accounts, the order API and its error codes, events, depth ids, the market pump."""

from __future__ import annotations

import itertools
import threading
from decimal import Decimal

import pytest

from real_trade.bus import EventBus
from real_trade.sim.binance.errors import sim_error_code_msg as binance
from real_trade.sim.clock import SimClock
from real_trade.sim.core import ExchangeCore
from real_trade.sim.klines import Kline
from real_trade.sim.market import BookShape, MarketTick
from real_trade.sim.types import (
    BadParameter,
    BadSymbol,
    BalanceEvent,
    DepthUpdate,
    ExecutionType,
    FilterError,
    OrderEvent,
    OrderStatus,
    OrderType,
    Reason,
    Side,
    TimeInForce,
    Trade,
    UnknownOrder,
)
from tests.unit.sim.fakes import MIN, Recorder, ScriptedMarket

D = Decimal

START = 1_709_553_600_000  # 2024-03-04 12:00 UTC


def make(market: ScriptedMarket | None = None, seed: int | None = 0):  # type: ignore[no-untyped-def]
    clock = SimClock(start_ms=START, stepped=True)
    bus = EventBus(synchronous=True)
    rec = Recorder()
    bus.subscribe("**", rec)
    return ExchangeCore(clock, market, bus, seed=seed), clock, rec


def test_accounts_keys_are_reproducible_and_never_shown() -> None:
    core, _, _ = make()
    a = core.create_account({"USDT": "1000", "BTC": 1})
    assert len(a.api_key) == 64 and len(a.secret) == 64 and a.api_key.isalnum()
    assert a.api_key not in repr(a) and a.secret not in repr(a)
    assert core.account_by_key(a.api_key) is a and core.account_by_key("nope") is None
    again, _, _ = make()
    assert again.create_account({}).api_key == a.api_key
    other, _, _ = make(seed=1)
    assert other.create_account({}).api_key != a.api_key
    with pytest.raises(ValueError, match="already used"):
        core.create_account({}, api_key=a.api_key)
    assert core.balances(a) == {"USDT": (D("1000"), D(0)), "BTC": (D("1"), D(0))}
    assert [x.account_id for x in core.accounts()] == [a.account_id]


def test_order_api_error_codes() -> None:
    core, _, _ = make()
    a = core.create_account({"USDT": "100000"})
    with pytest.raises(BadSymbol) as err:
        core.place_order(
            a,
            "NOPEUSDT",
            Side.BUY,
            OrderType.LIMIT,
            quantity="1",
            price="1",
            time_in_force=TimeInForce.GTC,
        )
    assert binance(err.value) == (-1121, "Invalid symbol.")
    with pytest.raises(UnknownOrder) as uerr:
        core.get_order(a, "BTCUSDT", order_id=42)
    assert uerr.value.reason is Reason.UNKNOWN_ORDER
    assert binance(uerr.value, for_query=True) == (-2013, "Order does not exist.")
    with pytest.raises(UnknownOrder) as uerr:
        core.cancel_order(a, "BTCUSDT", order_id=42)
    assert binance(uerr.value) == (-2011, "Unknown order sent.")
    with pytest.raises(BadParameter) as perr:
        core.cancel_order(a, "BTCUSDT")
    assert binance(perr.value)[0] == -1102 and "'orderId'" in binance(perr.value)[1]
    with pytest.raises(BadParameter) as perr:
        core.place_order(
            a,
            "BTCUSDT",
            Side.BUY,
            OrderType.LIMIT,
            quantity="1",
            price="1",
            time_in_force=TimeInForce.GTC,
            client_order_id="bad id!",
        )
    assert binance(perr.value)[0] == -1100 and "newClientOrderId" in binance(perr.value)[1]
    with pytest.raises(BadParameter) as perr:
        core.place_order(a, "BTCUSDT", "UP", OrderType.LIMIT)
    assert binance(perr.value)[0] == -1117


def test_orders_queries_and_paging() -> None:
    core, clock, _ = make()
    a = core.create_account({"USDT": "100000", "BTC": "10"})
    b = core.create_account({"USDT": "100000", "BTC": "10"})
    ids = []
    for i in range(5):
        o = core.place_order(
            a,
            "BTCUSDT",
            Side.SELL,
            OrderType.LIMIT,
            quantity="0.01",
            price=str(30000 + i),
            time_in_force=TimeInForce.GTC,
            client_order_id=f"c{i}",
        )
        ids.append(o.order_id)
        clock.advance(1)
    assert core.get_order(a, "BTCUSDT", client_order_id="c2").order_id == ids[2]
    with pytest.raises(UnknownOrder):  # b cannot see a's orders
        core.get_order(b, "BTCUSDT", order_id=ids[0])
    bought = core.place_order(b, "BTCUSDT", Side.BUY, OrderType.MARKET, quantity="0.025")
    assert bought.status is OrderStatus.FILLED and len(bought.fills) == 3
    assert core.get_order(a, "BTCUSDT", order_id=ids[0]).status is OrderStatus.FILLED
    assert [o.order_id for o in core.open_orders(a)] == ids[2:]
    assert [o.order_id for o in core.all_orders(a, "BTCUSDT", limit=2)] == ids[3:]
    assert [o.order_id for o in core.all_orders(a, "BTCUSDT", from_id=ids[1], limit=2)] == ids[1:3]
    assert [
        o.order_id for o in core.all_orders(a, "BTCUSDT", start_ms=START + 1000, limit=2)
    ] == ids[1:3]
    trades = core.my_trades(a, "BTCUSDT")
    assert [t.order_id for t in trades] == ids[:3] and all(
        t.is_maker and not t.is_buyer for t in trades
    )
    assert [t.trade_id for t in core.my_trades(b, "BTCUSDT", from_id=trades[1].trade_id)] == [
        t.trade_id for t in trades[1:]
    ]
    assert len(core.my_trades(b, "BTCUSDT", order_id=bought.order_id)) == 3
    cancelled = core.cancel_all(a, "BTCUSDT")
    assert [o.status for o in cancelled] == [OrderStatus.CANCELED] * 2 + [OrderStatus.CANCELED]
    assert core.open_orders(a, "BTCUSDT") == [] and core.cancel_all(a, "BTCUSDT") == []
    assert core.balances(a)["BTC"] == (D("9.975"), D(0))
    test = core.place_order(
        a,
        "BTCUSDT",
        Side.BUY,
        OrderType.LIMIT,
        quantity="1",
        price="1000",
        time_in_force=TimeInForce.GTC,
        test=True,
    )
    assert test.order_id == -1 and len(core.all_orders(a, "BTCUSDT")) == 5


def test_events_are_published_with_the_right_topics() -> None:
    core, _, rec = make()
    a = core.create_account({"USDT": "100000"})
    b = core.create_account({"USDT": "100000"})
    core.deposit(a, "ETH", "1")
    (dep,) = rec.events
    assert dep[0] == f"sim.balance.{a.account_id}"
    assert isinstance(dep[1], BalanceEvent) and (dep[1].delta_asset, dep[1].delta) == ("ETH", D(1))
    assert dep[1].balances == {"ETH": (D(1), D(0))}
    core.place_order(
        a,
        "ETHUSDT",
        Side.SELL,
        OrderType.LIMIT,
        quantity="0.5",
        price="3000",
        time_in_force=TimeInForce.GTC,
    )
    rec.events.clear()
    o = core.place_order(
        b,
        "ETHUSDT",
        Side.BUY,
        OrderType.LIMIT,
        quantity="0.2",
        price="3000",
        time_in_force=TimeInForce.GTC,
    )
    topics = [t for t, _ in rec.events]
    assert set(topics) == {
        "sim.trade.ETHUSDT",
        "sim.depth.ETHUSDT",
        "sim.kline.ETHUSDT",
        f"sim.order.{a.account_id}",
        f"sim.order.{b.account_id}",
        f"sim.balance.{a.account_id}",
        f"sim.balance.{b.account_id}",
    }
    (trade,) = rec.of("sim.trade.")
    assert isinstance(trade, Trade) and trade.qty == D("0.2") and not trade.is_buyer_maker
    b_events = [e for e in rec.of(f"sim.order.{b.account_id}") if isinstance(e, OrderEvent)]
    assert [e.execution_type for e in b_events] == [ExecutionType.NEW, ExecutionType.TRADE]
    assert b_events[-1].order.order_id == o.order_id and b_events[-1].last_qty == D("0.2")
    (kline,) = rec.of("sim.kline.")
    assert isinstance(kline, Kline) and kline.volume == D("0.2") and not kline.is_closed
    bal = [e for e in rec.of(f"sim.balance.{b.account_id}") if isinstance(e, BalanceEvent)][-1]
    assert bal.balances["ETH"] == (D("0.1998"), D(0)) and bal.balances["USDT"] == (D(99400), 0)
    assert all("." not in str(acc.account_id) for acc in core.accounts())


def test_depth_update_ids_are_contiguous_and_diffs_rebuild_the_book() -> None:
    ticks = [
        MarketTick(
            START + i * 5_000, D(30000 + i % 9 - 4), D("0.3"), Side.BUY if i % 2 else Side.SELL
        )
        for i in range(1, 200)
    ]
    market = ScriptedMarket(START, {"BTCUSDT": ticks})
    core, clock, rec = make(market)
    snap = core.depth("BTCUSDT", 1000)
    book = {("b", p): q for p, q in snap.bids} | {("a", p): q for p, q in snap.asks}
    last = snap.last_update_id
    a = core.create_account({"USDT": "100000", "BTC": "10"})
    for i in range(40):
        clock.advance(20)
        side = Side.BUY if i % 2 else Side.SELL
        core.place_order(
            a,
            "BTCUSDT",
            side,
            OrderType.LIMIT,
            quantity="0.01",
            price=str(30000 + (i % 7) - 3),
            time_in_force=TimeInForce.GTC,
        )
    diffs = [e for e in rec.of("sim.depth.BTCUSDT") if isinstance(e, DepthUpdate)]
    diffs = [d for d in diffs if d.final_update_id > last]
    assert diffs and diffs[0].first_update_id == last + 1
    for prev, nxt in itertools.pairwise(diffs):
        assert nxt.first_update_id == prev.final_update_id + 1
        assert nxt.time_ms >= prev.time_ms
    for d in diffs:
        for tag, levels in (("b", d.bids), ("a", d.asks)):
            for p, q in levels:
                if q:
                    book[(tag, p)] = q
                else:
                    book.pop((tag, p), None)
    final = core.depth("BTCUSDT", 1000)
    assert final.last_update_id == diffs[-1].final_update_id
    assert sorted(book.items()) == sorted(
        [(("b", p), q) for p, q in final.bids] + [(("a", p), q) for p, q in final.asks]
    )


def test_pump_makes_trades_and_klines_and_fills_resting_user_orders() -> None:
    path = [D("30000") - 2 * i for i in range(60)] + [D("29880") + 3 * i for i in range(60)]
    ticks = [
        MarketTick(START + (i + 1) * 5_000, p, D("0.2"), Side.SELL if i < 60 else Side.BUY)
        for i, p in enumerate(path)
    ]
    shape = BookShape(
        tick_size=D("0.01"), half_spread_ticks=1, levels=5, level_qty=D("0.5"), level_step_ticks=100
    )
    market = ScriptedMarket(START, {"BTCUSDT": ticks}, history_minutes=60, shape=shape)
    core, clock, rec = make(market)
    assert core.symbols() == ["BTCUSDT"]
    bid_ask = core.book_ticker("BTCUSDT")
    assert bid_ask.bid_price == D("29999.99") and bid_ask.ask_price == D("30000.01")
    user = core.create_account({"USDT": "10000"})
    resting = core.place_order(
        user,
        "BTCUSDT",
        Side.BUY,
        OrderType.LIMIT,
        quantity="0.1",
        price="29950",
        time_in_force=TimeInForce.GTC,
    )
    assert resting.status is OrderStatus.NEW
    holder = core.create_account({"BTC": "1"})
    stop = core.place_order(
        holder, "BTCUSDT", Side.SELL, OrderType.STOP_LOSS, quantity="0.01", stop_price="29920"
    )
    clock.advance(300)
    assert core.pump() == 60
    stopped = core.get_order(holder, "BTCUSDT", order_id=stop.order_id)
    assert stopped.status is OrderStatus.FILLED and stopped.is_working
    assert D("29910") <= stopped.fills[0].price <= D("29920")
    filled = core.get_order(user, "BTCUSDT", order_id=resting.order_id)
    assert filled.status is OrderStatus.FILLED
    assert all(f.price == D("29950") and f.is_maker for f in filled.fills)
    assert core.balances(user)["BTC"][0] == D("0.0999")
    trades = core.recent_trades("BTCUSDT", 1000)
    assert len(trades) >= 60 and all(t.time_ms <= START + 300_000 for t in trades)
    ones = core.klines("BTCUSDT", "1m", start_ms=START, limit=10)
    assert [k.open_ms for k in ones] == [START + i * MIN for i in range(6)]
    assert all(k.volume > 0 for k in ones[:5]) and ones[0].high <= D("30000.01")
    assert ones[4].close < ones[0].open
    closed = [e for e in rec.of("sim.kline.BTCUSDT") if isinstance(e, Kline) and e.is_closed]
    assert [k.open_ms for k in closed] == [START + i * MIN for i in range(5)]
    history = core.klines("BTCUSDT", "1m", end_ms=START - 1, limit=100)
    assert len(history) == 60 and history[-1].open_ms == START - MIN
    hour = core.klines("BTCUSDT", "1h", limit=2)
    assert hour[-1].volume == sum(k.volume for k in ones) and len(hour) == 2
    clock.advance(300)
    core.pump()
    assert core.last_price("BTCUSDT") is not None and core.last_price("BTCUSDT") > D("29880")
    stats = core.ticker_24h("BTCUSDT")
    assert stats.count == len(core.recent_trades("BTCUSDT", 100_000)) + 60 * 3  # + history
    assert stats.low_price <= D("29880.01") and stats.last_price == core.last_price("BTCUSDT")
    avg = core.avg_price("BTCUSDT")
    assert avg.mins == 5 and D("29800") < avg.price < D("30300")
    agg = core.agg_trades("BTCUSDT", limit=5)
    everything = core.recent_trades("BTCUSDT", 100_000)
    assert len(agg) == 5 and agg[-1].last_trade_id == everything[-1].trade_id


def test_market_orders_are_checked_against_the_average_price() -> None:
    ticks = [MarketTick(START + i * 1000, D("30000"), D("0.1"), Side.BUY) for i in range(1, 30)]
    market = ScriptedMarket(START, {"BTCUSDT": ticks})
    core, clock, _ = make(market)
    clock.advance(30)
    a = core.create_account({"USDT": "100000", "BTC": "1"})
    with pytest.raises(FilterError, match="notional"):
        core.place_order(a, "BTCUSDT", Side.SELL, OrderType.MARKET, quantity="0.0001")  # ~3 USDT
    o = core.place_order(a, "BTCUSDT", Side.SELL, OrderType.MARKET, quantity="0.001")
    # buyers took the ticks at 30000, so the ask sits there and the bid a spread (2 ticks) below
    assert o.status is OrderStatus.FILLED and o.fills[0].price == D("29999.98")


def test_concurrent_callers_keep_balances_consistent() -> None:
    core, _, _ = make()
    a = core.create_account({"USDT": "1000000", "BTC": "100"})
    b = core.create_account({"USDT": "1000000", "BTC": "100"})
    errors: list[BaseException] = []

    def worker(acct, side: str) -> None:  # type: ignore[no-untyped-def]
        try:
            for i in range(150):
                core.place_order(
                    acct,
                    "BTCUSDT",
                    side,
                    OrderType.LIMIT,
                    quantity="0.01",
                    price=str(30000 + (i % 5)),
                    time_in_force=TimeInForce.GTC,
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(a, Side.BUY)),
        threading.Thread(target=worker, args=(b, Side.SELL)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for asset, start in (("USDT", D("2000000")), ("BTC", D("200"))):
        total = sum(sum(core.balances(x).get(asset, (D(0), D(0)))) for x in (a, b))
        total += core.fee_account.free(asset)
        assert total == start


def test_small_price_moves_change_few_depth_levels() -> None:
    prices = [D("30000.00"), D("30000.01"), D("30000.03"), D("29999.98")]
    ticks = [MarketTick(START + (i + 1) * 1000, p, D(0), Side.BUY) for i, p in enumerate(prices)]
    shape = BookShape(
        tick_size=D("0.01"), half_spread_ticks=1, levels=10, level_qty=D("0.5"), level_step_ticks=50
    )
    core, clock, rec = make(ScriptedMarket(START, {"BTCUSDT": ticks}, shape=shape))
    assert len(core.depth("BTCUSDT", 100).bids) == 10
    rec.events.clear()
    clock.advance(5)
    core.pump()
    diffs = [e for e in rec.of("sim.depth.") if isinstance(e, DepthUpdate)]
    assert len(diffs) == 3  # the first tick does not move the price
    for d in diffs[:2]:  # the top level moves on each side; the grid below stays
        assert len(d.bids) == 2 and len(d.asks) == 2, d
    # crossing a grid line (30000.00) shifts the grid by one level: one in, one out per side
    assert [p for p, q in diffs[2].bids if q] == [D("29999.97"), D("29995.50")]
    assert [p for p, q in diffs[2].asks if q] == [D("29999.99"), D("30000.00")]
    assert len(diffs[2].bids) == len(diffs[2].asks) == 4
    snap = core.depth("BTCUSDT", 100)
    assert snap.bids[0][0] == D("29999.97") and snap.asks[0][0] == D("29999.99")
    assert [p for p, _ in snap.bids[1:3]] == [D("29999.50"), D("29999.00")]
    assert len(snap.bids) == len(snap.asks) == 10
