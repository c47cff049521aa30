"""The broker shim's translation: epoch milliseconds to backtrader date numbers, and the
session's updates to backtrader statuses and ``order.info``."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import backtrader as bt

from real_trade.brokers import translate as tr
from real_trade.execution import OrderState, OrderUpdate


def _date2num(ms: int) -> float:
    """What ``ms_to_num`` stands for: backtrader's date number of the UTC datetime."""
    stamp = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).replace(tzinfo=None)
    return float(bt.date2num(stamp))


def test_ms_to_num_is_backtraders_date_number_to_the_last_bit() -> None:
    rng = random.Random(16)
    day = 86_400_000
    edges = [0, 1, 999, 1000, day - 1, day, day + 1, 1_700_000_000_000, 4_102_444_800_000 - 1]
    samples = edges + [rng.randrange(0, 4_102_444_800_000) for _ in range(20_000)]
    samples += [rng.randrange(0, 2_000) * 60_000 + 1_600_000_000_000 for _ in range(2_000)]
    for ms in samples:
        assert tr.ms_to_num(ms) == _date2num(ms), ms
    assert tr.ms_to_num(1_700_000_000_123) == tr.ms_to_num(1_700_000_000_123.0)


def test_ms_to_num_round_trips_with_num_to_ms() -> None:
    for ms in (0, 1_600_000_000_000, 1_700_000_060_000, 1_700_000_000_001):
        assert tr.num_to_ms(tr.ms_to_num(ms)) == ms


class _Order:
    """The parts of a backtrader order ``set_status`` touches, with its setters recorded."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.status = 0
        self.calls: list[str] = []
        self.added: list[dict[str, Any]] = []

    def addinfo(self, **kwargs: Any) -> None:
        self.added.append(kwargs)
        self.info.update(kwargs)

    def submit(self, broker: Any) -> None:
        self.calls.append("submit")
        self.status = 1

    def accept(self, broker: Any) -> None:
        self.calls.append("accept")
        self.status = 2

    def reject(self, broker: Any) -> None:
        self.calls.append("reject")
        self.status = 8

    def cancel(self) -> None:
        self.calls.append("cancel")
        self.status = 5

    def margin(self) -> None:
        self.calls.append("margin")
        self.status = 7


def _update(state: OrderState, cid: str = "", xid: str | None = None, **kw: Any) -> OrderUpdate:
    fields: dict[str, Any] = {
        "local_id": 1, "client_order_id": cid, "exchange_order_id": xid, "symbol": "BTC/USDT",
        "side": "buy", "kind": "market", "state": state, "amount": 1.0, "filled": 0.0,
        "average_price": None, "price": None, "stop_price": None, "reason": None, "time_ms": 0,
    }  # fmt: skip
    return OrderUpdate(**(fields | kw))


def test_set_status_uses_backtraders_setters_and_sets_each_id_once() -> None:
    order = _Order()
    tr.set_status(order, _update(OrderState.SUBMITTED), None)
    tr.set_status(order, _update(OrderState.ACCEPTED, "c-1", "x-1"), None)
    tr.set_status(order, _update(OrderState.COMPLETED, "c-1", "x-1"), None)
    assert order.calls == ["submit", "accept"]
    assert order.status == int(OrderState.COMPLETED)
    assert order.info == {"client_order_id": "c-1", "exchange_order_id": "x-1"}
    assert order.added == [{"client_order_id": "c-1", "exchange_order_id": "x-1"}]
    tr.set_status(order, _update(OrderState.CANCELED, "c-1", "x-2", reason="gone"), None)
    assert order.info == {"client_order_id": "c-1", "exchange_order_id": "x-2", "reason": "gone"}
    assert order.calls[-1] == "cancel" and order.status == int(OrderState.CANCELED)


def test_set_status_maps_every_state() -> None:
    expected = {
        OrderState.SUBMITTED: ("submit", 1),
        OrderState.ACCEPTED: ("accept", 2),
        OrderState.REJECTED: ("reject", 8),
        OrderState.CANCELED: ("cancel", 5),
        OrderState.MARGIN: ("margin", 7),
        OrderState.PARTIAL: (None, 3),
        OrderState.COMPLETED: (None, 4),
        OrderState.EXPIRED: (None, 6),
    }
    for state, (call, status) in expected.items():
        order = _Order()
        tr.set_status(order, _update(state, reason="why"), None)
        assert order.calls == ([call] if call else []), state
        assert order.status == status == bt.Order.Status.index(state.bt_name), state
        assert order.info == {"reason": "why"}


def test_a_feeds_bar_reader_prices_an_order_as_its_close_does() -> None:
    import types

    import pandas as pd

    from real_trade.brokers.backfill import reference_price

    seen: list[tuple[float | None, float | None]] = []
    session = types.SimpleNamespace(paper=None)

    class Probe(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.reader = tr.BarReader(self.data)

        def next(self) -> None:
            args = (None, session, self.data, "BTC/USDT", ["BTC/USDT"])
            seen.append((reference_price(*args, self.reader), reference_price(*args)))

    index = pd.date_range("2024-01-01", periods=5, freq="min")
    closes = [100.5, 101.25, 99.75, 100.0, 102.125]
    frame = pd.DataFrame({"open": closes, "high": closes, "low": closes, "close": closes,
                          "volume": [1.0] * 5}, index=index)  # fmt: skip
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(Probe)
    cerebro.run()
    assert seen == [(c, c) for c in closes]
    assert tr.BarReader(bt.feeds.PandasData(dataname=frame)).close() is None  # before a bar


def _executed_order() -> Any:
    """A backtrader order with two executions booked (the second still pending)."""
    order = bt.BuyOrder(owner=None, data=None, size=2.0, price=10.0, simulated=True)
    order.addinfo(client_order_id="c-1")
    order.execute(1.0, 1.0, 10.0, 0.0, 10.0, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 10.0)
    order.clone()  # the first execution notified: no longer pending
    order.execute(2.0, 1.0, 11.0, 0.0, 11.0, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 10.5)
    order.partial()
    return order


def _state(obj: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(obj).items() if k != "executed"}


def test_snapshot_is_backtraders_clone() -> None:
    order = _executed_order()
    executed = order.executed
    before = (executed.p1, executed.p2)
    cloned = order.clone()
    after = (executed.p1, executed.p2)
    executed.p1, executed.p2 = before  # as before the clone
    copied = tr.snapshot(order)
    assert (executed.p1, executed.p2) == after  # marked pending the same way
    assert type(copied) is type(cloned) is type(order) and copied is not order
    assert _state(copied).keys() == _state(cloned).keys() == _state(order).keys()
    for key, value in _state(order).items():  # shallow: the same objects
        assert _state(copied)[key] is value and _state(cloned)[key] is value, key
    for ex in (copied.executed, cloned.executed):
        assert type(ex) is type(executed) and ex is not executed
        assert vars(ex).keys() == vars(executed).keys()
        assert all(vars(ex)[k] is v for k, v in vars(executed).items())
    assert [b.size for b in copied.executed.iterpending()] == [1.0]
    assert copied.status == order.Partial and copied.info["client_order_id"] == "c-1"


def test_snapshot_uses_an_overriding_clone() -> None:
    class Own(bt.BuyOrder):  # type: ignore[misc]
        def clone(self) -> Any:
            return "own"

    order = Own(owner=None, data=None, size=1.0, price=10.0, simulated=True)
    assert tr.snapshot(order) == "own"
