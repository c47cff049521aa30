"""FIFO round trips from fills: lots, partial closes, flips, fees, and keys kept apart."""

from __future__ import annotations

import pytest

from real_trade.persistence import FillRow, build_trades


def _fill(
    side: str,
    amount: float,
    price: float,
    t: int,
    coid: str,
    *,
    fee: float = 0.0,
    strategy: str = "s",
    symbol: str = "BTC/USDT",
    change: float = 0.0,
) -> FillRow:
    return FillRow(
        strategy=strategy,
        client_order_id=coid,
        exchange_order_id=None,
        symbol=symbol,
        side=side,
        trade_id=f"{coid}-{t}",
        price=price,
        amount=amount,
        commission=fee,
        commission_asset="USDT",
        fee_in_quote=fee,
        time_ms=t,
        position_change=change,
    )


def test_a_long_round_trip_nets_its_fees() -> None:
    (trade,) = build_trades(
        [_fill("buy", 1.0, 100.0, 1, "a", fee=0.1), _fill("sell", 1.0, 110.0, 2, "b", fee=0.11)]
    )
    assert (trade.side, trade.amount, trade.entry_ms, trade.exit_ms) == ("long", 1.0, 1, 2)
    assert (trade.entry_price, trade.exit_price) == (100.0, 110.0)
    assert trade.fees == pytest.approx(0.21)
    assert trade.pnl == pytest.approx(10.0 - 0.21)
    assert trade.exit_client_order_id == "b"


def test_closing_fills_of_one_order_make_one_trade_and_lots_close_oldest_first() -> None:
    trades = build_trades(
        [
            _fill("buy", 1.0, 100.0, 1, "a"),
            _fill("buy", 1.0, 120.0, 2, "b"),
            _fill("sell", 0.5, 130.0, 3, "c"),
            _fill("sell", 1.0, 140.0, 4, "c"),
            _fill("sell", 0.5, 150.0, 5, "d"),
        ]
    )
    assert [t.exit_client_order_id for t in trades] == ["c", "d"]
    first, second = trades
    assert first.amount == pytest.approx(1.5)
    assert first.entry_price == pytest.approx((100.0 + 0.5 * 120.0) / 1.5)
    assert first.exit_price == pytest.approx((0.5 * 130.0 + 140.0) / 1.5)
    assert (first.entry_ms, first.exit_ms) == (1, 4)
    assert second.entry_price == 120.0 and second.entry_ms == 2
    assert second.pnl == pytest.approx(0.5 * 30.0)


def test_a_fill_through_zero_closes_the_long_and_opens_a_short() -> None:
    trades = build_trades(
        [
            _fill("buy", 1.0, 100.0, 1, "a"),
            _fill("sell", 3.0, 90.0, 2, "b", fee=0.3),
            _fill("buy", 2.0, 80.0, 3, "c"),
        ]
    )
    long, short = trades
    assert (long.side, long.amount) == ("long", 1.0)
    assert long.pnl == pytest.approx(-10.0 - 0.1)
    assert (short.side, short.amount, short.entry_price, short.exit_price) == (
        "short",
        2.0,
        90.0,
        80.0,
    )
    assert short.pnl == pytest.approx(20.0 - 0.2)


def test_a_base_asset_fee_shrinks_the_lot_to_what_was_received() -> None:
    buy = _fill("buy", 1.0, 100.0, 1, "a", change=0.999, fee=0.1)  # 0.001 BTC at 100
    (trade,) = build_trades([buy, _fill("sell", 0.999, 110.0, 2, "b")])
    assert trade.amount == pytest.approx(0.999)
    assert trade.fees == pytest.approx(0.1)
    assert trade.pnl == pytest.approx(0.999 * 110.0 - 100.0)


def test_strategies_and_symbols_never_offset_each_other() -> None:
    trades = build_trades(
        [
            _fill("buy", 1.0, 100.0, 1, "a", strategy="x"),
            _fill("sell", 1.0, 105.0, 2, "b", strategy="y"),
            _fill("sell", 1.0, 105.0, 3, "c", strategy="x", symbol="ETH/USDT"),
        ]
    )
    assert trades == []


def test_an_open_position_makes_no_trade() -> None:
    assert build_trades([_fill("buy", 1.0, 100.0, 1, "a"), _fill("buy", 1.0, 101.0, 2, "b")]) == []
