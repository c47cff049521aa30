"""The order manager forgets its oldest ended orders past a window (``max_ended``), never an
open one nor one whose group (bracket, OCO) still has a live member; what refers to an ended
order inside the window (a late fill, a cancel that crossed a fill) is handled as before.

The live execution likewise forgets the trade ids (its fill dedupe) of the orders filled
longest ago, never those of an open order.
"""

from __future__ import annotations

from typing import Any

from real_trade.execution import (
    ClientOrderIds,
    ExchangeFill,
    FillReport,
    LiveExecution,
    OrderKind,
    OrderManager,
    OrderSide,
    OrderState,
)
from real_trade.execution import order_manager as om
from tests.unit.test_order_state import ScriptedPort, log, request

S = OrderState
SYMBOL = "BTC/USDT"


def manager(port: ScriptedPort, max_ended: int) -> tuple[OrderManager, list[list[int]]]:
    forgotten: list[list[int]] = []
    mgr = OrderManager(
        port,
        ClientOrderIds("t"),
        clock_ms=lambda: 7,
        on_forget=forgotten.append,
        max_ended=max_ended,
    )
    return mgr, forgotten


def round_trip(mgr: OrderManager, port: ScriptedPort, ref: int) -> str:
    """Order ``ref``: a market buy, filled and closed at once; its client order id."""
    mgr.submit(request(ref, OrderSide.BUY, OrderKind.MARKET))
    cid = port.placed[-1].client_order_id
    port.fills(cid, f"t{ref}", 1.0)
    port.ack(cid, "closed", 1.0)
    mgr.process()
    return cid


def test_the_default_window_is_the_named_setting() -> None:
    mgr = OrderManager(ScriptedPort(), ClientOrderIds("t"))
    assert mgr.max_ended == om.MAX_ENDED_ORDERS


def test_the_oldest_ended_orders_are_forgotten_past_the_window() -> None:
    port = ScriptedPort()
    mgr, forgotten = manager(port, max_ended=4)
    cids = [round_trip(mgr, port, ref) for ref in range(1, 11)]
    assert 4 <= len(mgr.orders) <= 5  # trimmed to 4 once past 5 (4 * 1.25)
    assert sorted(mgr.orders) == list(range(11 - len(mgr.orders), 11))
    gone = [i for batch in forgotten for i in batch]
    assert gone == list(range(1, 11 - len(mgr.orders)))  # oldest ended first, each once
    assert mgr.find(cids[0]) is None and mgr.find(cids[-1]) is mgr.orders[10]


def test_an_open_order_is_never_forgotten_and_still_fills() -> None:
    port = ScriptedPort()
    mgr, forgotten = manager(port, max_ended=2)
    mgr.submit(request(1, OrderSide.BUY, OrderKind.LIMIT, price=90.0))
    resting = port.placed[-1].client_order_id
    port.ack(resting)
    mgr.process()
    for ref in range(2, 20):
        round_trip(mgr, port, ref)
    assert 1 in mgr.orders and 1 not in [i for batch in forgotten for i in batch]
    log(mgr)
    port.fills(resting, "late", 1.0, price=90.0)
    mgr.process()
    assert log(mgr) == [(1, "fill"), (1, "Completed")]


def test_the_first_ended_goes_first_not_the_first_placed() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port, max_ended=3)
    mgr.submit(request(1, OrderSide.BUY, OrderKind.LIMIT, price=90.0))
    first = port.placed[-1].client_order_id
    port.ack(first)
    for ref in range(2, 6):
        round_trip(mgr, port, ref)
    port.ack(first, "canceled")  # ended after 2..5
    mgr.process()
    for ref in range(6, 8):
        round_trip(mgr, port, ref)
    assert 1 in mgr.orders and 2 not in mgr.orders


def _cancel_crossing_a_fill(max_ended: int) -> tuple[OrderManager, list[tuple[int, str]]]:
    port = ScriptedPort()
    mgr, _ = manager(port, max_ended)
    mgr.submit(request(1, OrderSide.BUY, OrderKind.LIMIT, price=90.0))
    cid = port.placed[-1].client_order_id
    port.ack(cid)
    mgr.cancel(1)
    port.ack(cid, "canceled")  # the cancel crossed a fill the stream reports late
    mgr.process()
    round_trip(mgr, port, 2)
    round_trip(mgr, port, 3)
    log(mgr)
    port.fills(cid, "crossed", 0.4, price=90.0)
    mgr.process()
    return mgr, log(mgr)


def test_a_fill_after_a_cancel_inside_the_window_is_applied_as_ever() -> None:
    mgr, late = _cancel_crossing_a_fill(max_ended=3)
    _, unbounded = _cancel_crossing_a_fill(max_ended=1_000_000)
    assert late == unbounded and (1, "fill") in late
    assert mgr.orders[1].tracked.filled == 0.4


