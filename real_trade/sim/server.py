"""``SimExchange``: a simulated exchange on loopback, in a background thread, serving faces.

One object owns the whole simulator: the clock, the market source, the core, the fault plan,
the event bus and the aiohttp server running on its own event loop in a daemon thread. The
server serves a list of protocol faces over the one core (``faces=("binance",)`` by default:
REST ``/api/v3``, the market streams and the WebSocket API; ``"binance_futures"`` adds Binance
USDⓈ-M's ``/fapi`` over a second core of linear perpetuals, :attr:`SimExchange.futures_core`;
``"okx"`` serves OKX v5, SPOT over the core and SWAP over that futures core; see
:mod:`real_trade.sim.plumbing.faces`) plus the shared ``/admin/`` endpoint. Use it as a
context manager::

    with SimExchange(stepped=True) as sim:
        key, secret = sim.create_account({"USDT": 10_000})
        ex = ccxt.binance(sim.ccxt_config(key, secret))
        ex.create_order("BTC/USDT", "limit", "buy", 0.01, 50_000)
        sim.advance(60)               # stepped clock: one market minute, synchronously

``port=0`` picks a free port (read it back from :attr:`SimExchange.url`). The server binds to
loopback only unless ``allow_remote=True``. ``tls=(cert, key)`` (PEM files) or an
``ssl.SSLContext`` serves https and wss instead (``url`` is then ``https://...``). In real
(``speed=1``) and accelerated modes a pump task plays the market continuously; with
``stepped=True`` time moves only on :meth:`advance`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from real_trade.bus import EventBus
from real_trade.sim.binance.ws_market import ws_urls
from real_trade.sim.ccxt_error_tables import ccxt_exceptions_for
from real_trade.sim.clock import SimClock
from real_trade.sim.core import ExchangeCore
from real_trade.sim.derivatives.rules import perpetual_rules
from real_trade.sim.faults import FaultPlan
from real_trade.sim.market import MarketSource
from real_trade.sim.plumbing.app import create_exchange_app
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.faces import Face, make_face
from real_trade.sim.plumbing.http import is_loopback
from real_trade.sim.plumbing.ratelimit import RateLimiter, RateLimits
from real_trade.sim.plumbing.ws_conn import WsSettings
from real_trade.utils.tls import TlsSpec, server_tls_context
from real_trade.vocabulary import joined_symbol_id
from real_trade.vocabulary.clock import SystemClock

__all__ = [
    "CCXT_API_KEYS",
    "PUMP_BUDGET_S",
    "TICKS_PER_WALL_SECOND",
    "SimExchange",
    "ccxt_urls_for",
    "synthetic_tick_ms",
]

TICKS_PER_WALL_SECOND = 200
"""Market ticks per wall second and symbol a ``"synthetic"`` market plays at most (about 5 %
of a core): faster clocks space the ticks wider (see :func:`synthetic_tick_ms`)."""

PUMP_BUDGET_S = 0.1
"""Wall seconds one pump of a running (not stepped) simulator may spend playing the market;
market time it cannot play in that budget is skipped, so REST keeps answering at any speed."""


def synthetic_tick_ms(speed: float, stepped: bool = False) -> int:
    """The tick spacing (market ms) of a ``"synthetic"`` market run at ``speed``.

    250 ms (four trades a second) at real time; at higher speeds the spacing grows so that at
    most :data:`TICKS_PER_WALL_SECOND` ticks per symbol are played per wall second (18 s at
    3600x), capped at one minute. A stepped clock gets 250 ms.
    """
    if stepped:
        return 250
    return max(250, min(60_000, math.ceil(1000 * speed / TICKS_PER_WALL_SECOND)))


CCXT_API_KEYS: tuple[str, ...] = (
    "public",
    "private",
    "v1",
    "sapi",
    "sapiV2",
    "sapiV3",
    "sapiV4",
    "dapiPublic",
    "dapiPrivate",
    "dapiPrivateV2",
    "dapiData",
    "fapiPublic",
    "fapiPublicV2",
    "fapiPublicV3",
    "fapiPrivate",
    "fapiPrivateV2",
    "fapiPrivateV3",
    "fapiData",
    "eapiPublic",
    "eapiPrivate",
    "papi",
    "papiV2",
)
"""Every REST base URL key of ccxt's ``binance.urls['api']``; all point at the simulator, so
no request of a ccxt client configured with :meth:`SimExchange.ccxt_urls` leaves loopback."""

_API_PATHS: dict[str, str] = {
    "public": "/api/v3",
    "private": "/api/v3",
    "v1": "/api/v1",
    "sapi": "/sapi/v1",
    "sapiV2": "/sapi/v2",
    "sapiV3": "/sapi/v3",
    "sapiV4": "/sapi/v4",
    "dapiPublic": "/dapi/v1",
    "dapiPrivate": "/dapi/v1",
    "dapiPrivateV2": "/dapi/v2",
    "dapiData": "/futures/data",
    "fapiPublic": "/fapi/v1",
    "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3",
    "fapiPrivate": "/fapi/v1",
    "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/futures/data",
    "eapiPublic": "/eapi/v1",
    "eapiPrivate": "/eapi/v1",
    "papi": "/papi/v1",
    "papiV2": "/papi/v2",
}


def ccxt_urls_for(http_base: str, venue: str = "binance") -> dict[str, Any]:
    """Return the ccxt ``urls`` override pointing every API of ``venue`` at ``http_base``.

    ``venue`` is a ccxt id the simulator speaks (``"binance"``, ``"bybit"``, ``"okx"``).
    Includes the websocket URLs (Binance: ``urls["api"]["ws"]`` with the WebSocket API's
    ``ws-api``; Bybit: every public, private and trade stream, and the testnet and demo sets
    too; OKX: ``ws``, live and sandbox).
    ``ValueError`` for another venue.
    """
    if venue == "bybit":
        from real_trade.sim.bybit.face import ccxt_urls_for as bybit_urls

        return bybit_urls(http_base)
    if venue == "okx":
        from real_trade.sim.okx.face import ccxt_urls_for as okx_urls

        return okx_urls(http_base)
    if venue != "binance":
        raise ValueError(f"the simulator has no face speaking {venue!r}'s protocol")
    api: dict[str, Any] = {key: http_base + _API_PATHS[key] for key in CCXT_API_KEYS}
    api.update(ws_urls(http_base))
    return {"api": api, "test": dict(api), "www": http_base, "doc": http_base}


class SimExchange:
    """A simulated exchange served on loopback from a background thread.

    ``faces`` names the protocol faces it serves on one port (``"binance"``, the default, is
    Binance spot; ``"binance_futures"`` is USDⓈ-M, served over :attr:`futures_core`, a second
    core on the same clock and market whose symbols are linear perpetuals; see
    :data:`~real_trade.sim.plumbing.faces.FACES`). ``market`` is a
    :class:`MarketSource`, ``"synthetic"`` (a seeded random walk over ``symbols``; its ticks
    are spaced by :func:`synthetic_tick_ms` for the speed) or the path of
    a one-minute candle CSV file (replayed). ``speed`` scales market time (60: a market minute
    per wall second); ``stepped=True`` freezes it between :meth:`advance` calls. A running
    simulator's pump spends at most :data:`PUMP_BUDGET_S` per call, so it stays current and
    answers at any speed (market time it cannot play is skipped, with a warning). ``seed``
    drives the market, keys and faults; ``start_ms`` sets the market's start. ``perpetuals``
    names symbols (of the main core) traded as linear perpetuals instead of spot (the faces
    serve perpetuals from :attr:`futures_core`; this is for a face registered without it and
    for tests of the core). ``rate_limits``
    overrides every face's limits (``RateLimits(enabled=False)`` for benchmarks). After
    :meth:`start`, :attr:`url`, :attr:`ws_url`, :attr:`core`, :attr:`clock` and :attr:`faults`
    are available; :attr:`faces` holds the faces and :attr:`limiter` the first one's rate
    limiter; :meth:`stop` shuts everything down. The cores' dead-man countdowns
    (:mod:`~real_trade.sim.countdowns`) run on the wall clock, whatever the speed, unless stepped.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        market: MarketSource | str | Path = "synthetic",
        symbols: tuple[str, ...] | list[str] = ("BTC/USDT",),
        speed: float = 1.0,
        stepped: bool = False,
        seed: int = 0,
        start_ms: int | None = None,
        *,
        rate_limits: RateLimits | None = None,
        allow_remote: bool = False,
        pump_interval_s: float = 0.05,
        ws_settings: WsSettings | None = None,
        faces: tuple[str, ...] | list[str] = ("binance",),
        perpetuals: tuple[str, ...] | list[str] = (),
        tls: TlsSpec | None = None,
    ) -> None:
        """Configure the simulator (nothing runs until :meth:`start`); ``ValueError`` for an
        unknown face or a non-loopback host, ``OSError`` for unreadable ``tls`` files."""
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"host {host!r} is not a loopback address; the simulator (and its /admin/ "
                "endpoint) binds to loopback only unless allow_remote=True"
            )
        self.host = host
        self.port = port
        self._ssl = None if tls is None else server_tls_context(tls)
        self._speed = speed
        self._stepped = stepped
        self.seed = seed
        self._pump_interval_s = pump_interval_s
        self.clock, self.market = self._build_market(
            market, symbols, speed, stepped, seed, start_ms
        )
        self.faults = FaultPlan(seed)
        self.bus = EventBus(synchronous=True, name="sim")
        rules = None
        if perpetuals:
            from real_trade.sim.derivatives.rules import linear_perpetual
            from real_trade.sim.rules import rules_for_market

            perps = {joined_symbol_id(s) for s in perpetuals}
            rules = {
                sym: linear_perpetual(r) if sym in perps else r
                for sym, r in rules_for_market(self.market).items()
            }
        # dead-man countdowns are real time on a venue: the wall clock unless stepped by hand
        countdowns = None if stepped else SystemClock()
        self.core = ExchangeCore(
            self.clock,
            self.market,
            self.bus,
            rules=rules,
            seed=seed,
            pump_budget_s=None if stepped else PUMP_BUDGET_S,
            countdown_clock=countdowns,
        )
        self.context = FaceContext(self.core, self.clock, self.faults)
        self.faces: list[Face] = [
            make_face(name, rate_limits=rate_limits, ws_settings=ws_settings) for name in faces
        ]
        if not self.faces:
            raise ValueError("a simulator serves at least one face")
        self.futures_bus: EventBus | None = None
        self.futures_core: ExchangeCore | None = None
        self.contexts: dict[str, FaceContext] = {"spot": self.context}
        if any(_serves_linear(f) for f in self.faces):
            self.futures_bus = EventBus(synchronous=True, name="sim-futures")
            self.futures_core = ExchangeCore(
                self.clock,
                self.market,
                self.futures_bus,
                rules=perpetual_rules(self.market),
                seed=seed,
                pump_budget_s=None if stepped else PUMP_BUDGET_S,
                countdown_clock=countdowns,
            )
            self.contexts["linear"] = FaceContext(self.futures_core, self.clock, self.faults)
        limiters = [f.limiter for f in self.faces if f.limiter is not None]
        self.limiter: RateLimiter = limiters[0] if limiters else RateLimiter(RateLimits())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._stopping: asyncio.Event | None = None
        self._closed = False

    @staticmethod
    def _build_market(
        market: MarketSource | str | Path,
        symbols: tuple[str, ...] | list[str],
        speed: float,
        stepped: bool,
        seed: int,
        start_ms: int | None,
    ) -> tuple[SimClock, MarketSource]:
        source: MarketSource
        if isinstance(market, str) and market == "synthetic":
            from real_trade.sim.market_synthetic import SyntheticMarket

            ids = [joined_symbol_id(s) for s in symbols]
            source = SyntheticMarket(
                ids, seed=seed, start_ms=start_ms, tick_ms=synthetic_tick_ms(speed, stepped)
            )
        elif isinstance(market, str | Path):
            from real_trade.sim.market_replay import CandleReplayMarket

            source = CandleReplayMarket(market, start_ms=start_ms, seed=seed)
        else:
            source = market
        # In real time a synthetic market runs on the wall clock (market time == wall time);
        # otherwise market time starts where the source starts playing.
        real_time = speed == 1.0 and not stepped and start_ms is None and market == "synthetic"
        clock_start = None if real_time else source.start_ms()
        clock = SimClock(start_ms=clock_start, speed=speed, stepped=stepped)
        return clock, source

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The HTTP base URL (``http://127.0.0.1:PORT``; ``https://`` when serving TLS)."""
        return f"{'https' if self.tls else 'http'}://{self._url_host()}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The websocket base URL (``ws://127.0.0.1:PORT``; ``wss://`` when serving TLS)."""
        return f"{'wss' if self.tls else 'ws'}://{self._url_host()}:{self.port}"

    @property
    def tls(self) -> bool:
        """Whether the simulator serves TLS (https and wss)."""
        return self._ssl is not None

    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive() and self._started.is_set()

    def start(self, timeout: float = 30.0) -> SimExchange:
        """Start serving in a background thread; return once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("SimExchange already started")
        if self._closed:
            raise RuntimeError("a stopped SimExchange cannot be restarted; create a new one")
        self._thread = threading.Thread(target=self._run, name="sim-exchange", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError(f"simulator did not start within {timeout}s")
        if self._start_error is not None:
            self._thread.join(timeout)
            self._thread = None
            raise RuntimeError(f"simulator failed to start: {self._start_error}") from (
                self._start_error
            )
        return self

    def _run(self) -> None:
        loop = _new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        finally:
            with contextlib.suppress(Exception):
                _cancel_leftovers(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        self.context.loop = asyncio.get_running_loop()
        try:
            for ctx in self.contexts.values():
                ctx.loop = self.context.loop
            app = create_exchange_app(
                self.context,
                self.faces,
                pump_interval_s=None if self._stepped else self._pump_interval_s,
                contexts=self.contexts,
            )
            runner = web.AppRunner(app, handle_signals=False, access_log=None)
        except Exception as exc:
            self._start_error = exc
            self._started.set()
            return
        try:
            await runner.setup()
            site = web.TCPSite(
                runner, self.host, self.port, reuse_address=True, ssl_context=self._ssl
            )
            await site.start()
            self._runner = runner
            addr = runner.addresses[0]
            self.port = int(addr[1])
        except Exception as exc:  # reported by start(), which raises it in the caller
            self._start_error = exc
            self._started.set()
            await runner.cleanup()
            return
        self._started.set()
        try:
            await self._stopping.wait()
        finally:
            await runner.cleanup()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving, close every connection and join the thread (idempotent)."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout)
        self._thread = None
        self._closed = True
        self.bus.close()
        if self.futures_bus is not None:
            self.futures_bus.close()

    def __enter__(self) -> SimExchange:
        """Start the server (if not started) and return it."""
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    # -- helpers for tests and tools -------------------------------------------------------
    def call(self, fn: Any, *args: Any, timeout: float = 30.0) -> Any:
        """Run ``fn(*args)`` on the server's event loop and return its result (thread-safe)."""
        loop = self._loop
        if loop is None or not self.running:
            return fn(*args)

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout)

    def create_account(
        self,
        balances: Mapping[str, float | str | Decimal],
        *,
        futures_balances: Mapping[str, float | str | Decimal] | None = None,
        **kwargs: Any,
    ) -> tuple[str, str]:
        """Open an account with ``balances``; return its ``(api_key, secret)``.

        With a USD-M face the same key also opens the account's futures wallet, holding
        ``futures_balances`` (default: ``balances``) at USD-M's default fees (0.02 % maker,
        0.05 % taker), as one Binance key trades spot and futures.
        """
        acct = self.core.create_account(dict(balances), **kwargs)
        if self.futures_core is not None:
            self.futures_core.create_account(
                dict(balances if futures_balances is None else futures_balances),
                maker_fee=Decimal("0.0002"),
                taker_fee=Decimal("0.0005"),
                api_key=acct.api_key,
                secret=acct.secret,
            )
        return acct.api_key, acct.secret

    def advance(self, seconds: float) -> int:
        """Move a stepped clock ``seconds`` forward and play the market up to it, synchronously.

        Runs on the server's loop, then yields to it once more so the websocket faces have
        queued what the pump published. Returns the number of market ticks played.
        """
        if not self.clock.stepped:
            raise ValueError("advance() needs a stepped simulator (SimExchange(stepped=True))")

        def step() -> int:
            self.clock.advance(seconds)
            ticks = self.core.pump()
            if self.futures_core is not None:
                self.futures_core.pump()
            return ticks

        ticks: int = self.call(step)
        self.call(lambda: None)
        return ticks

    def ccxt_urls(self, venue: str = "binance") -> dict[str, Any]:
        """The ccxt ``urls`` override: every REST (and websocket) API of ``venue`` (a face this
        server serves: ``"binance"``, ``"bybit"``, ``"okx"``) at this server."""
        return ccxt_urls_for(self.url, venue)

    def ccxt_config(
        self,
        api_key: str | None = None,
        secret: str | None = None,
        market_type: str = "spot",
        venue: str = "binance",
    ) -> dict[str, Any]:
        """A complete ccxt/ccxt.pro config of ``venue`` for this server.

        ``venue="binance"``: spot markets, or with ``market_type="future"`` the USD-M perpetuals
        (for ``ccxt.binanceusdm`` or ``ccxt.binance``; needs the ``binance_futures`` face).
        ``venue="bybit"`` is for ``ccxt.bybit``: its ``spot`` and ``linear`` markets are loaded.
        ``venue="okx"`` is for ``ccxt.okx`` (``spot`` and ``swap`` markets, the face's
        passphrase as ``password``; needs the ``okx`` face).
        Errors map to ccxt's classes as on the venue's own hosts (Binance's per-market error
        table: :func:`~real_trade.sim.ccxt_error_tables.ccxt_exceptions_for`).
        """
        if venue == "okx":
            from real_trade.sim.okx.auth import DEFAULT_PASSPHRASE

            face = next((f for f in self.faces if f.name == "okx"), None)
            okx: dict[str, Any] = {
                "urls": self.ccxt_urls("okx"),
                "enableRateLimit": False,
                "password": getattr(face, "passphrase", DEFAULT_PASSPHRASE),
                "options": {"fetchMarkets": {"types": ["spot", "swap"]}, "defaultType": "spot"},
            }
            if api_key is not None:
                okx["apiKey"] = api_key
            if secret is not None:
                okx["secret"] = secret
            return okx
        if venue == "bybit":
            bybit: dict[str, Any] = {
                "urls": self.ccxt_urls("bybit"),
                "enableRateLimit": False,
                "options": {
                    "fetchMarkets": {"types": ["spot", "linear"]},
                    "defaultType": "spot",
                },
            }
            if api_key is not None:
                bybit["apiKey"] = api_key
            if secret is not None:
                bybit["secret"] = secret
            return bybit
        if market_type not in ("spot", "future"):
            raise ValueError(f"market_type must be 'spot' or 'future', not {market_type!r}")
        config: dict[str, Any] = {
            "urls": self.ccxt_urls(),
            "exceptions": ccxt_exceptions_for("binance", market_type),
            "enableRateLimit": False,
            "options": {
                "defaultType": market_type,
                "fetchMarkets": {"types": ["spot" if market_type == "spot" else "linear"]},
                "fetchMargins": False,
                "adjustForTimeDifference": False,
            },
        }
        if market_type == "future":
            config["options"]["fetchCurrencies"] = False
        if api_key is not None:
            config["apiKey"] = api_key
        if secret is not None:
            config["secret"] = secret
        return config

    def __repr__(self) -> str:
        """Describe the server without any credential."""
        state = "running" if self.running else "stopped"
        return f"SimExchange({self.url}, {state}, symbols={list(self.core.symbols())})"


def _serves_linear(face: Face) -> bool:
    """Whether ``face`` trades linear perpetuals over the futures core (``market_kind`` or
    ``market_kinds``)."""
    kinds = getattr(face, "market_kinds", (getattr(face, "market_kind", "spot"),))
    return "linear" in kinds


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's when it is installed (about twice the request rate), else
    asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and await every task still pending on ``loop`` (clean shutdown, no warnings)."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
