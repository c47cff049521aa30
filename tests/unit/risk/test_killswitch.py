"""KillSwitch against an injected fake account: cancel all, flatten, HALT, idempotent, journaled."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from real_trade.bus import EventBus
from real_trade.errors import ExchangeUnavailableError, NetworkError, OrderNotFoundError
from real_trade.risk import (
    KillOrder,
    KillPosition,
    KillReport,
    KillSwitch,
    TradingState,
    TradingStateHolder,
    TradingStateSnapshot,
    TradingStateStore,
    VenueKillTarget,
)
from real_trade.utils.logger import register_secret


class FakeClock:
    """A monotonic clock moved only by ``sleep`` (so bounded waits take no real time)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds


class FakeAccount:
    """A KillTarget: open orders and positions in memory, with scripted failures.

    A canceled order disappears from ``open_orders`` after ``confirm_after`` further reads (the
    venue confirming asynchronously); ``never_confirm`` orders never disappear; ``cancel_errors``
    and ``close_errors`` map an order id / symbol to the exception its call raises (an order
    whose cancel raises ``OrderNotFoundError`` is gone from the book). A close
    order fills at once: the position goes to zero. ``state`` (when given) is sampled at every
    call so tests can see the trading state the target was touched under.
    """

    def __init__(
        self,
        orders: list[KillOrder] | None = None,
        positions: list[KillPosition] | None = None,
        *,
        confirm_after: int = 0,
        never_confirm: set[str] | None = None,
        cancel_errors: dict[str, Exception] | None = None,
        close_errors: dict[str, Exception] | None = None,
        read_error: Exception | None = None,
        state: TradingStateHolder | None = None,
    ) -> None:
        self.orders = {o.id: o for o in orders or []}
        self.held = {p.symbol: p for p in positions or []}
        self.confirm_after = confirm_after
        self.never_confirm = never_confirm or set()
        self.cancel_errors = cancel_errors or {}
        self.close_errors = close_errors or {}
        self.read_error = read_error
        self.state = state
        self.pending: dict[str, int] = {}
        self.cancel_calls: list[str] = []
        self.close_calls: list[tuple[str, str, float]] = []
        self.seen_states: list[TradingState] = []

    def _sample(self) -> None:
        if self.state is not None:
            self.seen_states.append(self.state.state)

    def open_orders(self) -> list[KillOrder]:
        self._sample()
        if self.read_error is not None:
            raise self.read_error
        for oid in list(self.pending):
            self.pending[oid] -= 1
            if self.pending[oid] < 0:
                del self.pending[oid]
                self.orders.pop(oid, None)
        return list(self.orders.values())

    def cancel(self, order: KillOrder) -> None:
        self._sample()
        self.cancel_calls.append(order.id)
        if order.id in self.cancel_errors:
            if isinstance(self.cancel_errors[order.id], OrderNotFoundError):
                self.orders.pop(order.id)  # it filled just before the cancel arrived
            raise self.cancel_errors[order.id]
        if order.id not in self.never_confirm:
            self.pending[order.id] = self.confirm_after

    def positions(self) -> list[KillPosition]:
        self._sample()
        return [p for p in self.held.values() if p.amount]

    def close_position(self, position: KillPosition, amount: float) -> str:
        self._sample()
        self.close_calls.append((position.symbol, position.close_side, amount))
        if position.symbol in self.close_errors:
            raise self.close_errors[position.symbol]
        left = abs(position.amount) - amount
        sign = 1 if position.amount > 0 else -1
        self.held[position.symbol] = KillPosition(position.symbol, sign * left)
        return f"close-{position.symbol}"


class RecordingJournal:
    """A journal keeping events and state in memory, optionally failing every write."""

    def __init__(self, fail: bool = False) -> None:
        self.rows: list[tuple[str, Any, str | None, int | None]] = []
        self.state: dict[str, Any] = {}
        self.fail = fail

    def record_event(
        self, kind: str, payload: Any, *, strategy: str | None = None, time_ms: int | None = None
    ) -> None:
        if self.fail:
            raise OSError("disk full")
        self.rows.append((kind, payload, strategy, time_ms))

    def set_state(self, key: str, value: Any) -> None:
        if self.fail:
            raise OSError("disk full")
        self.state[key] = value

    def get_state(self, key: str, default: Any = None) -> Any:
        return self.state.get(key, default)

    def kinds(self) -> list[str]:
        return [row[0] for row in self.rows]


