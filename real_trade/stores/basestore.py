"""``BaseStore``: one venue connection per (store class, key, testnet, market type, simulator).

A store is the backtrader-facing owner of a :class:`~real_trade.venues.client.VenueClient`. It
is a plain class, deliberately not a ``bt.Store``: backtrader's store metaclass keeps one
instance per class whatever the arguments, and we need one per account and environment.
:meth:`BaseStore.get_instance` hands out that one instance, thread-safely; constructing a store
directly (``BinanceStore(testnet=True)``, as ``bt.stores.BinanceStore(...)`` does) makes a new one.

A store is paper-safe: constructing it and reading public market data needs no keys, and private
calls without keys raise AuthenticationError saying so. Credentials, when given, must be complete
(a ConfigError names the missing field, e.g. OKX's ``passphrase``). Subclasses set only the class
attribute ``venue`` (``BinanceStore.venue = BINANCE``); the venue table does the rest.

**Seed 002's hook.** A subclass may instead override ``_create_exchange(**kwargs)`` and build its
own ccxt object from ``self.apikey``, ``self.secret``, ``self.testnet`` (and ``self.proxy``),
assigning it to ``self._exchange`` or returning it; no ``venue`` attribute is needed. The store
then adopts that object (:mod:`real_trade.venues.adopt`): its ccxt id, keys, URLs, options and
sandbox mode decide the venue client, and a simulator URL in effect (``RT_SIM_URL``) redirects
both the client and the user's own object to the simulator. A hook may also return a
:class:`VenueClient`.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any, ClassVar, Self

from real_trade.bus import EventBus, get_bus
from real_trade.errors import ConfigError, RealTradeError
from real_trade.utils.secrets import plain_secret
from real_trade.venues.adopt import adopt_ccxt_exchange, ccxt_recipe
from real_trade.venues.client import VenueClient
from real_trade.venues.proxy import detect_system_proxy, mask_proxy_url
from real_trade.venues.spec import VenueSpec
from real_trade.venues.urls import effective_sim_url
from real_trade.vocabulary import base_asset

__all__ = ["BaseStore"]

_log = logging.getLogger("real_trade.stores")
_InstanceKey = tuple[Any, ...]


class BaseStore:
    """The connection manager of one venue account (see the module docstring).

    Arguments: ``apikey``/``secret``/``passphrase`` (optional; plain or ``SecretStr``),
    ``testnet`` (the venue's testnet, or its demo where it has no testnet), ``demo``,
    ``market_type`` (``spot``/``future``/``delivery``/``swap``), ``proxy`` (None: the system's,
    never for the simulator; ``""``: none), ``sim_url`` (else ``RT_SIM_URL``), ``bus`` (None:
    the process bus), ``quote_currency`` for valuations; other keywords go to the client.
    """

    venue: ClassVar[VenueSpec | None] = None
    _instances: ClassVar[dict[_InstanceKey, BaseStore]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

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
        builds_own = type(self)._create_exchange is not BaseStore._create_exchange
        venue = None if builds_own and self.venue is None else self._venue_from(client_options)
        self.testnet, self.demo, self.market_type = bool(testnet), bool(demo), market_type
        self.quote_currency = quote_currency
        credentials = {"apikey": plain_secret(apikey), "secret": plain_secret(secret)}
        credentials["passphrase"] = plain_secret(passphrase)
        self._credentials = credentials
        if venue is not None:
            self.venue_spec: VenueSpec = venue
            self._check_credentials(venue, credentials)
        self.sim_url = effective_sim_url(sim_url)
        self.proxy = self._detect_system_proxy(self.sim_url) if proxy is None else (proxy or None)
        self._connected = False
        self._lifecycle_lock = threading.Lock()
        built = self._create_exchange(
            apikey=credentials["apikey"],
            secret=credentials["secret"],
            passphrase=credentials["passphrase"],
            testnet=self.testnet,
            demo=self.demo,
            market_type=market_type,
            sim_url=self.sim_url,
            proxy=self.proxy,
            bus=bus if bus is not None else get_bus(),
            **client_options,
        )
        self._client: VenueClient = self._client_of(built, bus, client_options)
        self.venue_spec = self._client.venue
        self.market_type = self._client.market_type
        self._masked_key = self._client.apikey_masked

    @property
    def apikey(self) -> str | None:
        """The API key given to the store (plain text: for a ``_create_exchange`` hook)."""
        return self._credentials["apikey"]

    @property
    def secret(self) -> str | None:
        """The API secret given to the store (plain text; never shown in a repr or log)."""
        return self._credentials["secret"]

    @property
    def passphrase(self) -> str | None:
        """The passphrase given to the store (OKX and others; plain text, never shown)."""
        return self._credentials["passphrase"]

    # -- construction --------------------------------------------------------------------
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

    @staticmethod
    def _check_credentials(venue: VenueSpec, credentials: dict[str, str | None]) -> None:
        """Keys are optional, but partial keys are a mistake: name the missing field."""
        if not any(credentials.values()):
            return
        missing = [name for name in venue.required_credentials() if not credentials.get(name)]
        if missing:
            raise ConfigError(
                f"{venue.display_name} trading needs {', '.join(venue.required_credentials())}; "
                f"missing: {', '.join(missing)}",
                field=missing[0],
                fix=f"give {missing[0]}=..., or no credentials at all for public data and paper",
            )

    @classmethod
    def _instance_key(cls, apikey: Any, testnet: bool, kwargs: dict[str, Any]) -> _InstanceKey:
        return (
            cls,
            str(kwargs.get("exchange") or "").strip().lower(),
            plain_secret(apikey),
            bool(testnet),
            bool(kwargs.get("demo", False)),
            kwargs.get("market_type", "spot"),
            effective_sim_url(kwargs.get("sim_url")),
        )

    @classmethod
    def get_instance(
        cls,
        apikey: Any = None,
        secret: Any = None,
        testnet: bool = False,
        proxy: str | None = None,
        **kwargs: Any,
    ) -> Self:
        """The one store of this class for (API key, testnet, market type, simulator URL).

        Thread-safe: concurrent callers with the same key get the same object; another key,
        testnet flag, market type or simulator gets another. Keyword arguments are as for the
        constructor and only used when the instance is created.
        """
        key = cls._instance_key(apikey, testnet, kwargs)
        with cls._instances_lock:
            existing = cls._instances.get(key)
            if existing is None:
                existing = cls(apikey, secret, testnet, proxy, **kwargs)
                cls._instances[key] = existing
        assert isinstance(existing, cls)
        return existing

    @classmethod
    def clear_instances(cls) -> None:
        """Stop and forget every cached instance of this class and its subclasses (for tests)."""
        with cls._instances_lock:
            doomed = [k for k in cls._instances if issubclass(k[0], cls)]
            stores = [cls._instances.pop(k) for k in doomed]
        for store in stores:
            store.stop()

    @staticmethod
    def _detect_system_proxy(target: str | None = None) -> str | None:
        """The system proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, OS settings); None for loopback."""
        return detect_system_proxy(target)

    def _create_exchange(self, **kwargs: Any) -> Any:
        """Hook: create the venue client (``kwargs`` as :class:`VenueClient` takes them).

        An override may build its own ccxt object instead (seed 002; module docstring).
        """
        return VenueClient(self.venue_spec, **kwargs)

    def _client_of(
        self, built: Any, bus: EventBus | None, client_options: dict[str, Any]
    ) -> VenueClient:
        """The client behind what ``_create_exchange`` made: itself if a :class:`VenueClient`,
        else the adoption of the ccxt object it returned or assigned to ``self._exchange``."""
        if isinstance(built, VenueClient):
            return built
        exchange = built if built is not None else self.__dict__.get("_exchange")
        if exchange is None:
            raise ConfigError(
                f"{type(self).__name__}._create_exchange built no exchange",
                field="_create_exchange",
                fix="assign the ccxt object to self._exchange (or return it), as seed 002 shows",
            )
        self._exchange = exchange
        recipe = ccxt_recipe(exchange)
        given = {"apikey": recipe.apikey, "secret": recipe.secret, "passphrase": recipe.passphrase}
        self._check_credentials(recipe.venue, given)
        return adopt_ccxt_exchange(
            exchange,
            recipe=recipe,
            market_type=self.market_type,
            testnet=self.testnet,
            demo=self.demo,
            sim_url=self.sim_url,
            proxy=self.proxy,
            bus=bus if bus is not None else get_bus(),
            **client_options,
        )

    # -- identity and lifecycle ----------------------------------------------------------
    def __repr__(self) -> str:
        """Venue, mode, market type and a masked key; never a secret."""
        return (
            f"{type(self).__name__}(venue={self.venue_spec.name!r}, mode={self.mode!r}, "
            f"market_type={self.market_type!r}, apikey={self._masked_key!r}, "
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
        return self._connected and self._client.is_started

    def start(self) -> Self:
        """Start the client and load the markets (idempotent); return the store."""
        with self._lifecycle_lock:
            if not self.is_connected:
                self._client.start()
                self._client.load_markets()
                self._connected = True
        return self

    def stop(self) -> None:
        """Stop every stream and close the client (idempotent); ``start`` may follow."""
        with self._lifecycle_lock:
            self._connected = False
            self._client.stop()

    def test_connection(self) -> bool:
        """Reach the venue (and, with keys, the account); False with the reason logged."""
        try:
            self._client.fetch_time()
            if self._client.has_credentials:
                self._client.fetch_balance()
        except RealTradeError as exc:
            _log.warning("%r: connection test failed: %s: %s", self, type(exc).__name__, exc)
            self._connected = False
            return False
        self._connected = True
        return True

    # -- queries -------------------------------------------------------------------------
    def get_balance(self, currency: str | None = None) -> float:
        """The free (available) balance of ``currency`` (default: the quote currency)."""
        code = (currency or self.quote_currency).upper()
        free = self._client.fetch_balance().get("free") or {}
        return float(free.get(code) or 0.0)

    def get_total_value(self, currency: str | None = None) -> float:
        """The account's total value in ``currency``, assets priced by their last trade."""
        code = (currency or self.quote_currency).upper()
        totals = self._client.fetch_balance().get("total") or {}
        value = 0.0
        for asset, amount in totals.items():
            amount = float(amount or 0.0)
            if amount == 0.0:
                continue
            if asset == code:
                value += amount
                continue
            price = self._last_price(f"{asset}/{code}")
            if price is not None:
                value += amount * price
        return value

    def _last_price(self, symbol: str) -> float | None:
        exchange = self._client.exchange
        if not exchange.markets:
            self._client.load_markets()
        if symbol not in exchange.markets:
            return None
        last = self._client.fetch_ticker(symbol).get("last")
        return float(last) if last is not None and math.isfinite(float(last)) else None

    def get_positions(self, symbols: list[str] | None = None) -> list[dict[str, Any]]:
        """Open positions as ``{"symbol", "size", "price"}`` (size signed; price may be None).

        Derivatives: the venue's positions (entry price). Spot: the base-asset holdings of
        ``symbols`` (default: every asset held, against the quote currency).
        """
        if self.market_type != "spot":
            rows = self._client.fetch_positions(symbols)
            result = []
            for row in rows:
                size = float(row.get("contracts") or 0.0) * float(row.get("contractSize") or 1.0)
                if row.get("side") == "short":
                    size = -size
                if size:
                    price = row.get("entryPrice")
                    result.append(
                        {"symbol": row.get("symbol"), "size": size, "price": price and float(price)}
                    )
            return result
        totals = self._client.fetch_balance().get("total") or {}
        wanted = [self._client.symbol_of(s) for s in symbols] if symbols else None
        if wanted is None:
            quote = self.quote_currency.upper()
            wanted = [f"{a}/{quote}" for a, v in totals.items() if v and a != quote]
        positions = []
        for symbol in wanted:
            base = base_asset(symbol)
            size = float(totals.get(base) or 0.0)
            if size:
                positions.append({"symbol": symbol, "size": size, "price": None})
        return positions

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
        """The venue's backtrader classes, as the one factory picks them
        (:func:`real_trade.engine.factory.venue_classes`)."""
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
