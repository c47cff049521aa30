"""``VenueConnection``: the I/O thread, the ccxt.pro exchange and the markets of one venue.

The base of :class:`real_trade.venues.client.VenueClient`. It owns one ccxt.pro exchange object
(ccxt.pro exchanges serve REST as well as websockets), created on its own asyncio loop in a
daemon thread (an :class:`~real_trade.venues.ioloop.IoLoop`, which the raw venue websockets of
its feeds share), and the sync face: :meth:`VenueConnection.run` runs a coroutine on that loop from
any other thread and waits for it (from the I/O thread itself it raises RuntimeError, since it
would wait on itself). Endpoints come from :mod:`real_trade.venues.urls` (live, testnet, demo, or
the simulator, which wins; there ccxt is also given the error table it picks by host on the
real venue, :func:`real_trade.sim.ccxt_error_tables.ccxt_exceptions_for`). Credentials are kept
private, registered with the log masker, and never shown: reprs show a masked key.

A started connection is stopped when the process exits (an ``atexit`` hook, registered when the
first one starts), so a script that never calls ``store.stop()`` still closes its ccxt and
aiohttp sessions instead of leaving them to the garbage collector, which warns about them.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import difflib
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from real_trade.bus import EventBus
from real_trade.errors import (
    AuthenticationError,
    BadSymbolError,
    ClockSkewError,
    ExchangeUnavailableError,
    RateLimitError,
    RealTradeError,
)
from real_trade.utils.logger import SecretMaskingFilter, register_secret
from real_trade.utils.secrets import plain_secret
from real_trade.venues.ccxt_errors import ccxt_errors, translate_ccxt_error
from real_trade.venues.ioloop import IoLoop
from real_trade.venues.proxy import ccxt_proxy_settings, mask_proxy_url
from real_trade.venues.request_limiter import (
    install_request_limiter,
    request_limits_for,
    retry_after_seconds,
)
from real_trade.venues.retry import RetryPolicy, retry_async
from real_trade.venues.spec import VenueSpec, get_venue
from real_trade.venues.streams import StreamHandle, SubscriptionAcks
from real_trade.venues.urls import (
    VenueEndpoints,
    apply_endpoints,
    effective_sim_url,
    protocol_family,
    resolve_endpoints,
)

__all__ = ["REQUEST_TOPIC", "VenueConnection", "VenueRequest", "mask_key"]

T = TypeVar("T")
_log = logging.getLogger("real_trade.venues")
_CCXT_LOGGER = "ccxt.base.exchange"

REQUEST_TOPIC = "venue.request"
"""Bus topic of :class:`VenueRequest`: one per REST attempt of a connection that has a bus."""


@dataclass(frozen=True, slots=True)
class VenueRequest:
    """One attempt of one REST call: the ccxt ``method``, its wall ``seconds`` and, when it
    failed, the ``error`` kind (the :mod:`real_trade.errors` class name)."""

    venue: str
    method: str
    seconds: float
    error: str | None = None


def mask_key(key: str | None) -> str | None:
    """A key as shown in reprs and logs: ``'***' + last 4 characters`` (``'***'`` if short)."""
    if not key:
        return None
    return f"***{key[-4:]}" if len(key) >= 12 else "***"


def _guard_ccxt_logger() -> None:
    """Mask secrets in ccxt's own log records (its DEBUG lines carry headers with the key).

    A filter on the logger itself rewrites each record before any handler sees it, so even a
    user's plain ``logging.basicConfig(level=logging.DEBUG)`` never prints a key or signature.
    """
    ccxt_logger = logging.getLogger(_CCXT_LOGGER)
    if not any(isinstance(f, SecretMaskingFilter) for f in ccxt_logger.filters):
        ccxt_logger.addFilter(SecretMaskingFilter())


_running: set[VenueConnection] = set()  # started and not stopped: closed at exit
_running_lock = threading.Lock()
_exit_hook_registered = False


def _track_running(connection: VenueConnection, running: bool) -> None:
    """Remember (or forget) a started connection; the first one registers the exit hook."""
    global _exit_hook_registered
    with _running_lock:
        if not running:
            _running.discard(connection)
            return
        _running.add(connection)
        if not _exit_hook_registered:
            atexit.register(_stop_running_at_exit)
            _exit_hook_registered = True


def _stop_running_at_exit() -> None:
    """Close every connection still running when the interpreter exits (best effort)."""
    with _running_lock:
        connections = list(_running)
    for connection in connections:
        try:
            connection.stop(timeout=5.0)
        except Exception:  # exiting anyway: never mask the process's own outcome
            _log.debug("%s: closing at exit failed", connection, exc_info=True)


def _closest_symbols_hint(
    wanted: str, squashed: str, markets: Mapping[str, Any], by_id: Mapping[str, Any]
) -> str:
    """The part of an unknown-symbol error naming the venue's closest symbols (or some it has).

    Unified symbols are compared first; an id-like spelling (``BTCUSDX``) is compared with the
    venue's ids, shown as their symbols. With nothing close, a few of the symbols are listed.
    """
    close = difflib.get_close_matches(wanted.upper(), list(markets), n=5, cutoff=0.5)
    if not close:
        ids = difflib.get_close_matches(squashed, list(by_id), n=5, cutoff=0.5)
        found = [m.get("symbol") for i in ids for m in (by_id.get(i) or [])[:1]]
        close = list(dict.fromkeys(str(f) for f in found if f))
    if close:
        return f"; did you mean {', '.join(repr(c) for c in close)}?"
    if not markets:
        return "; the venue lists no markets of this type"
    some = ", ".join(sorted(markets)[:8])
    return f"; it lists {len(markets)} markets of this type, e.g. {some}"


def _missing_face_hint(venue: str, market_type: str, sim_url: str) -> str:
    """The fix for a simulator that serves no markets of a store's type: the face to start
    (``real-trade sim --faces``; Binance's USDⓈ-M market has its own, ``binance_futures``)."""
    face = "binance_futures" if venue == "binance" and market_type != "spot" else venue
    return (
        f" at the simulator {sim_url}: start it with the face that serves them, "
        f"`real-trade sim --faces {face}` (faces combine: `--faces binance,binance_futures,okx`)"
    )


class VenueConnection:
    """The connection of a store to one venue (see the module docstring).

    ``venue`` is a :class:`VenueSpec` or a ccxt id. ``market_type`` picks ccxt's
    ``defaultType`` from the venue table. Credentials are optional (public data needs none;
    private calls without them raise AuthenticationError). ``testnet``/``demo``/``sim_url``
    choose the endpoints; ``proxy`` an HTTP(S)/SOCKS proxy (never used for the simulator).
    ``bus`` receives :class:`StreamStateChanged` events; ``retry_policy`` governs retries of
    reads; ``reconnect_base_delay``/``reconnect_max_delay`` the stream backoff (tests shrink
    them); ``call_timeout`` bounds each sync call; ``ccxt_options`` are extra ccxt options;
    ``ccxt_config`` extra top-level ccxt settings (``headers``, ``timeout``, ``uid``, ...) and
    ``custom_urls`` the user's own ccxt ``urls`` (see :func:`resolve_endpoints`), both as a
    store adopting a user-built ccxt object passes them (:mod:`real_trade.venues.adopt`).
    """

    def __init__(
        self,
        venue: VenueSpec | str,
        *,
        market_type: str = "spot",
        apikey: Any = None,
        secret: Any = None,
        passphrase: Any = None,
        testnet: bool = False,
        demo: bool = False,
        sim_url: str | None = None,
        proxy: str | None = None,
        bus: EventBus | None = None,
        retry_policy: RetryPolicy | None = None,
        reconnect_base_delay: float = 0.5,
        reconnect_max_delay: float = 30.0,
        call_timeout: float = 120.0,
        ccxt_options: Mapping[str, Any] | None = None,
        ccxt_config: Mapping[str, Any] | None = None,
        custom_urls: Mapping[str, Any] | None = None,
    ) -> None:
        self.venue = venue if isinstance(venue, VenueSpec) else get_venue(venue)
        self.market_type = market_type
        self.default_type = self.venue.ccxt_default_type(market_type)
        self._apikey, self._secret = plain_secret(apikey), plain_secret(secret)
        self._passphrase = plain_secret(passphrase)
        for value in (self._apikey, self._secret, self._passphrase):
            register_secret(value)
        _guard_ccxt_logger()
        self.endpoints: VenueEndpoints = resolve_endpoints(
            self.venue,
            testnet=testnet,
            demo=demo,
            sim_url=effective_sim_url(sim_url),
            default_type=self.default_type,
            custom_urls=custom_urls,
        )
        self.proxy = None if self.endpoints.mode == "sim" else (proxy or None)
        ccxt_proxy_settings(self.proxy)  # validate early: a bad scheme is a ConfigError now
        self.bus = bus
        self.retry_policy = retry_policy or RetryPolicy()
        self.reconnect_base_delay = reconnect_base_delay
        self.reconnect_max_delay = reconnect_max_delay
        self.call_timeout = call_timeout
        self._ccxt_options = dict(ccxt_options or {})
        self._ccxt_config = {k: v for k, v in (ccxt_config or {}).items() if k != "urls"}
        self._lock = threading.RLock()
        self._io = IoLoop(f"rt-venue-{self.venue.name}")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._exchange: Any = None
        self._acks: SubscriptionAcks | None = None  # the venue's private subscriptions
        self._streams: set[StreamHandle] = set()
        self._streams_lock = threading.Lock()  # never held while waiting on the loop
        self._resync_clock = False
        self.order_margin_modes: dict[str, str] = {}  # symbol -> mode sent with each order

    # -- identity ------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """Where requests go: ``"live"``, ``"testnet"``, ``"demo"`` or ``"sim"``."""
        return self.endpoints.mode

    @property
    def sim_url(self) -> str | None:
        """The simulator's base URL when in ``sim`` mode."""
        return self.endpoints.sim_url

    @property
    def has_credentials(self) -> bool:
        """Whether an API key and secret (and a passphrase where needed) were given."""
        needed = [self._apikey, self._secret]
        if self.venue.needs_passphrase:
            needed.append(self._passphrase)
        return all(needed)

    @property
    def apikey_masked(self) -> str | None:
        """The API key as :func:`mask_key` shows it."""
        return mask_key(self._apikey)

    def __repr__(self) -> str:
        """Venue, mode, market type and a masked key; never a secret."""
        return (
            f"{type(self).__name__}(venue={self.venue.name!r}, mode={self.mode!r}, "
            f"market_type={self.market_type!r}, apikey={self.apikey_masked!r}, "
            f"proxy={mask_proxy_url(self.proxy)!r}, started={self.is_started})"
        )

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def is_started(self) -> bool:
        """Whether the I/O thread runs and the ccxt exchange exists."""
        return self._exchange is not None and self._thread is not None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The I/O loop (starting the client if needed)."""
        self.start()
        assert self._loop is not None
        return self._loop

    @property
    def exchange(self) -> Any:
        """The ccxt.pro exchange object (starting the client if needed); use it on the loop."""
        self.start()
        return self._exchange

    def start(self) -> Self:
        """Start the I/O thread and create the ccxt.pro exchange on it (idempotent)."""
        with self._lock:
            if self.is_started:
                return self
            loop = self._io.start()
            try:
                future = asyncio.run_coroutine_threadsafe(self._create_exchange(), loop)
                self._exchange = future.result(self.call_timeout)
            except BaseException:
                self._io.stop(5)
                raise
            self._loop, self._thread = loop, self._io.thread
            _track_running(self, True)
            return self

    async def _create_exchange(self) -> Any:
        import ccxt.pro as ccxtpro

        options: dict[str, Any] = {
            "defaultType": self.default_type,
            # A real venue's clock is the wall clock, offset by network skew: measure it. The
            # simulator accepts the caller's wall clock even while its market clock runs
            # accelerated or stepped, so measuring its clock would only introduce a skew.
            "adjustForTimeDifference": self.endpoints.mode != "sim",
            **{k: dict(v) for k, v in self.venue.quirks.get("ccxt_options", {}).items()},
            **self.endpoints.options,
            **self._ccxt_options,
        }
        config: dict[str, Any] = {"enableRateLimit": True, **self._ccxt_config}
        config["options"] = options
        if self.endpoints.urls is not None:
            config["urls"] = dict(self.endpoints.urls)
        if self.endpoints.mode == "sim":
            # ccxt picks Binance's per-market error table by the request's host; give the
            # simulator's client its market's table, so errors map as on the real hosts
            from real_trade.sim.ccxt_error_tables import ccxt_exceptions_for

            protocol = protocol_family(self.venue.ccxt_id) or self.venue.ccxt_id
            tables = ccxt_exceptions_for(protocol, self.default_type)
            for kind, given in (config.get("exceptions") or {}).items():  # the user's win
                tables[kind] = (
                    {**tables.get(kind, {}), **given} if isinstance(given, dict) else given
                )
            config["exceptions"] = tables
        for name, value in (
            ("apiKey", self._apikey),
            ("secret", self._secret),
            ("password", self._passphrase),
        ):
            if value:
                config[name] = value
        config.update(ccxt_proxy_settings(self.proxy))
        exchange_class = getattr(ccxtpro, self.venue.ccxt_id, None)
        if exchange_class is None:
            import ccxt.async_support as ccxt_async

            exchange_class = getattr(ccxt_async, self.venue.ccxt_id)
        exchange = exchange_class(config)
        with ccxt_errors():
            apply_endpoints(exchange, self.endpoints)
        limits = request_limits_for(self.venue.ccxt_id, self.default_type)
        if limits is not None and exchange.enableRateLimit:
            # ccxt's leaky bucket never credits idle time (every order waited ~10 ms on
            # Binance): the venue's own rolling windows replace it (venues/request_limiter.py)
            install_request_limiter(exchange, limits)
        if self.private_channels:
            self._acks = SubscriptionAcks(exchange)
        return exchange

    @property
    def private_channels(self) -> Mapping[str, str]:
        """The channel each user-data stream kind subscribes after its socket opens (the
        venue's ``private_channels`` quirk, where its ``private_channels_types`` include this
        connection's market type); empty when the socket alone is the subscription."""
        quirks = self.venue.quirks
        types = quirks.get("private_channels_types")
        if types is not None and self.default_type not in types:
            return {}
        channels: Mapping[str, str] = quirks.get("private_channels") or {}
        return channels

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every stream, close the ccxt exchange and end the I/O thread (idempotent)."""
        with self._lock:
            loop, thread, exchange = self._loop, self._thread, self._exchange
            if loop is None or thread is None:
                return
            if threading.current_thread() is thread:
                raise RuntimeError(
                    "stop() called on the client's own I/O thread; call it from another"
                )
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(exchange), loop).result(timeout)
            except Exception:  # closing must go on; the cause is logged
                _log.warning("%s: error while closing the exchange", self, exc_info=True)
            self._io.stop(timeout)
            self._loop = self._thread = self._exchange = None
            _track_running(self, False)

    async def _shutdown(self, exchange: Any) -> None:
        with self._streams_lock:
            streams = list(self._streams)
        for handle in streams:
            await handle.stop_async()
        await exchange.close()
        current = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        await asyncio.get_running_loop().shutdown_asyncgens()

    def _forget_stream(self, handle: StreamHandle) -> None:
        """Drop a finished stream from the running set (called on the I/O thread)."""
        with self._streams_lock:
            self._streams.discard(handle)

    def __enter__(self) -> Self:
        """Start the client and return it."""
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        """Stop the client."""
        self.stop()

    # -- running coroutines --------------------------------------------------------------
    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the I/O loop from any thread; return a concurrent future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the I/O loop and wait for its result (never from the I/O thread)."""
        loop = self.loop
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError(
                "a VenueClient sync method was called on its own I/O thread; await the "
                "matching ..._async coroutine there instead"
            )
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(self.call_timeout if timeout is None else timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    async def resync_clock_async(self) -> None:
        """After a timestamp refusal, sign with the venue's clock (ccxt's time difference).

        Not on the simulator: its time endpoint reports the market clock, which an accelerated
        or stepped run moves apart from the wall clock, and it accepts a signature on either
        clock; adopting the market clock made every later signed request late (at speed 120,
        5 s of market time pass in 42 ms), so one slow request ended a run.
        """
        if self.sim_url is None:
            await self._exchange.load_time_difference()

    async def _retrying(
        self, func: Callable[..., Awaitable[T]], *args: Any, places_order: bool = False
    ) -> T:
        """Call ccxt ``func`` with retries per the policy; resync the clock after a skew."""

        @functools.wraps(func)  # a retry's log line names the ccxt call, not this closure
        async def attempt() -> T:
            if self._resync_clock:
                self._resync_clock = False
                await self.resync_clock_async()
            started, error = time.perf_counter(), None
            try:
                return await func(*args)
            except Exception as exc:
                translated = self._translate(exc, places_order)
                error = type(translated).__name__
                if getattr(translated, "retry_after", None) is not None and translated is not exc:
                    raise translated from exc
                raise
            finally:
                if self.bus is not None:
                    self._report_request(func, time.perf_counter() - started, error)

        def on_retry(_attempt: int, error: RealTradeError, _delay: float) -> None:
            if isinstance(error, ClockSkewError):
                self._resync_clock = True

        try:
            return await retry_async(
                attempt, policy=self.retry_policy, places_order=places_order, on_retry=on_retry
            )
        except AuthenticationError as exc:
            where = self._where_keys_work()
            if exc.fix and self.has_credentials and not exc.fix.startswith(where):
                exc.fix = f"{where}; {exc.fix}"
            raise

    def _translate(self, exc: Exception, places_order: bool) -> RealTradeError:
        """``exc`` translated; a refusal the venue answered (rate limit, unavailable) takes the
        answer's ``Retry-After`` header (ccxt's errors carry no headers) as its ``retry_after``,
        so the retry waits at least that long."""
        error = translate_ccxt_error(exc, places_order=places_order)
        if isinstance(error, RateLimitError | ExchangeUnavailableError):
            headers = getattr(self._exchange, "last_response_headers", None)
            retry_after = retry_after_seconds(headers)
            if retry_after is not None and (error.retry_after or 0.0) < retry_after:
                error = translate_ccxt_error(
                    exc, places_order=places_order, retry_after=retry_after
                )
        return error

    def _report_request(self, func: Callable[..., Any], seconds: float, error: str | None) -> None:
        """Publish one REST attempt on the bus (metrics); a closed bus is ignored."""
        bus, method = self.bus, getattr(func, "__name__", "request")
        if bus is not None:
            with contextlib.suppress(RuntimeError):
                bus.publish(REQUEST_TOPIC, VenueRequest(self.venue.name, method, seconds, error))

    def _where_keys_work(self) -> str:
        """Which keys this connection's endpoints take (the start of a refused key's fixes)."""
        name = self.venue.display_name
        if self.mode == "sim":
            return (
                f"this connects to the simulator at {self.sim_url}, which knows only the keys "
                "of its accounts (real-trade sim --account KEY:SECRET:USDT=10000, or "
                "SimExchange.create_account)"
            )
        if self.mode == "testnet":
            return f"this connects to the {name} TESTNET, which takes only keys made there"
        if self.mode == "demo":
            return f"this connects to {name} demo trading, which takes only demo-trading keys"
        return f"this connects to {name} LIVE, which takes only live keys, never testnet keys"

    def _require_credentials(self, what: str) -> None:
        if not self.has_credentials:
            fields = ", ".join(self.venue.required_credentials())
            raise AuthenticationError(
                f"{what} on {self.venue.display_name} needs API credentials ({fields}); "
                "public market data and paper trading need none"
            )

    # -- markets -------------------------------------------------------------------------
    async def load_markets_async(self, reload: bool = False) -> dict[str, Any]:
        """Load (or reload) the venue's markets; return ccxt's ``markets`` dict."""
        try:
            markets: dict[str, Any] = await self._retrying(self._exchange.load_markets, reload)
        except AuthenticationError as exc:
            # ccxt asks a private endpoint for the currencies when keys are set; a key the venue
            # refuses must not take public market data (and paper trading) down with it.
            if not self.has_credentials or self._exchange.options.get("fetchCurrencies") is False:
                raise
            _log.warning(
                "%s refused the API key while loading markets (%s); public market "
                "data continues, private calls will fail",
                self.venue.display_name,
                exc.message,
            )
            self._exchange.options["fetchCurrencies"] = False
            markets = await self._retrying(self._exchange.load_markets, True)
        return markets

    def load_markets(self, reload: bool = False) -> dict[str, Any]:
        """Sync face of :meth:`load_markets_async`."""
        return self.run(self.load_markets_async(reload))

    def market(self, symbol_or_id: str) -> dict[str, Any]:
        """The ccxt market of a unified symbol (``BTC/USDT``) or venue id (``BTCUSDT``).

        Loads the markets on first use. An unknown name raises BadSymbolError with the closest
        known symbols as a suggestion.
        """
        exchange = self.exchange
        if not exchange.markets:
            self.load_markets()
        return self._find_market(symbol_or_id)

    def _find_market(self, symbol_or_id: str) -> dict[str, Any]:
        markets: dict[str, Any] = self._exchange.markets or {}
        if symbol_or_id in markets:
            return dict(markets[symbol_or_id])
        by_id = self._exchange.markets_by_id or {}
        wanted = symbol_or_id.strip()
        squashed = wanted.upper().replace("/", "").replace("-", "").replace("_", "")
        for key in (wanted, wanted.upper(), squashed):
            candidates = by_id.get(key) or []
            if candidates:
                preferred = [m for m in candidates if m.get("type") == self.default_type]
                return dict((preferred or candidates)[0])
        hint = _closest_symbols_hint(wanted, squashed, markets, by_id)
        if not markets and self.sim_url is not None:
            hint += _missing_face_hint(self.venue.name, self.market_type, self.sim_url)
        raise BadSymbolError(
            f"unknown symbol {symbol_or_id!r} on {self.venue.display_name} "
            f"({self.market_type}){hint}"
        )

    def symbol_of(self, symbol_or_id: str) -> str:
        """The unified ccxt symbol of a symbol or venue id (``BTCUSDT`` -> ``BTC/USDT``)."""
        return str(self.market(symbol_or_id)["symbol"])

    def amount_to_precision(self, symbol: str, amount: float) -> float:
        """``amount`` rounded to the market's amount precision (ccxt's helper)."""
        exchange = self.exchange
        self.market(symbol)
        with ccxt_errors():
            return float(exchange.amount_to_precision(self.symbol_of(symbol), amount))

    def price_to_precision(self, symbol: str, price: float) -> float:
        """``price`` rounded to the market's tick (ccxt's helper)."""
        exchange = self.exchange
        self.market(symbol)
        with ccxt_errors():
            return float(exchange.price_to_precision(self.symbol_of(symbol), price))