def order(oid: str, symbol: str = "BTC/USDT", side: str = "buy") -> KillOrder:
    """An open order of 0.1 at 50,000."""
    return KillOrder(oid, symbol, side, 0.1, 50_000.0, f"cid-{oid}")


def make_switch(
    target: FakeAccount,
    state: TradingStateHolder | None = None,
    **kw: Any,
) -> tuple[KillSwitch, TradingStateHolder, list[tuple[str, Any]], RecordingJournal, FakeClock]:
    """A switch over ``target`` with a synchronous bus, a recording journal and a fake clock."""
    state = state or TradingStateHolder()
    bus = EventBus(synchronous=True)
    seen: list[tuple[str, Any]] = []
    bus.subscribe("killswitch.*", lambda topic, event: seen.append((topic, event)))
    journal = kw.pop("journal", RecordingJournal())
    clock = FakeClock()
    switch = KillSwitch(
        target,
        state=state,
        bus=bus,
        journal=journal,
        strategy="sma",
        clock=clock,
        sleep=clock.sleep,
        now_ms=lambda: 1_700_000_000_000,
        **kw,
    )
    return switch, state, seen, journal, clock


def test_cancels_every_open_order_then_halts_and_says_so_everywhere() -> None:
    state = TradingStateHolder()
    target = FakeAccount([order("1"), order("2", "ETH/USDT", "sell")], state=state)
    switch, _, seen, journal, _ = make_switch(target, state)

    report = switch.engage(reason="operator")

    assert target.cancel_calls == ["1", "2"]
    assert target.orders == {}
    assert state.snapshot().state is TradingState.HALTED
    assert state.snapshot().reason == "operator"
    assert set(target.seen_states) == {TradingState.REDUCING}
    assert report.ok and not report.nothing_to_do and not report.already_halted
    assert [c.status for c in report.cancels] == ["canceled", "canceled"]
    assert report.summary() == "canceled 2/2 open order(s); trading HALTED"
    topics = [t for t, _ in seen]
    assert topics == [
        "killswitch.engaged",
        "killswitch.order_canceled",
        "killswitch.order_canceled",
        "killswitch.halted",
    ]
    assert seen[-1][1] is report
    assert journal.kinds() == [
        "trading_state",
        "killswitch.engaged",
        "killswitch.order_canceled",
        "killswitch.order_canceled",
        "trading_state",
        "killswitch.halted",
    ]
    assert journal.rows[0][1]["state"] == "reducing"
    assert all(row[2] == "sma" for row in journal.rows)
    assert journal.state["trading_state"] == {
        "state": "halted",
        "reason": "operator",
        "time_ms": 1_700_000_000_000,
    }
    assert journal.rows[-1][1]["ok"] is True


def test_waits_for_the_venue_to_confirm_each_cancel() -> None:
    target = FakeAccount([order("1"), order("2")], confirm_after=3)
    switch, _, _, _, clock = make_switch(target)

    report = switch.engage()

    assert report.ok
    assert clock.sleeps >= 3
    assert target.orders == {}


def test_an_order_that_stays_open_is_reported_after_the_bounded_wait() -> None:
    target = FakeAccount([order("1"), order("stuck")], never_confirm={"stuck"})
    switch, state, seen, _, clock = make_switch(target, confirm_timeout=2.0, poll_interval=0.5)

    report = switch.engage()

    assert clock.now - 100.0 == pytest.approx(2.0)
    assert [o.id for o in report.still_open] == ["stuck"]
    statuses = {c.order.id: c.status for c in report.cancels}
    assert statuses == {"1": "canceled", "stuck": "unconfirmed"}
    assert not report.ok
    assert "1 order(s) still open" in report.summary()
    assert state.state is TradingState.HALTED
    assert "killswitch.cancel_failed" in [t for t, _ in seen]


def test_one_failing_cancel_does_not_stop_the_others_and_no_secret_leaks() -> None:
    secret = "S3cretApiKeyValue0123456789"
    register_secret(secret)
    target = FakeAccount(
        [order("1"), order("2"), order("3"), order("gone")],
        cancel_errors={
            "2": NetworkError(f"connection reset (key {secret})"),
            "gone": OrderNotFoundError("Unknown order sent."),
        },
        never_confirm={"2"},
    )
    switch, state, _, journal, _ = make_switch(target)

    report = switch.engage(reason="test")

    assert target.cancel_calls == ["1", "2", "3", "gone"]
    statuses = {c.order.id: c.status for c in report.cancels}
    assert statuses == {"1": "canceled", "2": "failed", "3": "canceled", "gone": "already_closed"}
    assert not report.ok
    assert [o.id for o in report.still_open] == ["2"]
    assert "NetworkError" in report.summary()
    assert secret not in report.summary()
    assert secret not in repr(report)
    assert secret not in repr(journal.rows)
    assert state.state is TradingState.HALTED


