"""``quick_frozen_init`` gives the same objects as a frozen dataclass's own ``__init__``."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from real_trade.execution import events
from real_trade.sim import market, types
from real_trade.utils.frozen import quick_frozen_init


def _slow_init(cls: type) -> object:
    """The ``__init__`` dataclass makes for ``cls`` (a twin class built without the helper)."""
    twin = dataclass(frozen=True, slots=True)(
        type(
            cls.__name__,
            (),
            {"__annotations__": dict(cls.__annotations__)}
            | {
                f.name: f.default
                for f in dataclasses.fields(cls)
                if f.default is not dataclasses.MISSING
            },
        )
    )
    return twin


@pytest.mark.parametrize(
    "cls",
    [
        types.Fill,
        types.Trade,
        types.OrderEvent,
        types.BalanceEvent,
        market.MarketTick,
        events.ExchangeFill,
        events.OrderReport,
        events.FillReport,
        events.Balance,
        events.BalanceReport,
    ],
)
def test_the_quick_init_sets_what_the_dataclass_init_sets(cls: type) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    required = [f for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
    values = [object() for _ in names]  # distinct markers: a swapped field shows
    slow_cls = _slow_init(cls)
    for given in (len(required), len(names)):
        fast = cls(*values[:given])
        slow = slow_cls(*values[:given])
        assert [getattr(fast, n) for n in names] == [getattr(slow, n) for n in names]
        kw = dict(zip(names[:given], values[:given], strict=True))
        assert cls(**kw) == fast
    with pytest.raises(TypeError):
        cls(*values, object())  # one too many, as before
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(fast, names[0], 1)


def test_instances_stay_equal_hashable_and_picklable() -> None:
    fill = events.ExchangeFill("7", 1.5, 2.0, 0.1, "USDT", 5, True)
    assert fill == events.ExchangeFill("7", 1.5, 2.0, 0.1, "USDT", 5, True)
    assert hash(fill) == hash(events.ExchangeFill("7", 1.5, 2.0, 0.1, "USDT", 5, True))
    assert pickle.loads(pickle.dumps(fill)) == fill
    tick = market.MarketTick(1, Decimal("2.5"), Decimal(0), types.Side.BUY)
    assert pickle.loads(pickle.dumps(tick)) == tick


def test_a_class_it_cannot_serve_is_refused() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    for cls in (NoSlots, Factory, NotFrozen):
        with pytest.raises(TypeError):
            quick_frozen_init(cls)
