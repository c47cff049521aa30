"""A derivatives account as the exchange holds it: the wallet and the positions per contract.

On spot the account is its balances and a position is a base-asset holding. On a perpetual the
exchange keeps the position itself (signed size, entry price, unrealized PnL at the mark,
liquidation price) and the cash is the wallet balance (deposits plus realized PnL, less fees and
funding). :class:`ContractAccount` is that view, the same for paper (the simulator's
derivatives core in-process) and live (ccxt's ``fetch_positions`` and ``fetch_balance``, read by
:func:`contract_account_of`); an :class:`~real_trade.execution.events.ExecutionPort` trading
contracts offers it as ``contract_account()``.

A funding payment is a :class:`FundingPayment` on ``funding``; a liquidation a
:class:`Liquidation` on ``liquidation`` (the order event of the closing order carries the reason).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FUNDING_REASON",
    "FUNDING_TOPIC",
    "LIQUIDATION_TOPIC",
    "ContractAccount",
    "ContractPosition",
    "FundingPayment",
    "Liquidation",
    "contract_account_of",
    "wallet_update",
]

FUNDING_REASON = "FUNDING_FEE"
"""Binance's reason of an ``ACCOUNT_UPDATE`` that pays funding."""

FUNDING_TOPIC = "funding"
"""The bus topic of :class:`FundingPayment`."""
LIQUIDATION_TOPIC = "liquidation"
"""The bus topic of :class:`Liquidation`."""


@dataclass(frozen=True, slots=True)
class ContractPosition:
    """One contract's position: ``size`` signed in base units (short < 0), ``entry_price``,
    ``unrealized_pnl`` at ``mark_price``, the ``liquidation_price`` (None: none), the
    ``leverage`` and ``margin_mode`` of the contract."""

    symbol: str
    size: float
    entry_price: float
    unrealized_pnl: float = 0.0
    mark_price: float | None = None
    liquidation_price: float | None = None
    leverage: float | None = None
    margin_mode: str | None = None

    @property
    def notional(self) -> float:
        """``|size|`` at the mark (the entry price when the mark is unknown)."""
        return abs(self.size) * (self.mark_price or self.entry_price)


@dataclass(frozen=True, slots=True)
class ContractAccount:
    """A derivatives account in its settlement ``currency``: ``wallet`` balance, what new
    orders may use (``available``), the maintenance margin, and the open ``positions`` by
    unified symbol. ``current`` is False while a refresh asked for after the latest fill has not
    answered yet (the positions may lag the fills)."""

    currency: str
    wallet: float
    available: float | None = None
    maintenance_margin: float | None = None
    positions: Mapping[str, ContractPosition] = field(default_factory=dict)
    time_ms: int = 0
    current: bool = True

    @property
    def unrealized_pnl(self) -> float:
        """The positions' unrealized PnL summed."""
        return sum(p.unrealized_pnl for p in self.positions.values())

    @property
    def margin_balance(self) -> float:
        """Wallet plus unrealized PnL: the account's value."""
        return self.wallet + self.unrealized_pnl

    @property
    def margin_ratio(self) -> float | None:
        """Maintenance margin over margin balance (1 = liquidation), None when unknown."""
        if self.maintenance_margin is None or self.margin_balance <= 0:
            return None
        return self.maintenance_margin / self.margin_balance

    def position(self, symbol: str) -> ContractPosition | None:
        """The open position of ``symbol``, or None when flat."""
        return self.positions.get(symbol)


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """A funding payment on ``symbol``: ``amount`` > 0 received, < 0 paid, in ``asset``, at
    ``rate`` on a position of ``size`` valued at ``mark_price`` (None: the venue's account
    update does not say). ``strategy`` names the run."""

    symbol: str
    amount: float
    asset: str
    rate: float | None
    size: float | None
    mark_price: float | None
    time_ms: int
    strategy: str = ""

    @property
    def topic(self) -> str:
        """The bus topic this event is published on."""
        return FUNDING_TOPIC


