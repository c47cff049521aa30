"""The order state machine and the order manager's backtrader semantics, on scripted reports.

``ScriptedPort`` is a fake execution port (public, injected through ``OrderManager``'s
constructor): it records what the manager sends and lets each test play the exchange's answers
in any order, including the races the live path must survive.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import MISSING

import pytest

from real_trade.execution import (
    Balance,
    BalanceReport,
    ClientOrderIds,
    ExchangeFill,
    ExchangeStatus,
    FillEvent,
    FillReport,
    LocalTrigger,
    OrderKind,
    OrderManager,
    OrderReport,
    OrderRequest,
    OrderSide,
    OrderState,
    OrderUpdate,
    Report,
    SubmitFailed,
    SymbolLimits,
    TrackedOrder,
)

S = OrderState
SYMBOL = "BTC/USDT"


def buy(amount: float = 1.0, kind: OrderKind = OrderKind.LIMIT, **kw: float) -> OrderRequest:
    price = kw.pop("price", 100.0 if kind is OrderKind.LIMIT else None)
    return OrderRequest(1, SYMBOL, OrderSide.BUY, kind, amount, price=price, **kw)  # type: ignore[arg-type]


def fill(trade_id: str, amount: float, price: float = 100.0) -> ExchangeFill:
    return ExchangeFill(trade_id, price, amount, commission=amount * 0.001, commission_asset="BTC")


def report(status: str, filled: float = 0.0, reason: str | None = None) -> OrderReport:
    return OrderReport("cid", "42", ExchangeStatus.parse(status, filled), filled, 1.0, reason)


def states(changes: list) -> list[OrderState]:  # type: ignore[type-arg]
    return [c.state for c in changes]


# --------------------------------------------------------------------------- TrackedOrder
def test_a_limit_order_goes_submitted_accepted_partial_completed() -> None:
    order = TrackedOrder(buy())
    assert states(order.submit()) == [S.SUBMITTED]
    assert states(order.on_report(report("open"))) == [S.ACCEPTED]
    assert states(order.on_fill(fill("t1", 0.4))) == [S.PARTIAL]
    assert states(order.on_report(report("open", 0.4))) == []
    changes = order.on_fill(fill("t2", 0.6, 101.0))
    assert states(changes) == [S.COMPLETED]
    assert changes[0].fill is not None and changes[0].fill.trade_id == "t2"
    assert order.filled == pytest.approx(1.0)
    assert order.average_price == pytest.approx(100.6)
    assert states(order.on_report(report("closed", 1.0))) == []


def test_a_fill_seen_twice_counts_once() -> None:
    order = TrackedOrder(buy())
    order.submit()
    order.on_report(report("open"))
    order.on_fill(fill("t1", 0.5))
    assert order.on_fill(fill("t1", 0.5)) == []
    assert order.filled == pytest.approx(0.5)
    assert order.state is S.PARTIAL


def test_fills_arriving_before_the_acknowledgement_still_accept_first() -> None:
    order = TrackedOrder(buy())
    order.submit()
    assert states(order.on_fill(fill("t1", 1.0))) == [S.ACCEPTED, S.COMPLETED]
    assert states(order.on_report(report("closed", 1.0))) == []


def test_filled_status_waits_for_the_fills_it_counts() -> None:
    order = TrackedOrder(buy())
    order.submit()
    assert states(order.on_report(report("closed", 1.0))) == [S.ACCEPTED]
    assert order.missing_fills
    assert states(order.on_fill(fill("t1", 0.3))) == [S.PARTIAL]
    assert states(order.on_fill(fill("t2", 0.7))) == [S.COMPLETED]
    assert not order.missing_fills


def test_a_cancel_after_a_partial_fill_waits_for_that_fill() -> None:
    order = TrackedOrder(buy())
    order.submit()
    order.on_report(report("open"))
    assert states(order.on_report(report("canceled", 0.25))) == []
    assert order.state is S.ACCEPTED
    assert states(order.on_fill(fill("t1", 0.25))) == [S.PARTIAL, S.CANCELED]
    assert order.filled == pytest.approx(0.25)


def test_rejected_carries_the_reason_and_is_final() -> None:
    order = TrackedOrder(buy())
    order.submit()
    assert states(order.on_report(report("REJECTED", reason="Filter failure: PRICE_FILTER"))) == [
        S.REJECTED
    ]
    assert order.reason == "Filter failure: PRICE_FILTER"
    assert order.on_report(report("open")) == []
    assert order.end(S.CANCELED) == []
    assert order.state is S.REJECTED


def test_a_fill_after_the_end_is_counted_but_the_state_stays() -> None:
    order = TrackedOrder(buy())
    order.submit()
    order.end(S.CANCELED, "lost")
    changes = order.on_fill(fill("late", 0.5))
    assert states(changes) == [S.CANCELED]
    assert changes[0].fill is not None
    assert order.filled == pytest.approx(0.5)


def test_a_cancellation_for_an_elapsed_valid_time_means_expired() -> None:
    order = TrackedOrder(buy())
    order.submit()
    order.on_report(report("open"))
    order.cancel_as = S.EXPIRED
    assert states(order.on_report(report("canceled"))) == [S.EXPIRED]


def test_an_exchange_expiry_after_partial_fills_is_expired() -> None:
    order = TrackedOrder(buy(kind=OrderKind.MARKET))
    order.submit()
    order.on_fill(fill("t1", 0.6))
    assert states(order.on_report(report("expired", 0.6))) == [S.EXPIRED]


@pytest.mark.parametrize(
    ("raw", "filled", "expected"),
    [
        ("open", 0.0, ExchangeStatus.NEW),
        ("open", 0.1, ExchangeStatus.PARTIALLY_FILLED),
        ("closed", 1.0, ExchangeStatus.FILLED),
        ("canceled", 0.0, ExchangeStatus.CANCELED),
        ("cancelled", 0.0, ExchangeStatus.CANCELED),
        ("EXPIRED_IN_MATCH", 0.0, ExchangeStatus.EXPIRED),
        ("PARTIALLY_FILLED", 0.5, ExchangeStatus.PARTIALLY_FILLED),
        ("rejected", 0.0, ExchangeStatus.REJECTED),
    ],
)
def test_exchange_statuses_are_normalised(
    raw: str, filled: float, expected: ExchangeStatus
) -> None:
    assert ExchangeStatus.parse(raw, filled) is expected


def test_an_unknown_exchange_status_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="weird"):
        ExchangeStatus.parse("weird")


def test_states_number_like_backtrader() -> None:
    import backtrader as bt

    for state in OrderState:
        assert bt.Order.Status[state.value] == state.bt_name
    assert [s for s in OrderState if s.alive] == [S.CREATED, S.SUBMITTED, S.ACCEPTED, S.PARTIAL]


@pytest.mark.parametrize("amount", [0.0, -1.0, math.nan, math.inf])
def test_a_request_with_a_bad_amount_is_refused(amount: float) -> None:
    with pytest.raises(ValueError, match="amount"):
        buy(amount)


def test_a_request_with_a_nan_price_is_refused() -> None:
    with pytest.raises(ValueError, match="price"):
        buy(price=math.nan)
    with pytest.raises(ValueError, match="stop price"):
        OrderRequest(1, SYMBOL, OrderSide.SELL, OrderKind.STOP, 1.0)


def test_the_wire_copy_of_a_request_keeps_every_field() -> None:
    # every field set to a value unlike its default: a field the copy forgets shows up here
    request = OrderRequest(
        7,
        SYMBOL,
        OrderSide.SELL,
        OrderKind.STOP_LIMIT,
        0.5,
        price=99.0,
        stop_price=100.0,
        trail_amount=1.0,
        trail_percent=0.02,
        limit_offset=0.5,
        expires_ms=123,
        client_order_id="old",
        reduce_only=True,
    )
    defaults = {f.name: f.default for f in dataclasses.fields(OrderRequest)}
    assert all(getattr(request, n) != d for n, d in defaults.items() if d is not MISSING)
    wire = request.with_client_order_id("rt-t-0001")
    assert wire == dataclasses.replace(request, client_order_id="rt-t-0001")


# --------------------------------------------------------------------------- SymbolLimits
def test_limits_round_amounts_down_and_prices_to_the_nearest_tick() -> None:
    limits = SymbolLimits(amount_step=0.00001, price_tick=0.01, min_amount=0.00001, min_cost=5.0)
    assert limits.round_amount(0.123456789) == pytest.approx(0.12345)
    assert limits.round_amount(0.3) == pytest.approx(0.3)
    assert limits.round_price(60000.126) == pytest.approx(60000.13)
    assert SymbolLimits().round_amount(0.123456789) == 0.123456789


def test_limits_name_the_minimum_an_order_misses() -> None:
    limits = SymbolLimits(amount_step=0.001, min_amount=0.01, min_cost=5.0)
    assert "minimum amount 0.01" in (limits.problem(0.005, 100.0) or "")
    assert "minimum order value 5" in (limits.problem(0.02, 100.0) or "")
    assert "rounds to 0" in (limits.problem(0.0, 100.0) or "")
    assert limits.problem(0.05, 100.0) is None
    assert limits.problem(0.05, None) is None


# --------------------------------------------------------------------------- OrderManager
class ScriptedPort:
    """A fake execution port: records requests; the test plays the exchange's answers."""

    def __init__(self, limits: SymbolLimits | None = None) -> None:
        self.placed: list[OrderRequest] = []
        self.cancelled: list[str] = []
        self.reports: list[Report] = []
        self.limits_ = limits or SymbolLimits(0.001, 0.01, 0.001, 5.0)

    def limits(self, symbol: str) -> SymbolLimits:
        return self.limits_

    def place(self, request: OrderRequest) -> None:
        self.placed.append(request)

    def cancel(self, client_order_id: str, symbol: str, exchange_order_id: str | None) -> None:
        self.cancelled.append(client_order_id)

    def drain(self) -> list[Report]:
        out, self.reports = self.reports, []
        return out

    def balances(self) -> dict[str, Balance]:
        return {}

    def last_price(self, symbol: str) -> float | None:
        return 100.0

    # the exchange's side
    def ack(self, cid: str, status: str = "open", filled: float = 0.0) -> None:
        self.reports.append(
            OrderReport(cid, "x" + cid, ExchangeStatus.parse(status, filled), filled, None)
        )

    def fills(
        self, cid: str, trade_id: str, amount: float, price: float = 100.0, fee_base: float = 0.0
    ) -> None:
        self.reports.append(
            FillReport(
                cid,
                "x" + cid,
                ExchangeFill(trade_id, price, amount, fee_base, "BTC" if fee_base else "USDT"),
            )
        )


