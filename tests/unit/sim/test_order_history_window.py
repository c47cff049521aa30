"""The exchange keeps a window of its users' history: every open order, the last ended ones, the
last fills (``max_ended_orders``, ``max_fills``), so a weeks-long paper session stays bounded.

Inside the window ``order``, ``allOrders`` and ``myTrades`` answer as ever; an order past it is
unknown, as on an exchange past its retention.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from real_trade.sim.clock import SimClock
from real_trade.sim.core import ExchangeCore
from real_trade.sim.history import MAX_ENDED_ORDERS, MAX_FILLS, OrderHistory
from real_trade.sim.types import OrderType, Side, TimeInForce, UnknownOrder

START = 1_709_553_600_000
SYMBOL = "BTCUSDT"


def make(ended: int, fills: int) -> tuple[ExchangeCore, SimClock]:
    clock = SimClock(start_ms=START, stepped=True)
    return ExchangeCore(clock, max_ended_orders=ended, max_fills=fills), clock


def limit(core: ExchangeCore, account: object, side: Side, price: str, cid: str) -> int:
    order = core.place_order(
        account,  # type: ignore[arg-type]
        SYMBOL,
        side,
        OrderType.LIMIT,
        quantity="0.1",
        price=price,
        time_in_force=TimeInForce.GTC,
        client_order_id=cid,
    )
    return order.order_id


def test_the_defaults_are_the_named_settings() -> None:
    history = OrderHistory()
    assert (history.max_ended_orders, history.max_fills) == (MAX_ENDED_ORDERS, MAX_FILLS)


def test_open_orders_stay_and_the_oldest_ended_go_first() -> None:
    core, clock = make(ended=4, fills=100)
    a = core.create_account({"USDT": "1000000"})
    resting = limit(core, a, Side.BUY, "1000", "resting")  # open all along
    old = limit(core, a, Side.BUY, "1000", "old")  # placed early, ended last
    ended = []
    for i in range(12):
        clock.advance(1)
        ended.append(limit(core, a, Side.BUY, "1000", f"c{i}"))
        clock.advance(1)
        core.cancel_order(a, SYMBOL, client_order_id=f"c{i}")
    clock.advance(1)
    core.cancel_order(a, SYMBOL, client_order_id="old")
    clock.advance(1)
    last = limit(core, a, Side.BUY, "1000", "last")  # a new order: the window is trimmed
    kept = [o.order_id for o in core.all_orders(a, SYMBOL, limit=1000)]
    # open ones, then the 4 ended last: "old" (ended last of all) and c9..c11
    assert kept == [resting, old, *ended[-3:], last]
    assert core.get_order(a, SYMBOL, client_order_id="old").status.value == "canceled"
    assert core.get_order(a, SYMBOL, order_id=resting).is_open
    with pytest.raises(UnknownOrder):
        core.get_order(a, SYMBOL, order_id=ended[0])
    with pytest.raises(UnknownOrder):
        core.get_order(a, SYMBOL, client_order_id="c8")
    # paging inside the window answers as before
    assert [o.order_id for o in core.all_orders(a, SYMBOL, limit=2)] == [ended[-1], last]
    page = core.all_orders(a, SYMBOL, from_id=ended[-3], limit=2)
    assert [o.order_id for o in page] == ended[-3:-1]


def test_a_client_id_used_again_keeps_its_latest_order() -> None:
    core, clock = make(ended=1, fills=100)
    a = core.create_account({"USDT": "1000000"})
    for _ in range(3):  # the same client id, once ended, is free again
        clock.advance(1)
        limit(core, a, Side.BUY, "1000", "again")
        core.cancel_order(a, SYMBOL, client_order_id="again")
    latest = limit(core, a, Side.BUY, "1000", "again")
    assert core.get_order(a, SYMBOL, client_order_id="again").order_id == latest


def test_only_the_last_fills_are_kept() -> None:
    core, clock = make(ended=100, fills=6)
    maker = core.create_account({"BTC": "100"})
    taker = core.create_account({"USDT": "1000000"})
    for i in range(10):
        clock.advance(1)
        limit(core, maker, Side.SELL, "1000", f"s{i}")
        limit(core, taker, Side.BUY, "1000", f"b{i}")
    trades = core.my_trades(taker, SYMBOL, limit=1000)
    assert 6 <= len(trades) <= 7  # trimmed to 6 once past 7 (6 * 1.25)
    ids = [t.trade_id for t in trades]
    assert ids == sorted(ids) and ids[-1] == core.my_trades(maker, SYMBOL, limit=1)[0].trade_id
    assert [t.time_ms for t in trades][-1] == clock.now_ms()
    assert core.my_trades(taker, SYMBOL, limit=2) == trades[-2:]
    assert Decimal(sum(t.qty for t in trades)) == Decimal("0.1") * len(trades)