@dataclass(frozen=True, slots=True)
class Liquidation:
    """The exchange liquidated ``size`` (signed, the position closed) of ``symbol`` at
    ``price`` (mark ``mark_price``) for ``reason``. ``strategy`` names the run."""

    symbol: str
    size: float
    price: float
    mark_price: float
    reason: str
    time_ms: int
    strategy: str = ""

    @property
    def topic(self) -> str:
        """The bus topic this event is published on."""
        return LIQUIDATION_TOPIC


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def contract_account_of(
    balance: Mapping[str, Any],
    positions: Iterable[Mapping[str, Any]],
    currency: str,
    *,
    time_ms: int = 0,
) -> ContractAccount:
    """The account from ccxt's ``fetch_balance`` and ``fetch_positions`` answers.

    The wallet is the venue's own figure where the answer carries it (Binance's
    ``walletBalance``, or ``balance`` of ``/fapi/v2/balance``; Bybit's ``walletBalance``; OKX's
    ``cashBal``); else ccxt's total, which for a
    derivatives wallet is the margin balance, less the positions' unrealized PnL (two reads
    apart: the mark may move between them). ``free`` is the available balance. A position's
    size is contracts times the contract size, negative when short.
    """
    rows: dict[str, ContractPosition] = {}
    maintenance = 0.0
    for row in positions:
        contracts = _num(row.get("contracts")) or 0.0
        size = contracts * (_num(row.get("contractSize")) or 1.0)
        if not size:
            continue
        size = -size if row.get("side") == "short" else size
        symbol = str(row.get("symbol"))
        maintenance += _num(row.get("maintenanceMargin")) or 0.0
        liquidation = _num(row.get("liquidationPrice"))
        rows[symbol] = ContractPosition(
            symbol,
            size,
            _num(row.get("entryPrice")) or 0.0,
            _num(row.get("unrealizedPnl")) or 0.0,
            _num(row.get("markPrice")),
            liquidation if liquidation else None,
            _num(row.get("leverage")),
            row.get("marginMode"),
        )
    total = _num((balance.get("total") or {}).get(currency)) or 0.0
    free = _num((balance.get("free") or {}).get(currency))
    upnl = sum(p.unrealized_pnl for p in rows.values())
    wallet = _venue_wallet(balance.get("info"), currency)
    wallet = total - upnl if wallet is None else wallet
    return ContractAccount(currency, wallet, free, maintenance, rows, time_ms)


def _venue_wallet(info: Any, currency: str) -> float | None:
    """The wallet balance of ``currency`` in a venue's raw balance answer, when it has one:
    Binance's ``assets[].walletBalance`` (or ``balance``), Bybit's
    ``result.list[].coin[].walletBalance``, OKX's ``data[].details[].cashBal``."""
    for entry in _balance_entries(info):
        if entry.get("asset") == currency:
            return _num(entry.get("walletBalance", entry.get("balance")))
        if entry.get("coin") == currency and "walletBalance" in entry:
            return _num(entry.get("walletBalance"))
        if entry.get("ccy") == currency and "cashBal" in entry:
            return _num(entry.get("cashBal"))
    return None


def _balance_entries(info: Any) -> list[Mapping[str, Any]]:
    """The per-asset rows of a raw balance answer (Binance, Bybit v5, OKX v5)."""
    if isinstance(info, list):
        rows: list[Any] = info
    elif isinstance(info, Mapping):
        rows = list(info.get("assets") or [])
        accounts = (info.get("result") or {}).get("list") or []
        accounts += [a for a in info.get("data") or [] if isinstance(a, Mapping)]
        for account in accounts:
            if isinstance(account, Mapping):
                rows += list(account.get("coin") or account.get("details") or [])
    else:
        return []
    return [row for row in rows if isinstance(row, Mapping)]


def wallet_update(info: Any) -> tuple[str, dict[str, tuple[float, float]], list[str]] | None:
    """A Binance futures ``ACCOUNT_UPDATE`` (ccxt's balance ``info``): its reason, each asset's
    ``(wallet balance, balance change)`` and the venue ids of the positions it carries; None for
    anything else."""
    if not isinstance(info, Mapping) or info.get("e") != "ACCOUNT_UPDATE":
        return None
    update = info.get("a") or {}
    wallets: dict[str, tuple[float, float]] = {}
    for row in update.get("B") or []:
        wallet = _num(row.get("wb"))
        if wallet is not None:
            wallets[str(row.get("a"))] = (wallet, _num(row.get("bc")) or 0.0)
    ids = [str(p.get("s")) for p in update.get("P") or [] if p.get("s")]
    return str(update.get("m") or ""), wallets, ids
