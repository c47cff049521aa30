"""Liquidation at the mark price: maintenance-margin checks and the insurance fund's takeover.

An isolated position is liquidated when its margin (isolated margin plus unrealized PnL at the
mark) falls to its maintenance margin or below: the insurance fund takes it over at the
**bankruptcy price** (where that margin is zero), so the account loses exactly the isolated
margin and the fund gets the difference to the mark. A cross account is liquidated when its
cross margin balance (cross wallet plus the cross positions' unrealized PnL) falls to their
total maintenance margin or below: its open orders on the contracts of that asset are
cancelled, then every cross position is taken over by the fund at the **mark price**; a
negative remainder is paid by the fund. Each liquidation publishes a
:class:`~real_trade.sim.derivatives.types.LiquidationEvent`; the core then has the fund close
what it took over with market orders on the book.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal

from real_trade.sim.accounts import Account
from real_trade.sim.derivatives.ledger import DerivativesLedger
from real_trade.sim.derivatives.positions import PNL_QUANTUM, Position
from real_trade.sim.derivatives.types import LiquidationEvent, LiquidationReason, MarginMode
from real_trade.sim.types import ZERO

__all__ = ["bankruptcy_price", "check_liquidations"]

CancelOrders = Callable[[Account, str], None]
"""``cancel(account, symbol)``: cancel the account's open orders on a symbol."""


def bankruptcy_price(pos: Position) -> Decimal:
    """The price at which an isolated position's margin is exactly zero."""
    price = (pos.cost - pos.isolated_margin) / (pos.qty * pos.contract_size)
    return price.quantize(PNL_QUANTUM, ROUND_HALF_EVEN)


def _event(
    pos: Position, qty: Decimal, price: Decimal, mark: Decimal, paid: Decimal, now_ms: int
) -> tuple[str, object]:
    return (
        f"sim.liquidation.{pos.account_id}",
        LiquidationEvent(
            pos.account_id,
            pos.symbol,
            pos.side,
            qty,
            price,
            mark,
            LiquidationReason.MAINTENANCE_MARGIN,
            paid,
            now_ms,
        ),
    )


def check_liquidations(
    ledger: DerivativesLedger,
    accounts: list[Account],
    now_ms: int,
    cancel_orders: CancelOrders,
) -> list[LiquidationEvent]:
    """Liquidate what the marks put under maintenance margin (user ``accounts`` only)."""
    done: list[LiquidationEvent] = []
    fund = ledger.insurance
    for account in accounts:
        positions = ledger.positions_of(account.account_id)
        if not positions:
            continue
        cross_assets: set[str] = set()
        for pos in positions:
            mark = ledger.mark(pos.symbol)
            if mark is None:
                continue
            mode = ledger.settings(account.account_id, pos.symbol).margin_mode
            if mode is MarginMode.CROSS:
                cross_assets.add(ledger.settle_asset(pos.symbol))
                continue
            if pos.isolated_margin + pos.unrealized(mark) > ledger.maintenance(pos):
                continue
            cancel_orders(account, pos.symbol)
            price = bankruptcy_price(pos)
            price = price if price > 0 else mark
            qty = pos.qty
            paid = ledger.transfer(pos, fund, price, now_ms)
            topic, ev = _event(pos, qty, price, mark, paid, now_ms)
            ledger.events.append((topic, ev))
            assert isinstance(ev, LiquidationEvent)
            done.append(ev)
        for asset in sorted(cross_assets):
            cross = [
                p
                for p in ledger.positions_of(account.account_id)
                if ledger.settle_asset(p.symbol) == asset
                and ledger.settings(account.account_id, p.symbol).margin_mode is MarginMode.CROSS
                and ledger.mark(p.symbol) is not None
            ]
            wallet = account.free(asset) + account.locked(asset)
            balance = wallet + sum(
                (p.unrealized(ledger.mark(p.symbol) or ZERO) for p in cross), ZERO
            )
            if balance > sum((ledger.maintenance(p) for p in cross), ZERO):
                continue
            for sym in sorted({p.symbol for p in cross}):
                cancel_orders(account, sym)
            for pos in cross:
                mark = ledger.mark(pos.symbol) or ZERO
                qty = pos.qty
                paid = ledger.transfer(pos, fund, mark, now_ms)
                topic, ev = _event(pos, qty, mark, mark, paid, now_ms)
                ledger.events.append((topic, ev))
                assert isinstance(ev, LiquidationEvent)
                done.append(ev)
    return done