def test_flatten_closes_longs_and_shorts_and_reports_dust_without_trying_it() -> None:
    positions = [
        KillPosition("BTC/USDT", 0.5, min_amount=0.00001, min_notional=5.0, price=50_000.0),
        KillPosition("ETH/USDT:USDT", -2.0, min_amount=0.001, price=3_000.0),
        KillPosition("BNB/USDT", 0.005, closable=0.005, min_amount=0.01, price=600.0),
        KillPosition("XRP/USDT", 3.0, min_notional=5.0, price=1.0),
        KillPosition("DOGE/USDT", 0.4, closable=0.0),
    ]
    target = FakeAccount([order("1")], positions)
    switch, state, seen, _, _ = make_switch(target)

    report = switch.engage(flatten=True, reason="flatten all")

    assert target.close_calls == [("BTC/USDT", "sell", 0.5), ("ETH/USDT:USDT", "buy", 2.0)]
    by_symbol = {f.position.symbol: f for f in report.flattens}
    assert by_symbol["BTC/USDT"].status == "closed"
    assert by_symbol["BTC/USDT"].order_id == "close-BTC/USDT"
    assert by_symbol["ETH/USDT:USDT"].status == "closed"
    assert by_symbol["BNB/USDT"].status == "dust"
    assert "below the minimum amount 0.01" in by_symbol["BNB/USDT"].error
    assert by_symbol["XRP/USDT"].status == "dust"
    assert "notional 3 is below the minimum 5" in by_symbol["XRP/USDT"].error
    assert by_symbol["DOGE/USDT"].status == "dust"
    assert report.ok and report.remaining == ()
    assert (
        report.summary()
        == "canceled 1/1 open order(s), closed 2 position(s), 3 dust; trading HALTED"
    )
    assert [t for t, _ in seen].count("killswitch.dust") == 3
    assert [t for t, _ in seen].count("killswitch.flattened") == 2
    assert state.state is TradingState.HALTED


def test_dust_boundary_an_amount_equal_to_the_minimum_is_closed() -> None:
    at_min = KillPosition("BTC/USDT", 0.001, min_amount=0.001, min_notional=10.0, price=10_000.0)
    just_under = KillPosition("BTC/USDT", 0.00099, min_amount=0.001)
    assert at_min.dust_reason() is None
    assert just_under.dust_reason() == "0.00099 is below the minimum amount 0.001"
    assert KillPosition("BTC/USDT", 0.0009999, min_notional=10.0, price=10_000.0).dust_reason()


def test_a_failed_close_is_reported_and_the_position_stays_listed() -> None:
    positions = [KillPosition("BTC/USDT", 0.5), KillPosition("ETH/USDT", 1.0)]
    target = FakeAccount([], positions, close_errors={"BTC/USDT": ExchangeUnavailableError("503")})
    switch, state, _, _, _ = make_switch(target, confirm_timeout=1.0)

    report = switch.engage(flatten=True)

    assert [f.status for f in report.flattens] == ["failed", "closed"]
    assert [p.symbol for p in report.remaining] == ["BTC/USDT"]
    assert not report.ok
    assert "1 position(s) not flat" in report.summary()
    assert state.state is TradingState.HALTED


def test_without_flatten_positions_are_left_alone() -> None:
    target = FakeAccount([order("1")], [KillPosition("BTC/USDT", 0.5)])
    switch, _, _, _, _ = make_switch(target)
    report = switch.engage()
    assert target.close_calls == []
    assert report.flattens == () and report.remaining == () and report.ok