def manager(port: ScriptedPort) -> tuple[OrderManager, list[object]]:
    published: list[object] = []
    mgr = OrderManager(
        port,
        ClientOrderIds("t"),
        publish=lambda _t, e: published.append(e),
        native_kinds=frozenset({OrderKind.STOP}),
        clock_ms=lambda: 7,
    )
    return mgr, published


def request(
    ref: int,
    side: OrderSide,
    kind: OrderKind,
    amount: float = 1.0,
    price: float | None = None,
    stop: float | None = None,
    **kw: float,
) -> OrderRequest:
    return OrderRequest(ref, SYMBOL, side, kind, amount, price=price, stop_price=stop, **kw)  # type: ignore[arg-type]


def log(mgr: OrderManager) -> list[tuple[int, str]]:
    out = []
    for e in mgr.take_updates():
        out.append((e.local_id, "fill" if isinstance(e, FillEvent) else e.state.bt_name))
    return out


def test_below_minimum_orders_are_rejected_before_sending() -> None:
    port = ScriptedPort()
    mgr, published = manager(port)
    mgr.submit(request(1, OrderSide.BUY, OrderKind.LIMIT, 0.02, price=100.0))
    assert port.placed == []
    updates = [e for e in published if isinstance(e, OrderUpdate)]
    assert [u.state for u in updates] == [S.SUBMITTED, S.REJECTED]
    assert updates[-1].reason is not None and "minimum order value 5" in updates[-1].reason
    assert updates[-1].topic == "order.rejected"


