"""Simulator accounts: balances (free/locked per asset), fees, API keys and exact settlement.

Every balance movement goes through four primitives that keep the invariants (free >= 0,
locked >= 0) or raise :class:`~real_trade.sim.types.InsufficientBalance` without changing
anything: :meth:`Account.lock`, :meth:`Account.unlock`, :meth:`Account.spend_locked` and
:meth:`Account.credit`. Commission follows Binance's default without BNB: the buyer pays it in
the base asset, the seller in the quote asset, rounded down to the commission precision
(:func:`commission`). API keys and secrets are 64 characters like Binance's and never appear
in a repr. :class:`AccountBook` is the exchange's registry of accounts (users by API key, and
the simulator's own internal accounts).
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from real_trade.sim.params import to_decimal
from real_trade.sim.types import ZERO, InsufficientBalance

__all__ = [
    "Account",
    "AccountBook",
    "Balance",
    "commission",
    "generate_key",
    "unified_balances",
    "wallet_balances",
]

_KEY_ALPHABET = string.ascii_letters + string.digits


def generate_key(rng: random.Random, length: int = 64) -> str:
    """Return a Binance-like key of ``length`` letters and digits drawn from ``rng``.

    Pass a seeded ``random.Random`` for reproducible runs, or ``random.SystemRandom()`` for keys
    nobody can predict.
    """
    return "".join(rng.choices(_KEY_ALPHABET, k=length))


def commission(amount: Decimal, rate: Decimal, precision: int) -> Decimal:
    """Return ``amount * rate`` rounded down to ``precision`` decimals (0 when the rate is 0)."""
    if not rate:
        return ZERO
    return (amount * rate).quantize(Decimal(1).scaleb(-precision), rounding=ROUND_DOWN)


@dataclass(slots=True)
class Balance:
    """One asset's balance: ``free`` to trade or withdraw, ``locked`` by open orders."""

    free: Decimal = ZERO
    locked: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        """``free + locked``."""
        return self.free + self.locked


