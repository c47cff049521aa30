"""The derivatives ledger: per-account contract settings, positions, margin and the insurance fund.

One :class:`DerivativesLedger` per exchange core holds every account's
:class:`~real_trade.sim.derivatives.types.SymbolSettings` (leverage, margin mode, position mode)
and :class:`~real_trade.sim.derivatives.positions.Position` per (account, symbol, position
side), the current mark of each contract, and the insurance fund account. The perpetual
settlement (:mod:`~real_trade.sim.derivatives.perp_settlement`) calls it to check and apply
fills; the core calls it for marks, funding (:mod:`~real_trade.sim.derivatives.funding`) and
liquidations (:mod:`~real_trade.sim.derivatives.liquidation`). Balances live on the
:class:`~real_trade.sim.accounts.Account` in the settlement asset: ``free`` plus ``locked``
(the open orders' initial margin) is the cross wallet; isolated margin sits on its position.

Every movement is an exact transfer, so over all accounts (fee account and insurance fund
included) wallet plus unrealized PnL at any common mark is conserved. An amount an account
cannot pay (a loss or a fee beyond its free balance) is paid by the insurance fund and reported
as a BANKRUPTCY liquidation event, so no balance ever goes below zero unseen. It holds no lock
and publishes nothing itself: the core drains :meth:`DerivativesLedger.drain` after each
operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from real_trade.sim.accounts import Account
from real_trade.sim.derivatives.brackets import DEFAULT_BRACKETS, BracketTable
from real_trade.sim.derivatives.funding import funding_payment, funding_rate, funding_times
from real_trade.sim.derivatives.margin import initial_margin, liquidation_price
from real_trade.sim.derivatives.mark import MarkModel
from real_trade.sim.derivatives.positions import Position
from real_trade.sim.derivatives.types import (
    FundingEvent,
    LiquidationEvent,
    LiquidationReason,
    MarginMode,
    MarginSummary,
    PositionMode,
    PositionView,
    SymbolSettings,
)
from real_trade.sim.errors import BadParameter, InsufficientBalance, OrderRejected, Reason
from real_trade.sim.rules import SymbolRules
from real_trade.sim.types import ZERO, Order, PositionSide, Side

__all__ = ["DerivativesLedger"]

_PosKey = tuple[int, str, PositionSide]


class DerivativesLedger:
    """Contract settings, positions, marks and the insurance fund (see the module docstring).

    ``accounts`` is the core's accounts by id; ``insurance`` the fund's (internal) account;
    ``brackets`` overrides the bracket table per symbol (default :data:`DEFAULT_BRACKETS`).
    """

    def __init__(
        self,
        accounts: Mapping[int, Account],
        insurance: Account,
        mark_model: MarkModel | None = None,
        brackets: Mapping[str, BracketTable] | None = None,
        default_leverage: int = 20,
    ) -> None:
        """Create an empty ledger."""
        self._accounts = accounts
        self.insurance = insurance
        self.mark_model = mark_model if mark_model is not None else MarkModel()
        self._brackets = dict(brackets or {})
        self.default_leverage = default_leverage
        self.rules: dict[str, SymbolRules] = {}
        self.marks: dict[str, Decimal] = {}
        self.indexes: dict[str, Decimal] = {}
        self.funded_until: dict[str, int] = {}
        self.funding_history: dict[str, list[tuple[int, Decimal, Decimal]]] = {}
        self._settings: dict[tuple[int, str], SymbolSettings] = {}
        self._positions: dict[_PosKey, Position] = {}
        self.events: list[tuple[str, object]] = []
        self.touched: dict[int, set[str]] = {}
        self.changed: set[_PosKey] = set()

    # ------------------------------------------------------------------ setup and settings
    def register(self, rules: SymbolRules, start_ms: int) -> None:
        """Add a contract; funding is counted from ``start_ms``."""
        self.rules[rules.symbol] = rules
        self.funded_until[rules.symbol] = start_ms

    def brackets(self, symbol: str) -> BracketTable:
        """The bracket table of ``symbol``."""
        return self._brackets.get(symbol, DEFAULT_BRACKETS)

    def settle_asset(self, symbol: str) -> str:
        """The asset ``symbol`` settles in."""
        rules = self.rules[symbol]
        return rules.instrument.settle_asset or rules.quote

    def settings(self, account_id: int, symbol: str) -> SymbolSettings:
        """The account's live settings on ``symbol`` (created with the defaults)."""
        key = (account_id, symbol)
        found = self._settings.get(key)
        if found is None:
            lev = min(self.default_leverage, self.brackets(symbol).max_leverage)
            found = self._settings[key] = SymbolSettings(leverage=lev)
        return found

    def set_leverage(self, account: Account, symbol: str, leverage: int) -> SymbolSettings:
        """Set the leverage; refused outside the brackets or below the open position's needs."""
        table = self.brackets(symbol)
        if not 1 <= leverage <= table.max_leverage:
            raise BadParameter(Reason.LEVERAGE_NOT_VALID, "leverage")
        mark = self.mark(symbol)
        for pos in self.positions_of(account.account_id, symbol):
            if mark is not None and pos.notional(mark) > table.max_notional(leverage):
                raise OrderRejected(Reason.MAX_NOTIONAL_FOR_LEVERAGE)
        found = self.settings(account.account_id, symbol)
        found.leverage = leverage
        return found

    def set_margin_mode(
        self, account: Account, symbol: str, mode: MarginMode, *, has_orders: bool
    ) -> SymbolSettings:
        """Switch cross/isolated; refused with a position or open orders on the symbol."""
        found = self.settings(account.account_id, symbol)
        if found.margin_mode is not mode:
            if has_orders or self.positions_of(account.account_id, symbol):
                raise OrderRejected(Reason.SETTINGS_LOCKED)
            found.margin_mode = mode
        return found

    def set_position_mode(
        self, account: Account, symbol: str, mode: PositionMode, *, has_orders: bool
    ) -> SymbolSettings:
        """Switch one-way/hedge; refused with a position or open orders on the symbol."""
        found = self.settings(account.account_id, symbol)
        if found.position_mode is not mode:
            if has_orders or self.positions_of(account.account_id, symbol):
                raise OrderRejected(Reason.SETTINGS_LOCKED)
            found.position_mode = mode
        return found

    def adjust_isolated_margin(
        self, account: Account, symbol: str, side: PositionSide, amount: Decimal, now_ms: int
    ) -> Position:
        """Add (``amount`` > 0, from free) or remove (< 0, back to free) an isolated position's
        margin; removing may leave no less than the position's initial margin at the mark."""
        pos = self._positions.get((account.account_id, symbol, side))
        isolated = self.settings(account.account_id, symbol).margin_mode is MarginMode.ISOLATED
        if pos is None or not pos.qty or not isolated:
            raise OrderRejected(Reason.NO_POSITION)
        asset = self.settle_asset(symbol)
        if amount >= 0:
            account.debit(asset, amount)
            pos.isolated_margin += amount
        else:
            mark = self._mark_or_entry(pos)
            keep = self.initial(pos) - min(ZERO, pos.unrealized(mark))
            if pos.isolated_margin + amount < keep:
                raise InsufficientBalance(None, asset)
            pos.isolated_margin += amount
            account.credit(asset, -amount)
        self._touch(account, asset)
        self._changed(pos, now_ms)
        return pos

    # ------------------------------------------------------------------ positions
    def position(self, account_id: int, symbol: str, side: PositionSide) -> Position:
        """The live position (created flat when unseen)."""
        key = (account_id, symbol, side)
        pos = self._positions.get(key)
        if pos is None:
            cs = self.rules[symbol].instrument.contract_size
            pos = self._positions[key] = Position(account_id, symbol, side, cs)
        return pos

    def positions_of(self, account_id: int, symbol: str | None = None) -> list[Position]:
        """The account's open positions (one symbol or all)."""
        return [
            p
            for (aid, sym, _), p in self._positions.items()
            if aid == account_id and p.qty and (symbol is None or sym == symbol)
        ]

    def open_positions(self, symbol: str | None = None) -> list[Position]:
        """Every open position (all accounts, the simulator's own included)."""
        return [p for p in self._positions.values() if p.qty and symbol in (None, p.symbol)]

    def position_side_for(self, account_id: int, symbol: str, requested: PositionSide) -> None:
        """Check ``requested`` fits the account's position mode on ``symbol``."""
        hedge = self.settings(account_id, symbol).position_mode is PositionMode.HEDGE
        if hedge == (requested is PositionSide.BOTH):
            raise OrderRejected(Reason.POSITION_SIDE_MISMATCH)

    def reduce_cap(self, account_id: int, symbol: str, order: Order) -> Decimal | None:
        """How much a reducing order may still fill (None: it may open a position).

        Reducing orders are reduce-only or close-position orders, and hedge-mode orders that
        close (SELL on LONG, BUY on SHORT): they fill at most the position's size.
        """
        side = order.position_side
        closing = (side is PositionSide.LONG and order.side is Side.SELL) or (
            side is PositionSide.SHORT and order.side is Side.BUY
        )
        if not (order.reduce_only or order.close_position or closing):
            return None
        pos = self._positions.get((account_id, symbol, side))
        if pos is None or not pos.qty:
            return ZERO
        if (pos.qty > 0) == (order.side is Side.BUY):
            return ZERO  # same direction: it would increase
        return abs(pos.qty)

    def opening_qty(self, account_id: int, symbol: str, order: Order, qty: Decimal) -> Decimal:
        """The part of ``qty`` that would open or increase a position (what needs margin)."""
        if self.reduce_cap(account_id, symbol, order) is not None:
            return ZERO
        pos = self._positions.get((account_id, symbol, order.position_side))
        if pos is None or not pos.qty or (pos.qty > 0) == (order.side is Side.BUY):
            return qty
        return max(ZERO, qty - abs(pos.qty))

    # ------------------------------------------------------------------ marks and margin
    def mark(self, symbol: str) -> Decimal | None:
        """The current mark of ``symbol`` (None before any price)."""
        return self.marks.get(symbol)

    def update_mark(self, symbol: str, index: Decimal, now_ms: int) -> Decimal:
        """Move the mark with the index (the market's price) and the premium path."""
        self.indexes[symbol] = index
        tick = self.rules[symbol].tick_size
        mark = self.marks[symbol] = self.mark_model.mark(symbol, index, now_ms, tick)
        return mark

    def _mark_or_entry(self, pos: Position) -> Decimal:
        mark = self.marks.get(pos.symbol)
        return mark if mark is not None else pos.entry_price

    def _cross(self, account_id: int, asset: str) -> list[Position]:
        return [
            p
            for p in self.positions_of(account_id)
            if self.settle_asset(p.symbol) == asset
            and self.settings(account_id, p.symbol).margin_mode is MarginMode.CROSS
        ]

    def maintenance(self, pos: Position) -> Decimal:
        """The position's maintenance margin at the mark."""
        return self.brackets(pos.symbol).maintenance_margin(pos.notional(self._mark_or_entry(pos)))

    def initial(self, pos: Position) -> Decimal:
        """The position's initial margin at the mark (notional / leverage)."""
        lev = self.settings(pos.account_id, pos.symbol).leverage
        return initial_margin(pos.notional(self._mark_or_entry(pos)), lev)

    def available(self, account: Account, asset: str) -> Decimal:
        """What new orders may lock: free plus cross unrealized PnL less cross position margin."""
        cross = self._cross(account.account_id, asset)
        upnl = sum((p.unrealized(self._mark_or_entry(p)) for p in cross), ZERO)
        used = sum((self.initial(p) for p in cross), ZERO)
        return account.free(asset) + upnl - used

    def summary(self, account: Account, asset: str) -> MarginSummary:
        """The account's margin summary in ``asset``."""
        mine = [
            p for p in self.positions_of(account.account_id) if self.settle_asset(p.symbol) == asset
        ]
        isolated = sum((p.isolated_margin for p in mine), ZERO)
        upnl = sum((p.unrealized(self._mark_or_entry(p)) for p in mine), ZERO)
        wallet = account.free(asset) + account.locked(asset) + isolated
        return MarginSummary(
            asset,
            wallet,
            upnl,
            wallet + upnl,
            max(ZERO, self.available(account, asset)),
            sum((self.initial(p) for p in mine), ZERO),
            account.locked(asset),
            sum((self.maintenance(p) for p in mine), ZERO),
        )

    def liquidation_price(self, pos: Position) -> Decimal:
        """The mark at which ``pos`` is liquidated, by :func:`margin.liquidation_price`."""
        if not pos.qty:
            return ZERO
        mark = self._mark_or_entry(pos)
        bracket = self.brackets(pos.symbol).for_notional(pos.notional(mark))
        account = self._accounts[pos.account_id]
        side = 1 if pos.qty > 0 else -1
        size = abs(pos.qty) * pos.contract_size
        common = {
            "side": side,
            "size": size,
            "entry": pos.cost / (pos.qty * pos.contract_size),
            "mmr": bracket.mmr,
            "cum": bracket.cum,
        }
        if self.settings(pos.account_id, pos.symbol).margin_mode is MarginMode.ISOLATED:
            return liquidation_price(wallet=pos.isolated_margin, **common)  # type: ignore[arg-type]
        asset = self.settle_asset(pos.symbol)
        others = [p for p in self._cross(pos.account_id, asset) if p is not pos]
        return liquidation_price(
            wallet=account.free(asset) + account.locked(asset),
            other_mm=sum((self.maintenance(p) for p in others), ZERO),
            other_upnl=sum((p.unrealized(self._mark_or_entry(p)) for p in others), ZERO),
            **common,  # type: ignore[arg-type]
        )

    def view(self, pos: Position, now_ms: int) -> PositionView:
        """The query/event view of ``pos``."""
        settings = self.settings(pos.account_id, pos.symbol)
        mark = self._mark_or_entry(pos)
        return PositionView(
            pos.account_id,
            pos.symbol,
            pos.side,
            pos.qty,
            pos.entry_price,
            mark,
            pos.unrealized(mark),
            pos.realized_pnl,
            self.liquidation_price(pos),
            settings.leverage,
            settings.margin_mode,
            pos.isolated_margin,
            pos.notional(mark),
            self.initial(pos),
            self.maintenance(pos),
            self.settle_asset(pos.symbol),
            now_ms,
        )

    # ------------------------------------------------------------------ money movements
    def _touch(self, account: Account, asset: str) -> None:
        if not account.internal:
            self.touched.setdefault(account.account_id, set()).add(asset)

    def _changed(self, pos: Position, now_ms: int) -> None:
        pos.update_time_ms = now_ms
        if not self._accounts[pos.account_id].internal:
            self.changed.add((pos.account_id, pos.symbol, pos.side))

    def credit(self, account: Account, asset: str, amount: Decimal) -> None:
        """Credit ``amount`` (>= 0)."""
        account.credit(asset, amount)
        self._touch(account, asset)

    def charge(
        self, account: Account, asset: str, amount: Decimal, pos: Position, now_ms: int
    ) -> Decimal:
        """Take ``amount`` from the account's free balance; the insurance fund pays what it
        lacks (returned, and reported as a BANKRUPTCY liquidation event)."""
        take = min(account.free(asset), amount)
        account.debit(asset, take)
        self._touch(account, asset)
        short = amount - take
        if short > 0:
            self.insurance.debit(asset, short)
            if not account.internal:
                self.events.append(
                    (
                        f"sim.liquidation.{account.account_id}",
                        LiquidationEvent(
                            account.account_id,
                            pos.symbol,
                            pos.side,
                            pos.qty,
                            self._mark_or_entry(pos),
                            self._mark_or_entry(pos),
                            LiquidationReason.BANKRUPTCY,
                            short,
                            now_ms,
                        ),
                    )
                )
        return short

    def apply_fill(
        self,
        account: Account,
        order: Order,
        *,
        price: Decimal,
        qty: Decimal,
        fee: Decimal,
        fee_account: Account,
        now_ms: int,
    ) -> Decimal:
        """Book a fill of ``order`` on its position: realized PnL, fee, isolated margin.

        Returns the realized PnL. The order's own margin was released by the caller.
        """
        symbol = order.symbol
        asset = self.settle_asset(symbol)
        pos = self.position(account.account_id, symbol, order.position_side)
        signed = qty if order.side is Side.BUY else -qty
        effect = pos.apply(signed, price)
        if effect.released_margin:
            self.credit(account, asset, effect.released_margin)
        if effect.realized > 0:
            self.credit(account, asset, effect.realized)
        elif effect.realized < 0:
            self.charge(account, asset, -effect.realized, pos, now_ms)
        if fee:
            self.charge(account, asset, fee, pos, now_ms)
            fee_account.credit(asset, fee)
        settings = self.settings(account.account_id, symbol)
        if effect.opened and settings.margin_mode is MarginMode.ISOLATED:
            want = initial_margin(effect.opened * pos.contract_size * price, settings.leverage)
            margin = min(account.free(asset), want)
            account.debit(asset, margin)
            pos.isolated_margin += margin
            self._touch(account, asset)
        if symbol not in self.marks:
            self.marks[symbol] = price
        self._changed(pos, now_ms)
        return effect.realized

    def transfer(self, pos: Position, to: Account, price: Decimal, now_ms: int) -> Decimal:
        """Move ``pos`` whole to ``to`` (the insurance fund) at ``price``; return what the fund
        paid for the account's shortfall."""
        account = self._accounts[pos.account_id]
        asset = self.settle_asset(pos.symbol)
        qty = pos.qty
        effect = pos.apply(-qty, price)
        if effect.released_margin:
            self.credit(account, asset, effect.released_margin)
        short = ZERO
        if effect.realized > 0:
            self.credit(account, asset, effect.realized)
        elif effect.realized < 0:
            take = min(account.free(asset), -effect.realized)
            account.debit(asset, take)
            self._touch(account, asset)
            short = -effect.realized - take
            if short:
                self.insurance.debit(asset, short)
        taker = self.position(to.account_id, pos.symbol, PositionSide.BOTH)
        got = taker.apply(qty, price)
        if got.realized > 0:
            to.credit(asset, got.realized)
        elif got.realized < 0:
            to.debit(asset, -got.realized)
        self._changed(pos, now_ms)
        return short

    # ------------------------------------------------------------------ funding
    def fund(self, symbol: str, now_ms: int) -> list[int]:
        """Pay funding for every funding time of ``symbol`` up to ``now_ms``; return them."""
        times = funding_times(self.funded_until[symbol], now_ms)
        self.funded_until[symbol] = max(self.funded_until[symbol], now_ms)
        mark = self.marks.get(symbol)
        if mark is None:
            return []
        asset = self.settle_asset(symbol)
        for t in times:
            rate = funding_rate(self.mark_model.premium(symbol, t))
            history = self.funding_history.setdefault(symbol, [])
            history.append((t, rate, mark))
            del history[:-1000]
            for pos in self.open_positions(symbol):
                account = self._accounts[pos.account_id]
                amount = funding_payment(pos.qty, pos.contract_size, mark, rate)
                if amount > 0:
                    self.credit(account, asset, amount)
                elif amount < 0:
                    self.charge(account, asset, -amount, pos, t)
                if not account.internal and amount:
                    self.events.append(
                        (
                            f"sim.funding.{account.account_id}",
                            FundingEvent(
                                account.account_id,
                                symbol,
                                pos.side,
                                pos.qty,
                                mark,
                                rate,
                                amount,
                                asset,
                                t,
                            ),
                        )
                    )
                    self._changed(pos, t)
        return times

    def next_rate(self, symbol: str, now_ms: int) -> Decimal:
        """The funding rate the premium implies now (what the next funding would charge)."""
        return funding_rate(self.mark_model.premium(symbol, now_ms))

    # ------------------------------------------------------------------ publishing
    def drain(self, now_ms: int) -> list[tuple[str, object]]:
        """Return the pending events: funding and liquidations, then position views and the
        settlement-asset balances that changed (``sim.position.<id>``, ``sim.balance.<id>``)."""
        from real_trade.sim.types import BalanceEvent

        out, self.events = self.events, []
        for key in sorted(self.changed, key=lambda k: (k[0], k[1], k[2].value)):
            pos = self._positions[key]
            out.append((f"sim.position.{key[0]}", self.view(pos, now_ms)))
        self.changed = set()
        for account_id, assets in sorted(self.touched.items()):
            acct = self._accounts[account_id]
            snap = {a: (acct.free(a), acct.locked(a)) for a in sorted(assets)}
            out.append((f"sim.balance.{account_id}", BalanceEvent(account_id, snap, now_ms)))
        self.touched = {}
        return out