def test_amounts_and_prices_are_rounded_before_sending() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port)
    mgr.submit(request(1, OrderSide.BUY, OrderKind.LIMIT, 0.12345, price=100.006))
    sent = port.placed[0]
    assert sent.amount == pytest.approx(0.123) and sent.price == pytest.approx(100.01)
    assert sent.client_order_id == "rt-t-0001"


def test_submit_failures_and_fills_reach_the_updates_in_order() -> None:
    port = ScriptedPort()
    mgr, published = manager(port)
    mgr.submit(request(1, OrderSide.BUY, OrderKind.MARKET, 1.0))
    mgr.submit(request(2, OrderSide.BUY, OrderKind.MARKET, 1.0))
    port.fills("rt-t-0001", "a", 1.0, fee_base=0.001)
    port.ack("rt-t-0001", "closed", 1.0)
    port.reports.append(SubmitFailed("rt-t-0002", S.MARGIN, "Account has insufficient balance"))
    mgr.process()
    assert log(mgr) == [
        (1, "Submitted"),
        (2, "Submitted"),
        (1, "Accepted"),
        (1, "fill"),
        (1, "Completed"),
        (2, "Margin"),
    ]
    assert [type(e).__name__ for e in published].count("FillEvent") == 1
    assert not mgr.settled(SYMBOL)  # no balance report since the fill
    port.reports.append(BalanceReport({"BTC": Balance(0.999)}))
    mgr.process()
    assert mgr.settled(SYMBOL)


