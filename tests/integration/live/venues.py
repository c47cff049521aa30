"""The venues the live suite runs on: one ``Venue`` record each, so a test reads the same for all.

A live test takes a ``venue`` (parametrised with :func:`venue_params`, ids such as
``bybit-spot``, so a failure names the venue) and asks it for everything venue-specific: the
simulator serving its face (:meth:`Venue.simulator`), a fresh account
(:meth:`Venue.create_account`), a store and a live broker on it, the unified and the core's
symbol, and the venue's own words for a refusal. Faults are injected the same way on every face
(``sim.faults``: :class:`~real_trade.sim.faults.FaultPlan` is shared by all faces).

Where a venue truly differs the record says so (a field), never a silent skip in a test.
Linear perpetuals (``market="perp"`` records in :data:`PERP_VENUES`, ids like ``okx-perp``)
trade ``BTC/USDT:USDT`` from the account's futures wallet on the simulator's
:attr:`~real_trade.sim.SimExchange.futures_core` (:meth:`Venue.core`); what the broker shows as
cash and position is then the wallet balance and the position (:meth:`Venue.holdings`).

Modelled on hummingbot's shared connector test suite: the scenarios are written once, each
venue supplies only its facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from real_trade.brokers import BinanceBroker, BybitBroker, OKXBroker
from real_trade.brokers.basebroker import BaseBroker
from real_trade.bus import EventBus
from real_trade.feeds import BaseData, BinanceData, BybitData, OKXData
from real_trade.sim import Account, ExchangeCore, SimExchange
from real_trade.sim.okx.auth import DEFAULT_PASSPHRASE
from real_trade.sim.plumbing.ratelimit import RateLimiter
from real_trade.stores import BaseStore, BinanceStore, BybitStore, OKXStore
from real_trade.venues import VenueClient

__all__ = ["ALL_VENUES", "PERP_VENUES", "SPOT_VENUES", "Venue", "venue_params"]


@dataclass(frozen=True)
class Venue:
    """One venue and market as the live suite trades it on the simulator.

    ``face`` is the simulator face serving the market (``SimExchange(faces=[face])``),
    ``faces`` every face the simulator serves when the venue needs more than one (Binance's
    USDⓈ-M store also reads spot); ``store``/``broker``/``data`` the venue's classes;
    ``symbol`` the unified symbol the strategy trades, ``core_symbol`` the simulator core's id
    for it; ``store_kwargs`` what the store needs beyond key and secret (OKX's passphrase, a
    perpetual's ``market_type``); ``futures_balances`` what the account's second (perpetual)
    wallet holds when the face keeps one under the same key (OKX's unified account sums both
    wallets, so a spot test funds that one with nothing; a perpetual funds its futures wallet
    with a test's balances and its spot wallet with nothing). The ``*_reason`` fields are the
    venue's words for
    a refusal, as the strategy reads them in ``order.info["reason"]``.
    ``cancel_path`` is the REST path of a cancel, for faults aimed at it
    (``sim.faults.fail_next(n, "503", path_prefix=venue.cancel_path)``).
    ``stream_sends_before_market_moves``: the feed's live source delivers the forming bar as
    soon as it subscribes (Binance's native kline source); the ccxt source (Bybit, OKX) hears
    nothing until a stepped market moves, so a test waits on its ``connected`` state instead.
    ``min_notional_checked_here`` says whether the broker itself refuses an order below the
    minimum value (ccxt's market carries ``limits.cost.min``) so that it never reaches the
    exchange; where it does not (OKX: its instruments have no minimum value, only ``minSz``),
    the order is sent and the exchange refuses it with ``min_notional_reason``.
    ``says_expired``: the venue's order states tell an order the exchange ended itself (an IOC
    remainder, a reduce-only order whose position is gone: the simulator's EXPIRED) from one
    cancelled; Binance says EXPIRED, Bybit (``Cancelled``) and OKX (``canceled``) say cancelled
    for both, so the broker and the journal record CANCELED there.
    """

    venue: str
    market: str
    face: str
    store: type[BaseStore]
    broker: type[BaseBroker]
    data: type[BaseData]
    symbol: str = "BTC/USDT"
    core_symbol: str = "BTCUSDT"
    store_kwargs: Mapping[str, Any] = field(default_factory=dict)
    futures_balances: Mapping[str, float] | None = None
    insufficient_reason: str = ""
    price_filter_reason: str = ""
    min_notional_reason: str = "below the minimum order value 5"
    min_notional_checked_here: bool = True
    cancel_path: str = ""
    stream_sends_before_market_moves: bool = False
    says_expired: bool = True
    faces: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The parameter id, e.g. ``bybit-spot``: every failure names it."""
        return f"{self.venue}-{self.market}"

    @property
    def perp(self) -> bool:
        """True for a linear perpetual: the account trades from its futures wallet."""
        return self.market == "perp"

    def simulator(self, **kwargs: Any) -> SimExchange:
        """A simulator serving this venue's faces (not started: use it as a context manager)."""
        return SimExchange(faces=list(self.faces or (self.face,)), **kwargs)

    def create_account(self, sim: SimExchange, balances: Mapping[str, float]) -> tuple[str, str]:
        """A fresh account on ``sim`` holding ``balances`` (a perpetual: in its futures wallet,
        the spot wallet empty); its ``(api_key, secret)``."""
        if self.perp:
            return sim.create_account({}, futures_balances=balances)
        if self.futures_balances is None:
            return sim.create_account(balances)
        return sim.create_account(balances, futures_balances=self.futures_balances)

    def core(self, sim: SimExchange) -> ExchangeCore:
        """The simulator core that holds this market's orders, trades and account."""
        core = sim.futures_core if self.perp else sim.core
        assert core is not None, f"{self.id}: the simulator serves no perpetuals"
        return core

    def account(self, sim: SimExchange, key: str) -> Account:
        """The account of ``key`` on :meth:`core`."""
        account = self.core(sim).account_by_key(key)
        assert account is not None, f"{self.id}: no account for the key"
        return account

    def counterparty(self, sim: SimExchange) -> Account:
        """Another account on :meth:`core` able to sell a thousand BTC into the book (spot: it
        holds them; a perpetual: margin enough to go that short)."""
        key, _ = self.create_account(sim, {"USDT": 1e9} if self.perp else {"BTC": 1_000})
        return self.account(sim, key)  # through the simulator: one key on both cores

    def limiter(self, sim: SimExchange) -> RateLimiter:
        """The rate limiter of the face serving this market (it counts the orders sent)."""
        (limiter,) = [f.limiter for f in sim.faces if f.name == self.face]
        assert limiter is not None, f"{self.id}: the face has no rate limiter"
        return limiter

    def holdings(self, sim: SimExchange, key: str) -> tuple[float, float]:
        """``(cash, position)`` of the account as the exchange has them, which the broker must
        show: spot, the USDT and BTC totals (free plus locked); a perpetual, the wallet
        balance and the position's signed size."""
        core, account = self.core(sim), self.account(sim, key)
        if self.perp:
            views = core.positions(account, self.core_symbol)
            size = sum((v.qty for v in views), Decimal(0))
            return float(core.margin_summary(account, "USDT").wallet_balance), float(size)
        totals = {a: free + locked for a, (free, locked) in core.balances(account).items()}
        return float(totals.get("USDT", 0)), float(totals.get("BTC", 0))

    def bought(self, amount: float) -> float:
        """What a filled buy of ``amount`` adds to the position: on spot the taker fee (0.1 %)
        is paid in the base asset, a perpetual's fee comes off the wallet."""
        return amount if self.perp else amount * 0.999

    def make_store(self, sim: SimExchange, key: str, secret: str, **kwargs: Any) -> BaseStore:
        """The venue's store in testnet mode on ``sim`` (``kwargs`` go to the store)."""
        options: dict[str, Any] = {"bus": EventBus(), **self.store_kwargs, **kwargs}
        return self.store(key, secret, testnet=True, sim_url=sim.url, **options)

    def make_public_store(self, sim: SimExchange, **kwargs: Any) -> BaseStore:
        """The venue's store without credentials (market data only) on ``sim``."""
        options: dict[str, Any] = {"bus": EventBus(), **kwargs}
        return self.store(sim_url=sim.url, **options)

    def make_client(self, sim: SimExchange, key: str, secret: str) -> VenueClient:
        """A started testnet :class:`VenueClient` of this venue on ``sim`` (markets loaded)."""
        spec = self.store.venue
        assert spec is not None
        client = VenueClient(
            spec, apikey=key, secret=secret, testnet=True, sim_url=sim.url, **self.store_kwargs
        )
        client.start()
        client.load_markets()
        return client

    def make_broker(self, store: BaseStore, **kwargs: Any) -> BaseBroker:
        """The venue's live broker (``paper_trading=False``) on ``store``."""
        return self.broker(store, paper_trading=False, **kwargs)


BINANCE_SPOT = Venue(
    "binance",
    "spot",
    "binance",
    BinanceStore,
    BinanceBroker,
    BinanceData,
    insufficient_reason="Account has insufficient balance for requested action.",
    price_filter_reason="Filter failure: PRICE_FILTER",
    cancel_path="/api/v3/order",
    stream_sends_before_market_moves=True,
)
BYBIT_SPOT = Venue(
    "bybit",
    "spot",
    "bybit",
    BybitStore,
    BybitBroker,
    BybitData,
    insufficient_reason="Insufficient balance.",
    # the face words every neutral PRICE_FILTER (tick or range) as Bybit's 170134
    price_filter_reason="Order price has too many decimals.",
    cancel_path="/v5/order/cancel",
    says_expired=False,
)
OKX_SPOT = Venue(
    "okx",
    "spot",
    "okx",
    OKXStore,
    OKXBroker,
    OKXData,
    store_kwargs={"passphrase": DEFAULT_PASSPHRASE},
    futures_balances={},
    insufficient_reason="Order failed. Insufficient USDT balance in account.",
    price_filter_reason="Order price is not within the price limit",
    min_notional_reason="Your order should meet or exceed the minimum order amount.",
    min_notional_checked_here=False,
    cancel_path="/api/v5/trade/cancel-order",
    says_expired=False,
)

BINANCE_PERP = Venue(
    "binance",
    "perp",
    "binance_futures",
    BinanceStore,
    BinanceBroker,
    BinanceData,
    faces=("binance", "binance_futures"),
    symbol="BTC/USDT:USDT",
    store_kwargs={"market_type": "future"},
    insufficient_reason="Margin is insufficient.",
    # the face words every neutral PRICE_FILTER (tick or range) as USDⓈ-M's -4014
    price_filter_reason="Price not increased by tick size.",
    min_notional_reason="below the minimum order value 100",
    cancel_path="/fapi/v1/order",
    stream_sends_before_market_moves=True,
)
BYBIT_PERP = Venue(
    "bybit",
    "perp",
    "bybit",
    BybitStore,
    BybitBroker,
    BybitData,
    symbol="BTC/USDT:USDT",
    store_kwargs={"market_type": "swap"},
    insufficient_reason="Insufficient balance.",
    price_filter_reason="Order price has too many decimals.",
    min_notional_reason="below the minimum order value 100",
    cancel_path="/v5/order/cancel",
    says_expired=False,
)
OKX_PERP = Venue(
    "okx",
    "perp",
    "okx",
    OKXStore,
    OKXBroker,
    OKXData,
    symbol="BTC/USDT:USDT",
    store_kwargs={"passphrase": DEFAULT_PASSPHRASE, "market_type": "swap"},
    insufficient_reason="Order failed. Insufficient USDT balance in account.",
    price_filter_reason="Order price is not within the price limit",
    min_notional_reason="Your order should meet or exceed the minimum order amount.",
    min_notional_checked_here=False,
    cancel_path="/api/v5/trade/cancel-order",
    says_expired=False,
)

SPOT_VENUES: tuple[Venue, ...] = (BINANCE_SPOT, BYBIT_SPOT, OKX_SPOT)
PERP_VENUES: tuple[Venue, ...] = (BINANCE_PERP, BYBIT_PERP, OKX_PERP)
"""Linear perpetuals (``market="perp"``) on ``BTC/USDT:USDT``: Binance USDⓈ-M, Bybit linear,
OKX SWAP; the same tests run on them where the scenario is not spot by nature."""
ALL_VENUES: tuple[Venue, ...] = SPOT_VENUES + PERP_VENUES


def venue_params(venues: Iterable[Venue] = SPOT_VENUES) -> list[Any]:
    """``pytest.param`` per venue, with its id (``binance-spot``, ``bybit-spot``, ...)."""
    return [pytest.param(v, id=v.id) for v in venues]