def test_second_engage_finds_nothing_to_do_and_stays_halted() -> None:
    state = TradingStateHolder()
    target = FakeAccount([order("1")], [KillPosition("BTC/USDT", 0.5)], state=state)
    switch, _, _, journal, _ = make_switch(target, state)
    first = switch.engage(flatten=True, reason="first")
    target.seen_states.clear()
    rows_before = len(journal.rows)

    second = switch.engage(flatten=True, reason="again")

    assert first.ok and not first.nothing_to_do
    assert second.ok and second.nothing_to_do and second.already_halted
    assert second.summary() == "already halted, nothing open; trading HALTED"
    assert set(target.seen_states) == {TradingState.HALTED}
    assert state.state is TradingState.HALTED
    new_kinds = [row[0] for row in journal.rows[rows_before:]]
    assert "trading_state" in new_kinds and "killswitch.halted" in new_kinds
    assert not any(row[1].get("state") == "reducing" for row in journal.rows[rows_before:])
    assert target.cancel_calls == ["1"] and len(target.close_calls) == 1


def test_an_unreadable_account_still_halts_and_the_report_says_why() -> None:
    target = FakeAccount(read_error=NetworkError("venue unreachable"))
    switch, state, _, _, _ = make_switch(target)
    report = switch.engage()
    assert state.state is TradingState.HALTED
    assert not report.ok
    assert any(
        "reading open orders failed: NetworkError: venue unreachable" in e for e in report.errors
    )


def test_a_failing_journal_never_stops_the_kill() -> None:
    target = FakeAccount([order("1")])
    switch, state, _, _, _ = make_switch(target, journal=RecordingJournal(fail=True))
    report = switch.engage()
    assert report.ok
    assert state.state is TradingState.HALTED
    assert report.warnings and all("disk full" in w for w in report.warnings)


def test_concurrent_engages_do_the_work_once() -> None:
    target = FakeAccount([order(str(i)) for i in range(20)], confirm_after=1)
    switch, state, _, _, _ = make_switch(target)
    reports: list[KillReport] = []
    threads = [threading.Thread(target=lambda: reports.append(switch.engage())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(target.cancel_calls) == sorted(str(i) for i in range(20))
    assert sum(not r.nothing_to_do for r in reports) == 1
    assert all(r.ok for r in reports)
    assert state.state is TradingState.HALTED


def test_trading_state_round_trips_through_the_journal() -> None:
    journal = RecordingJournal()
    store = TradingStateStore(journal)
    assert store.read() is None
    store.write("halted", "kill", time_ms=5)
    assert store.read() == TradingStateSnapshot(TradingState.HALTED, "kill")
    store.write(TradingState.ACTIVE, "resumed")
    assert store.read() == TradingStateSnapshot(TradingState.ACTIVE, "resumed")
    assert journal.kinds() == ["trading_state", "trading_state"]


class FakeDerivativesClient:
    """A VenueClient stand-in for a swap account: positions, precision, limits, orders."""

    market_type = "swap"

    def __init__(self) -> None:
        self.created: list[tuple[str, str, str, float, dict[str, Any]]] = []

    def symbol_of(self, symbol: str) -> str:
        return symbol

    def fetch_positions(self, symbols: list[str]) -> list[dict[str, Any]]:
        return [
            {"symbol": "BTC/USDT:USDT", "side": "short", "contracts": 3.0},
            {"symbol": "ETH/USDT:USDT", "side": "long", "contracts": 0.0},
        ]

    def market(self, symbol: str) -> dict[str, Any]:
        return {"base": symbol[:3], "limits": {"amount": {"min": 1.0}, "cost": {"min": 5.0}}}

    def amount_to_precision(self, symbol: str, amount: float) -> float:
        return float(int(amount))

    def fetch_ticker(self, symbol: str) -> dict[str, Any]:
        return {"last": 20_000.0}

    def create_order(
        self, symbol: str, kind: str, side: str, amount: float, *, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.created.append((symbol, kind, side, amount, params))
        return {"id": "777"}


def test_venue_target_closes_derivative_positions_with_reduce_only_orders() -> None:
    client = FakeDerivativesClient()
    target = VenueKillTarget(client, ["BTC/USDT:USDT", "ETH/USDT:USDT"])
    (position,) = target.positions()
    assert position == KillPosition("BTC/USDT:USDT", -3.0, 3.0, 1.0, 5.0, 20_000.0)
    assert target.close_position(position, 3.0) == "777"
    assert client.created == [("BTC/USDT:USDT", "market", "buy", 3.0, {"reduceOnly": True})]


def test_venue_target_needs_a_symbol() -> None:
    with pytest.raises(ValueError, match="at least one symbol"):
        VenueKillTarget(FakeDerivativesClient(), [])