def test_a_fill_before_the_order_is_known_is_kept_until_it_is() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port)
    mgr.submit(request(1, OrderSide.BUY, OrderKind.MARKET))
    port.reports.append(FillReport(None, "xrt-t-0001", ExchangeFill("a", 100.0, 1.0)))
    mgr.process()
    assert log(mgr) == [(1, "Submitted")]
    port.ack("rt-t-0001", "closed", 1.0)
    mgr.process()
    assert log(mgr) == [(1, "Accepted"), (1, "fill"), (1, "Completed")]


def test_oco_cancels_the_others_when_one_executes() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port)
    mgr.submit(request(1, OrderSide.BUY, OrderKind.LIMIT, price=99.0))
    mgr.submit(request(2, OrderSide.BUY, OrderKind.LIMIT, price=98.0), oco=1)
    mgr.submit(request(3, OrderSide.BUY, OrderKind.LIMIT, price=97.0), oco=1)
    for cid in ("rt-t-0001", "rt-t-0002", "rt-t-0003"):
        port.ack(cid)
    port.fills("rt-t-0002", "a", 0.5)
    mgr.process()
    assert sorted(port.cancelled) == ["rt-t-0001", "rt-t-0003"]
    port.ack("rt-t-0001", "canceled")
    port.ack("rt-t-0003", "canceled")
    mgr.process()
    states_of = {ref: mgr.orders[ref].tracked.state for ref in (1, 2, 3)}
    assert states_of == {1: S.CANCELED, 2: S.PARTIAL, 3: S.CANCELED}


def test_an_oco_stop_is_worked_locally_and_clears_its_sibling_before_going_out() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port)
    mgr.submit(request(1, OrderSide.SELL, OrderKind.LIMIT, price=110.0))
    mgr.submit(request(2, OrderSide.SELL, OrderKind.STOP, stop=90.0), oco=1)
    assert [r.kind for r in port.placed] == [OrderKind.LIMIT]  # the stop is a local trigger
    port.ack("rt-t-0001")
    mgr.process()
    mgr.on_price(SYMBOL, 95.0)
    assert port.cancelled == []
    mgr.on_price(SYMBOL, 89.5)
    assert port.cancelled == ["rt-t-0001"]
    assert len(port.placed) == 1  # waits until the sibling is gone
    port.ack("rt-t-0001", "canceled")
    mgr.process()
    assert [(r.kind, r.side, r.stop_price) for r in port.placed[1:]] == [
        (OrderKind.MARKET, OrderSide.SELL, None)
    ]
    assert mgr.orders[1].tracked.state is S.CANCELED
    assert mgr.orders[2].tracked.state is S.ACCEPTED


def test_a_sibling_fill_racing_a_fired_stop_cancels_the_stop_instead() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port)
    mgr.submit(request(1, OrderSide.SELL, OrderKind.LIMIT, price=110.0))
    mgr.submit(request(2, OrderSide.SELL, OrderKind.STOP, stop=90.0), oco=1)
    port.ack("rt-t-0001")
    mgr.on_price(SYMBOL, 89.0)
    port.fills("rt-t-0001", "a", 1.0, price=110.0)  # it filled before the cancel landed
    port.ack("rt-t-0001", "closed", 1.0)
    mgr.process()
    assert len(port.placed) == 1
    assert mgr.orders[2].tracked.state is S.CANCELED
    assert mgr.orders[1].tracked.state is S.COMPLETED


def test_bracket_children_wait_for_the_parent_then_sell_what_it_delivered() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port)
    mgr.submit(request(1, OrderSide.BUY, OrderKind.LIMIT, 1.0, price=100.0), transmit=False)
    mgr.submit(request(2, OrderSide.SELL, OrderKind.STOP, 1.0, stop=95.0), parent=1, transmit=False)
    assert port.placed == [] and log(mgr) == []  # held until transmit, like backtrader
    mgr.submit(request(3, OrderSide.SELL, OrderKind.LIMIT, 1.0, price=110.0), parent=1)
    assert [r.local_id for r in port.placed] == [1]
    assert log(mgr) == [
        (1, "Submitted"),
        (2, "Submitted"),
        (2, "Accepted"),
        (3, "Submitted"),
        (3, "Accepted"),
    ]
    mgr.on_price(SYMBOL, 94.0)  # children are not live before the parent completes
    assert len(port.placed) == 1
    port.fills("rt-t-0001", "a", 1.0, fee_base=0.001)
    port.ack("rt-t-0001", "closed", 1.0)
    mgr.process()
    take_profit = port.placed[1]
    assert (take_profit.local_id, take_profit.kind) == (3, OrderKind.LIMIT)
    assert take_profit.amount == pytest.approx(0.999)  # net of the fee paid in BTC
    port.ack(take_profit.client_order_id)
    port.fills(take_profit.client_order_id, "b", 0.999, price=110.0)
    mgr.process()
    assert mgr.orders[3].tracked.state is S.COMPLETED
    assert mgr.orders[2].tracked.state is S.CANCELED
    mgr.on_price(SYMBOL, 80.0)
    assert len(port.placed) == 2