@dataclass(slots=True)
class Account:
    """A trading account of the simulator: balances, fee rates, permissions and API credentials.

    ``internal`` marks the simulator's own accounts (liquidity provider, flow, fee collector):
    they are hidden from user views and publish no events. ``api_key`` and ``secret`` are kept
    out of the repr. Balance primitives raise :class:`InsufficientBalance` and leave the account
    unchanged when an invariant would break.
    """

    account_id: int
    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    balances: dict[str, Balance] = field(default_factory=dict)
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    permissions: tuple[str, ...] = ("SPOT",)
    can_trade: bool = True
    can_withdraw: bool = True
    can_deposit: bool = True
    internal: bool = False
    opening: dict[str, Decimal] = field(default_factory=dict, repr=False)
    """What the account was opened with (a face showing two cores' wallets as one uses it to
    count money funded into both only once)."""

    def balance(self, asset: str) -> Balance:
        """Return the live :class:`Balance` of ``asset`` (created at zero if unseen)."""
        bal = self.balances.get(asset)
        if bal is None:
            bal = self.balances[asset] = Balance()
        return bal

    def free(self, asset: str) -> Decimal:
        """Return the free amount of ``asset``."""
        bal = self.balances.get(asset)
        return bal.free if bal is not None else ZERO

    def locked(self, asset: str) -> Decimal:
        """Return the locked amount of ``asset``."""
        bal = self.balances.get(asset)
        return bal.locked if bal is not None else ZERO

    def credit(self, asset: str, amount: Decimal) -> None:
        """Add ``amount`` (>= 0) to the free balance of ``asset``."""
        if amount < 0:
            raise ValueError(f"credit amount must be >= 0, got {amount}")
        if amount:
            self.balance(asset).free += amount

    def debit(self, asset: str, amount: Decimal) -> None:
        """Take ``amount`` (>= 0) from the free balance; InsufficientBalance if it is short."""
        if amount < 0:
            raise ValueError(f"debit amount must be >= 0, got {amount}")
        bal = self.balance(asset)
        if bal.free < amount:
            raise InsufficientBalance(None, asset)
        bal.free -= amount

    def lock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from free to locked; InsufficientBalance if free is short."""
        if amount < 0:
            raise ValueError(f"lock amount must be >= 0, got {amount}")
        bal = self.balance(asset)
        if bal.free < amount:
            raise InsufficientBalance(None, asset)
        bal.free -= amount
        bal.locked += amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from locked back to free; InsufficientBalance if locked is short."""
        if amount < 0:
            raise ValueError(f"unlock amount must be >= 0, got {amount}")
        bal = self.balance(asset)
        if bal.locked < amount:
            raise InsufficientBalance(None, asset)
        bal.locked -= amount
        bal.free += amount

    def spend_locked(self, asset: str, amount: Decimal, refund: Decimal = ZERO) -> None:
        """Consume ``amount`` of locked ``asset``, returning ``refund`` of it to free.

        Used by settlement: ``amount`` is what the order had reserved for this fill and
        ``refund`` the part it did not need (price improvement on a buy). The amount actually
        leaving the account is ``amount - refund``.
        """
        if amount < 0 or refund < 0 or refund > amount:
            raise ValueError(f"bad spend_locked amounts {amount} / {refund}")
        bal = self.balance(asset)
        if bal.locked < amount:
            raise InsufficientBalance(None, asset)
        bal.locked -= amount
        bal.free += refund

    def snapshot(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Return ``{asset: (free, locked)}`` for every asset the account has seen."""
        return {asset: (b.free, b.locked) for asset, b in self.balances.items()}


class AccountBook:
    """The exchange's accounts by id (users and internal ones) and the users by API key.

    User ids start at ``first_user_id``; keys and secrets not given are drawn from ``rng``.
    It holds no lock: the exchange core calls it under its own. :attr:`by_id` is the mapping
    the matching engines look resting orders' owners up in.
    """

    def __init__(self, rng: random.Random, first_user_id: int = 1001) -> None:
        """Create an empty book."""
        self.by_id: dict[int, Account] = {}
        self._by_key: dict[str, Account] = {}
        self._rng = rng
        self._next_id = first_user_id

    def internal(self, account_id: int) -> Account:
        """Add one of the simulator's own accounts: no fees, no keys, no events."""
        acct = Account(account_id, "", "", maker_fee=ZERO, taker_fee=ZERO, internal=True)
        self.by_id[account_id] = acct
        return acct

    def open(
        self,
        balances: Mapping[str, Decimal | str | float | int],
        maker_fee: Decimal,
        taker_fee: Decimal,
        api_key: str | None = None,
        secret: str | None = None,
    ) -> Account:
        """Open a user account with starting ``balances``; ``ValueError`` if the key is taken."""
        key = api_key if api_key is not None else generate_key(self._rng)
        sec = secret if secret is not None else generate_key(self._rng)
        if key in self._by_key:
            raise ValueError("api_key is already used by another account")
        acct = Account(
            self._next_id, key, sec, maker_fee=Decimal(maker_fee), taker_fee=Decimal(taker_fee)
        )
        self._next_id += 1
        for asset, amount in balances.items():
            acct.credit(asset, to_decimal(amount, asset))
            acct.opening[asset] = acct.opening.get(asset, ZERO) + to_decimal(amount, asset)
        self.by_id[acct.account_id] = acct
        self._by_key[key] = acct
        return acct

    def by_key(self, api_key: str) -> Account | None:
        """The user account with this API key, or None."""
        return self._by_key.get(api_key)

    def users(self) -> list[Account]:
        """The user accounts (not the simulator's own), by id."""
        return [a for a in self.by_id.values() if not a.internal]


def unified_balances(
    wallets: Sequence[tuple[Mapping[str, tuple[Decimal, Decimal]], Mapping[str, Decimal]]],
) -> dict[str, tuple[Decimal, Decimal]]:
    """One unified account's ``{asset: (free, locked)}`` over the wallets it spans in several
    cores (``(balances, opening)`` of each, spot first): the wallets summed, the money opened
    in both of two wallets (the smaller opening) counted once, taken from ``free``."""
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for balances, _ in wallets:
        for asset, (free, locked) in balances.items():
            f0, l0 = totals.get(asset, (ZERO, ZERO))
            totals[asset] = (f0 + free, l0 + locked)
    if len(wallets) == 2:
        first, second = wallets[0][1], wallets[1][1]
        for asset, amount in first.items():
            twice = min(amount, second.get(asset, ZERO))
            if twice and asset in totals:
                free, locked = totals[asset]
                totals[asset] = (free - twice, locked)
    return totals


def wallet_balances(core: Any, account: Account) -> dict[str, tuple[Decimal, Decimal]]:
    """``core.balances(account)``; on a core trading contracts each asset as its margin wallet:
    ``(available, wallet - available)``, so that free + locked is the wallet balance with the
    isolated margin in it (what Bybit's ``walletBalance`` and OKX's ``cashBal`` report)."""
    balances: dict[str, tuple[Decimal, Decimal]] = dict(core.balances(account))
    if not getattr(core.ledger, "rules", None):
        return balances
    for asset in list(balances):
        summary = core.margin_summary(account, asset)
        free = min(summary.available_balance, summary.wallet_balance)
        balances[asset] = (free, summary.wallet_balance - free)
    return balances
