"""``OrderRouter`` (seed 003): send each order to the venue account that trades its symbol.

An account is a store (:class:`~real_trade.stores.basestore.BaseStore`: one connection per venue,
key and environment); a broker may be given for its store. Each account either trades every
symbol its venue lists, or only the ``symbols`` it was added with (an explicit assignment wins
over a venue merely listing the symbol). :meth:`OrderRouter.route` answers which account trades a
symbol; :meth:`OrderRouter.place_order`, :meth:`OrderRouter.cancel_order` and
:meth:`OrderRouter.get_order_status` act through it, with the venue client's own guarantees
(precision, client order ids, never resending an order whose outcome is unknown). Risk checks
are not the router's business: put the pre-trade ``RiskEngine`` in front of it.

Today's venues are one account per exchange (the simulator speaks Binance); several venues
route the same way: ``BTC/USDT`` listed on two accounts needs ``venue=`` or explicit symbols.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from real_trade.errors import BadSymbolError, ConfigError

if TYPE_CHECKING:
    from real_trade.stores.basestore import BaseStore

__all__ = ["OrderRouter", "Route"]


@dataclass(frozen=True)
class Route:
    """Where an order goes: the account's ``name``, its ``store`` and the venue's ``symbol``."""

    name: str
    store: BaseStore = field(repr=False)
    symbol: str


@dataclass
class _Account:
    name: str
    store: BaseStore
    symbols: tuple[str, ...] | None  # None: every symbol the venue lists
    _resolved: frozenset[str] | None = None

    @property
    def venue(self) -> str:
        spec = self.store.venue
        return spec.name if spec is not None else type(self.store).__name__

    def unified(self, symbol: str) -> str:
        """The venue's unified symbol for ``symbol``; BadSymbolError if it does not list it."""
        return self.store.client.symbol_of(symbol)

    def assigned(self) -> frozenset[str]:
        if self._resolved is None:
            self._resolved = frozenset(self.unified(s) for s in self.symbols or ())
        return self._resolved


class OrderRouter:
    """Routes orders to the venue account (store) that trades their symbol (seed 003).

    ``accounts``: stores (or brokers, for their store) trading every symbol their venue lists;
    :meth:`add_account` adds one with a name and an explicit symbol list. Thread-safe.
    """

    def __init__(self, accounts: Iterable[Any] = ()) -> None:
        """Route to ``accounts`` (stores or brokers); more can be added later."""
        self._lock = threading.Lock()
        self._accounts: list[_Account] = []
        for account in accounts:
            self.add_account(account)

    # ------------------------------------------------------------------ accounts
    def add_account(
        self, account: Any, *, name: str | None = None, symbols: Iterable[str] | None = None
    ) -> str:
        """Add a store (or a broker's store); return its name (default: the venue's name).

        ``symbols``: route only these symbols to it (checked against the venue when first
        routing); None: every symbol its venue lists. Raises ConfigError for something that
        is no venue account, or a name already taken.
        """
        store = _store_of(account)
        listed = None if symbols is None else tuple(str(s) for s in symbols)
        if listed is not None and not listed:
            raise ConfigError(
                "an account added with symbols=[] would never be routed anything",
                field="symbols",
                fix="list its symbols, or pass symbols=None for every symbol its venue lists",
            )
        with self._lock:
            base = name or (store.venue.name if store.venue is not None else "account")
            label = base
            taken = {a.name for a in self._accounts}
            if name is not None and name in taken:
                raise ConfigError(f"an account named {name!r} is already routed", field="name")
            n = 2
            while label in taken:
                label, n = f"{base}-{n}", n + 1
            self._accounts.append(_Account(label, store, listed))
        return label

    @property
    def accounts(self) -> Mapping[str, BaseStore]:
        """The routed accounts by name, in the order they were added."""
        with self._lock:
            return {a.name: a.store for a in self._accounts}

    # ------------------------------------------------------------------ routing
    def route(self, symbol: str, *, venue: str | None = None) -> Route:
        """The account that trades ``symbol`` (a unified symbol or venue id), and its symbol.

        ``venue`` (an account name or a venue name such as ``"binance"``) narrows the choice.
        An account given ``symbols`` wins for those; otherwise the one account whose venue
        lists the symbol. BadSymbolError when none does (with each venue's closest symbols);
        ConfigError, naming them, when several do and nothing says which.
        """
        with self._lock:
            accounts = list(self._accounts)
        if not accounts:
            raise ConfigError(
                f"no account to route {symbol!r} to", fix="OrderRouter([store]) or add_account()"
            )
        if venue is not None:
            accounts = [a for a in accounts if venue in (a.name, a.venue)]
            if not accounts:
                raise ConfigError(
                    f"no routed account is named or trades on {venue!r}",
                    field="venue",
                    fix=f"one of {', '.join(self.accounts)}",
                )
        assigned: list[Route] = []
        listing: list[Route] = []
        misses: list[str] = []
        for account in accounts:
            try:
                unified = account.unified(symbol)
            except BadSymbolError as exc:
                misses.append(f"{account.name}: {exc}")
                continue
            if account.symbols is None:
                listing.append(Route(account.name, account.store, unified))
            elif unified in account.assigned():
                assigned.append(Route(account.name, account.store, unified))
        for candidates in (assigned, listing):
            if len(candidates) == 1:
                return candidates[0]
            if len(candidates) > 1:
                names = ", ".join(r.name for r in candidates)
                raise ConfigError(
                    f"{symbol!r} is traded by several accounts ({names})",
                    field="venue",
                    fix="pass venue=<account name>, or add each account with its symbols=",
                )
        reason = "; ".join(misses) if misses else "it is not among the accounts' symbols"
        raise BadSymbolError(f"no routed account trades {symbol!r}: {reason}")

    # ------------------------------------------------------------------ orders
    def place_order(
        self,
        symbol: str,
        side: str,
        amount: float,
        order_type: str = "market",
        price: float | None = None,
        *,
        venue: str | None = None,
        client_order_id: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Place an order on the account that trades ``symbol``; return the venue's order.

        The venue's ccxt order dict, plus ``account``: the name of the account it went to.
        Errors are the venue client's (InsufficientFundsError, InvalidOrderError, ...).
        """
        route = self.route(symbol, venue=venue)
        order = route.store.client.create_order(
            route.symbol,
            order_type,
            side,
            amount,
            price,
            client_order_id=client_order_id,
            params=params,
        )
        return {**order, "account": route.name}

    def cancel_order(
        self, order_id: str, symbol: str, *, venue: str | None = None
    ) -> dict[str, Any]:
        """Cancel ``order_id`` on the account that trades ``symbol``."""
        route = self.route(symbol, venue=venue)
        return {**route.store.client.cancel_order(order_id, route.symbol), "account": route.name}

    def get_order_status(self, order_id: str, symbol: str, *, venue: str | None = None) -> str:
        """The venue's status of ``order_id`` (ccxt's ``open``, ``closed``, ``canceled``...)."""
        route = self.route(symbol, venue=venue)
        return str(route.store.client.fetch_order(order_id, route.symbol)["status"])


def _store_of(account: Any) -> BaseStore:
    from real_trade.stores.basestore import BaseStore

    if isinstance(account, BaseStore):
        return account
    store = getattr(account, "store", None)
    if isinstance(store, BaseStore):
        return store
    raise ConfigError(
        f"{type(account).__name__} is not a venue account",
        field="account",
        fix="pass a store (BinanceStore(...)) or a broker built on one",
    )