def test_a_parent_that_fails_cancels_its_children() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port)
    mgr.submit(request(1, OrderSide.BUY, OrderKind.LIMIT, price=100.0), transmit=False)
    mgr.submit(request(2, OrderSide.SELL, OrderKind.LIMIT, price=110.0), parent=1)
    port.reports.append(SubmitFailed("rt-t-0001", S.REJECTED, "Filter failure: PRICE_FILTER"))
    mgr.process()
    assert mgr.orders[2].tracked.state is S.CANCELED
    mgr.submit(request(3, OrderSide.SELL, OrderKind.LIMIT, price=110.0), parent=1)
    assert mgr.orders[3].tracked.state is S.REJECTED


def test_a_cancel_before_the_exchange_id_is_known_goes_out_once_it_is() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port)
    mgr.submit(request(1, OrderSide.BUY, OrderKind.LIMIT, price=100.0))
    mgr.cancel(1)
    assert port.cancelled == ["rt-t-0001"]
    assert mgr.orders[1].tracked.state is S.SUBMITTED  # the exchange decides
    port.ack("rt-t-0001", "canceled")
    mgr.process()
    assert mgr.orders[1].tracked.state is S.CANCELED


def test_a_native_stop_waits_one_cycle_for_an_oco_partner() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port)
    mgr.submit(request(1, OrderSide.SELL, OrderKind.STOP, stop=90.0))
    assert port.placed == []
    mgr.flush()
    assert [r.kind for r in port.placed] == [OrderKind.STOP]
    mgr.submit(request(2, OrderSide.SELL, OrderKind.STOP, stop=80.0))
    mgr.submit(request(3, OrderSide.SELL, OrderKind.LIMIT, price=120.0), oco=2)
    mgr.flush()
    assert [r.local_id for r in port.placed] == [1, 3]  # 2 became a local trigger
    assert mgr.orders[2].trigger is not None


def test_orders_past_their_valid_time_expire() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port)
    mgr.submit(request(1, OrderSide.BUY, OrderKind.LIMIT, price=100.0, expires_ms=1_000))
    port.ack("rt-t-0001")
    mgr.process()
    mgr.on_time(999)
    assert port.cancelled == []
    mgr.on_time(1_001)
    port.ack("rt-t-0001", "canceled")
    mgr.process()
    assert mgr.orders[1].tracked.state is S.EXPIRED


def test_trailing_stops_follow_the_price_and_fire_on_the_reversal() -> None:
    sell = LocalTrigger(OrderSide.SELL, 95.0, trail_amount=5.0)
    assert not sell.observe(100.0)
    assert not sell.observe(104.0)
    assert sell.stop == pytest.approx(99.0)
    assert not sell.observe(101.0)
    assert sell.stop == pytest.approx(99.0)  # never moves down
    assert sell.observe(98.9)
    buy_trail = LocalTrigger(OrderSide.BUY, 110.0, trail_percent=0.1)
    assert not buy_trail.observe(90.0)
    assert buy_trail.stop == pytest.approx(99.0)
    assert buy_trail.observe(99.0)


def test_a_trailing_stop_limit_goes_out_as_a_limit_below_the_stop() -> None:
    port = ScriptedPort()
    mgr, _ = manager(port)
    mgr.submit(
        request(
            1,
            OrderSide.SELL,
            OrderKind.STOP_TRAIL_LIMIT,
            stop=95.0,
            trail_amount=5.0,
            limit_offset=1.0,
        )
    )
    assert port.placed == []
    mgr.on_price(SYMBOL, 110.0)
    mgr.on_price(SYMBOL, 104.0)
    sent = port.placed[0]
    assert (sent.kind, sent.price) == (OrderKind.LIMIT, pytest.approx(104.0))
    assert mgr.orders[1].tracked.request.stop_price == pytest.approx(105.0)