def test_a_late_fill_of_a_forgotten_order_waits_among_the_orphans() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port, max_ended=2)
    cids = [round_trip(mgr, port, ref) for ref in range(1, 8)]
    assert 1 not in mgr.orders
    log(mgr)
    port.fills(cids[0], "t1-again", 1.0)
    mgr.process()
    assert log(mgr) == []  # unknown now: nothing applied, nothing raised
    assert 1 not in mgr.orders


def test_a_group_with_a_live_member_is_kept_whole() -> None:
    port = ScriptedPort()
    mgr, forgotten = manager(port, max_ended=2)
    mgr.submit(request(1, OrderSide.BUY, OrderKind.LIMIT, 1.0, price=100.0), transmit=False)
    mgr.submit(
        request(2, OrderSide.SELL, OrderKind.LIMIT, 1.0, price=120.0), parent=1, transmit=False
    )
    mgr.submit(request(3, OrderSide.SELL, OrderKind.LIMIT, 1.0, price=110.0), parent=1)
    parent = port.placed[-1].client_order_id
    port.ack(parent)
    port.fills(parent, "p", 1.0)
    port.ack(parent, "closed", 1.0)
    mgr.process()
    children = {r.local_id: r.client_order_id for r in port.placed[1:]}
    for cid in children.values():
        port.ack(cid)
    port.ack(children[2], "canceled")  # one child ends: the parent has ended too
    mgr.process()
    for ref in range(10, 20):
        round_trip(mgr, port, ref)
    assert {1, 2, 3} <= set(mgr.orders)  # child 3 lives: its group stays
    port.fills(children[3], "c", 1.0, price=110.0)  # it completes: its siblings are asked
    mgr.process()
    assert mgr.orders[3].tracked.state is S.COMPLETED
    for ref in range(20, 30):
        round_trip(mgr, port, ref)
    assert not {1, 2, 3} & set(mgr.orders)
    gone = [i for batch in forgotten for i in batch]
    assert gone.index(1) < gone.index(3)


def test_an_oco_group_is_kept_while_a_member_lives() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port, max_ended=2)
    mgr.submit(request(1, OrderSide.SELL, OrderKind.LIMIT, price=110.0))
    mgr.submit(request(2, OrderSide.SELL, OrderKind.STOP, stop=90.0), oco=1)
    limit_cid = port.placed[-1].client_order_id
    port.ack(limit_cid)
    mgr.on_price(SYMBOL, 89.0)  # the stop fires: the limit is cancelled for it
    port.ack(limit_cid, "canceled")
    mgr.process()
    assert mgr.orders[1].tracked.state is S.CANCELED and len(port.placed) == 2
    for ref in range(10, 20):
        round_trip(mgr, port, ref)
    assert {1, 2} <= set(mgr.orders)  # the fired stop lives: its group stays
    stop_cid = port.placed[-11].client_order_id
    port.fills(stop_cid, "s", 1.0, price=89.0)
    port.ack(stop_cid, "closed", 1.0)
    mgr.process()
    assert mgr.orders[2].tracked.state is S.COMPLETED
    for ref in range(20, 30):
        round_trip(mgr, port, ref)
    assert not {1, 2} & set(mgr.orders)


class _Client:
    """Enough of a venue client for LiveExecution's bookkeeping (nothing is started)."""

    venue: Any = None


def _fill(xid: str, trade_id: str) -> FillReport:
    return FillReport(None, xid, ExchangeFill(trade_id, 100.0, 1.0))


def test_the_live_fill_dedupe_forgets_the_orders_filled_longest_ago(
    monkeypatch: Any,
) -> None:
    port = LiveExecution(_Client(), [SYMBOL])
    port.max_filled_orders, port._forget_at = 3, 4
    port.adopt("open-cid", SYMBOL, "x-open", [{"id": "o1", "order": "x-open", "amount": 1.0}])
    for i in range(10):
        port._on_fill(_fill(f"x{i}", f"t{i}"))
    port._on_fill(_fill("x9", "t9"))  # a duplicate inside the window: dropped
    reports = port.drain()
    assert [r.fill.trade_id for r in reports] == [f"t{i}" for i in range(10)]
    port._on_fill(_fill("x-open", "o1"))  # the open order's fills are never forgotten
    assert port.drain() == []
    assert "x-open" in port._fill_sum and len(port._fill_sum) <= 5
    assert "x0" not in port._fill_ids  # filled longest ago: forgotten
    port._on_fill(_fill("x0", "t0"))  # past the window it counts as new (the manager's
    assert len(port.drain()) == 1  # order keeps its own trade ids while it is remembered)
