"""``BaseStore``: one venue connection per (store class, key, testnet, market type, simulator).

The backtrader-facing owner of a :class:`~real_trade.venues.client.VenueClient`; a plain class,
not a ``bt.Store`` (whose metaclass keeps one instance per class whatever the arguments).
:meth:`BaseStore.get_instance` hands out one per account and environment
(:mod:`~real_trade.stores.registry`); ``BinanceStore(testnet=True)`` makes a new one. Plain
classes do the work: :class:`~real_trade.venues.client_args.ClientArgs` (arguments),
:class:`~real_trade.stores.connection.StoreConnection` (start, stop, connection test) and
:class:`~real_trade.stores.account.AccountView` (balance, total value, positions).

Paper-safe: public market data needs no keys; private calls without keys raise
AuthenticationError; partial keys raise ConfigError naming the missing field (OKX's
``passphrase``). Subclasses set only ``venue`` (``BinanceStore.venue = BINANCE``).

**Seed 002's hook.** A subclass may instead override ``_create_exchange(**kwargs)``, build its
own ccxt object from ``self.apikey``, ``self.secret``, ``self.testnet`` (``self.proxy``) and
assign it to ``self._exchange`` or return it (or return a :class:`VenueClient`); no ``venue``
is needed. The store adopts that object (:mod:`real_trade.venues.adopt`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from real_trade.bus import EventBus
from real_trade.errors import ConfigError
from real_trade.orderbook import BookDepth, OrderBook
from real_trade.stores.account import AccountView
from real_trade.stores.books import StoreBooks
from real_trade.stores.connection import StoreConnection
from real_trade.stores.registry import StoreRegistry, instance_key
from real_trade.venues.client import VenueClient
from real_trade.venues.client_args import ClientArgs, CredentialField
from real_trade.venues.contracts import check_contract_support
from real_trade.venues.proxy import detect_system_proxy, mask_proxy_url
from real_trade.venues.spec import VenueSpec

__all__ = ["BaseStore"]


class BaseStore:
    """The connection manager of one venue account (see the module docstring).

    Arguments: ``apikey``/``secret``/``passphrase`` (optional), ``testnet``, ``demo``,
    ``market_type``, ``proxy``, ``sim_url``, ``bus`` (as :class:`~real_trade.venues.client_args.
    ClientArgs` resolves them), ``quote_currency`` for valuations; others go to the client.
    """

    venue: ClassVar[VenueSpec | None] = None
    _registry: ClassVar[StoreRegistry] = StoreRegistry()

    def __init__(
        self,
        apikey: Any = None,
        secret: Any = None,
        testnet: bool = False,
        proxy: str | None = None,
        *,
        passphrase: Any = None,
        market_type: str = "spot",
        demo: bool = False,
        sim_url: str | None = None,
        bus: EventBus | None = None,
        quote_currency: str = "USDT",
        **client_options: Any,
    ) -> None:
        check_contract_support(market_type=market_type)
        builds_own = type(self)._create_exchange is not BaseStore._create_exchange
        venue = None if builds_own and self.venue is None else self._venue_from(client_options)
        args = ClientArgs.resolve(
            apikey,
            secret,
            passphrase,
            testnet=testnet,
            demo=demo,
            market_type=market_type,
            sim_url=sim_url,
            proxy=proxy,
            bus=bus,
            options=client_options,
            detect_proxy=self._detect_system_proxy,
        )
        self.testnet, self.demo, self.market_type = args.testnet, args.demo, market_type
        self.quote_currency = quote_currency
        self._credentials = args.credentials
        if venue is not None:
            self.venue_spec: VenueSpec = venue
            venue.check_credentials(args.credentials)
        self.sim_url, self.proxy = args.sim_url, args.proxy
        built = self._create_exchange(**args.hook_kwargs())  # seed 002: or in self._exchange
        built = self.__dict__.get("_exchange") if built is None else built
        if built is not None and not isinstance(built, VenueClient):
            self._exchange = built
        self._client: VenueClient = args.client_from(built, type(self).__name__)
        self.venue_spec, self.market_type = self._client.venue, self._client.market_type
        self._connection = StoreConnection(self._client)
        self.books = StoreBooks(self)

    apikey = CredentialField("apikey", "The API key given to the store (plain text).")
    secret = CredentialField("secret", "The API secret (plain text; never in a repr or log).")
    passphrase = CredentialField("passphrase", "The passphrase (OKX and others; plain text).")

    def _venue_from(self, options: dict[str, Any]) -> VenueSpec:
        """The venue of this store: the class attribute (subclasses may read ``options``)."""
        if self.venue is None:
            raise ConfigError(
                f"{type(self).__name__} has no venue",
                field="venue",
                fix="use BinanceStore, BybitStore, OKXStore or CCXTStore(exchange=...), or build "
                "your own ccxt object in _create_exchange (self._exchange = ccxt.<id>({...}))",
            )
        return self.venue

    @classmethod
    def get_instance(
        cls,
        apikey: Any = None,
        secret: Any = None,
        testnet: bool = False,
        proxy: str | None = None,
        **kwargs: Any,
    ) -> Self:
        """The one store of this class for (API key, testnet, market type, simulator URL),
        thread-safe; the arguments are the constructor's, used only when it is created."""
        key = instance_key(cls, apikey, testnet, kwargs)
        existing = cls._registry.get_or_create(
            key, lambda: cls(apikey, secret, testnet, proxy, **kwargs)
        )
        assert isinstance(existing, cls)
        return existing

    @classmethod
    def clear_instances(cls) -> None:
        """Stop and forget every cached instance of this class and its subclasses (for tests)."""
        cls._registry.clear(cls)

    @staticmethod
    def _detect_system_proxy(target: str | None = None) -> str | None:
        """The system proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, OS settings); None for loopback."""
        return detect_system_proxy(target)

    def _create_exchange(self, **kwargs: Any) -> Any:
        """Hook: create the venue client (``kwargs`` as :class:`VenueClient` takes them).

        An override may build its own ccxt object instead (seed 002; module docstring).
        """
        return VenueClient(self.venue_spec, **kwargs)

    # -- identity and lifecycle ----------------------------------------------------------
    def __repr__(self) -> str:
        """Venue, mode, market type and a masked key; never a secret."""
        return (
            f"{type(self).__name__}(venue={self.venue_spec.name!r}, mode={self.mode!r}, "
            f"market_type={self.market_type!r}, apikey={self._client.apikey_masked!r}, "
            f"proxy={mask_proxy_url(self.proxy)!r})"
        )

    @property
    def mode(self) -> str:
        """Where orders would go: ``live``, ``testnet``, ``demo`` or ``sim``."""
        return self._client.mode

    @property
    def client(self) -> VenueClient:
        """The venue client (sync face over the I/O thread)."""
        return self._client

    @property
    def exchange(self) -> Any:
        """The ccxt.pro exchange object (lives on the client's I/O loop)."""
        return self._client.exchange

    @property
    def is_connected(self) -> bool:
        """Whether the store started and its last connection check succeeded."""
        return self._connection.is_connected

    def start(self) -> Self:
        """Start the client and load the markets (idempotent); return the store."""
        self._connection.start()
        return self

    def stop(self) -> None:
        """Stop every stream and book and close the client (idempotent); ``start`` may follow."""
        self.books.stop()
        self._connection.stop()

    def test_connection(self) -> bool:
        """Reach the venue (and, with keys, the account); False with the reason logged."""
        return self._connection.test(self)

    @property
    def account(self) -> AccountView:
        """The account queries over the client, valued in ``quote_currency``."""
        return AccountView(self._client, self.quote_currency, self.market_type)

    def get_balance(self, currency: str | None = None) -> float:
        """The free (available) balance of ``currency`` (default: the quote currency)."""
        return self.account.balance(currency)

    def get_total_value(self, currency: str | None = None) -> float:
        """The account's total value in ``currency``, assets priced by their last trade."""
        return self.account.total_value(currency)

    def get_positions(self, symbols: list[str] | None = None) -> list[dict[str, Any]]:
        """Open positions as ``{"symbol", "size", "price"}`` (:meth:`AccountView.positions`)."""
        return self.account.positions(symbols)

    def get_open_orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """The account's open orders (ccxt order dicts), of ``symbol`` or all."""
        return self._client.fetch_open_orders(symbol)

    def get_markets(self) -> dict[str, Any]:
        """Every market of the venue (ccxt market dicts by unified symbol)."""
        return self._client.load_markets()

    def get_ticker(self, symbol: str) -> dict[str, Any]:
        """ccxt's ticker of ``symbol`` (unified symbol or venue id)."""
        return self._client.fetch_ticker(symbol)

    def get_contract_details(self, symbol: str) -> dict[str, Any]:
        """The ccxt market of ``symbol``: precision, limits, contract size, fees."""
        return self._client.market(symbol)

    def order_book(self, symbol: str) -> OrderBook | None:
        """The live local book of ``symbol``, synced from now on (:class:`StoreBooks`)."""
        return self.books.book(symbol)

    def get_order_book(self, symbol: str, depth: int | None = 10) -> BookDepth | None:
        """The best ``depth`` levels of ``symbol``'s live book, None until it is SYNCED."""
        return self.books.depth(symbol, depth)

    def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        *,
        until: int | None = None,
        closed_only: bool = True,
    ) -> list[list[float]]:
        """Closed candles ``[open_ms, o, h, l, c, v]`` (paginated; see VenueClient.fetch_ohlcv)."""
        return self._client.fetch_ohlcv(symbol, timeframe, since, until, limit, closed_only)

    # -- backtrader ----------------------------------------------------------------------
    def _classes(self) -> Any:
        """The venue's backtrader classes, as the one factory picks them."""
        from real_trade.engine.factory import venue_classes

        return venue_classes(self.venue_spec.name)

    def getdata(self, **kwargs: Any) -> Any:
        """A data feed on this store; ``dataname`` may be a venue id (``"BTCUSDT"``)."""
        symbol = kwargs.pop("symbol", None) or kwargs.pop("dataname", None)
        if symbol is None:
            raise ConfigError("getdata needs a symbol", field="dataname", fix='dataname="BTCUSDT"')
        unified = self._client.symbol_of(str(symbol))
        return self._classes().data(self, symbol=unified, **kwargs)

    def getbroker(self, **kwargs: Any) -> Any:
        """A broker on this store (paper trading unless ``paper_trading=False``)."""
        kwargs.setdefault("paper_trading", True)
        return self._classes().broker(self, **kwargs)
