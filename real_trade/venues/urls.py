"""Endpoint sets per venue: live, testnet (ccxt sandbox), demo, and the simulator redirect.

Which endpoints a client talks to is decided here, once, by :func:`resolve_endpoints`:

* ``sim`` — a simulator URL is in effect (:func:`effective_sim_url`: the argument, else the
  config's ``sim_url``, else the ``RT_SIM_URL`` environment variable, which the config system
  reads: :meth:`real_trade.config.RealTradeConfig.env_sim_url`). It wins over testnet and
  live: every REST and websocket URL of the ccxt client points at the simulator, using the
  simulator's own override function (:func:`real_trade.sim.server.ccxt_urls_for`). The simulator
  speaks Binance, Bybit and OKX so far, so it also serves every ccxt exchange built on one of
  them (:func:`protocol_family`: ``binanceus``, ``binanceusdm``...); another venue raises
  ConfigError saying so.
* ``testnet`` — ccxt's sandbox mode (``set_sandbox_mode(True)``), where the venue has a testnet;
  on a venue with only a demo environment (OKX) a testnet request means its demo.
* ``demo`` — the venue's demo trading (Binance/Bybit: ccxt ``enable_demo_trading``; OKX: ccxt's
  sandbox mode, which adds the ``x-simulated-trading`` header).
* ``live`` — the venue's production URLs, untouched.
* custom URLs — a ccxt ``urls`` override the user gave (a store whose ``_create_exchange`` built
  its own ccxt object with its own ``urls``): used as given, in ``testnet`` mode when the store
  asked for the testnet, else ``live``; no sandbox or demo switch is applied on top. The
  simulator still wins over them.

:func:`ccxt_urls` shows the URL set a mode resolves to, as ccxt would use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from real_trade.config.settings import SIM_URL_ENV
from real_trade.errors import ConfigError
from real_trade.venues.spec import VenueSpec

__all__ = [
    "SIM_URL_ENV",
    "VenueEndpoints",
    "VenueMode",
    "apply_endpoints",
    "ccxt_urls",
    "effective_sim_url",
    "protocol_family",
    "resolve_endpoints",
    "simulator_ccxt_urls",
]

VenueMode = Literal["live", "testnet", "demo", "sim"]
"""Where a client's requests go: production, the venue's testnet or demo, or the simulator."""

# ccxt ids of the venues whose protocols the simulator speaks.
_SIM_SPEAKS: tuple[str, ...] = ("binance", "bybit", "okx")


def protocol_family(ccxt_id: str) -> str | None:
    """The wire protocol of a ``ccxt_id`` client that the simulator speaks: ``"binance"``,
    ``"bybit"`` or ``"okx"`` for those ids and for every ccxt exchange built on one of them
    (``binanceus``, ``binanceusdm``, ``okxus``, ...: a subclass of that ccxt class, speaking
    its wire); None for any other exchange."""
    if ccxt_id in _SIM_SPEAKS:
        return ccxt_id
    import ccxt

    cls = getattr(ccxt, ccxt_id, None)
    if not isinstance(cls, type):
        return None
    for family in _SIM_SPEAKS:
        if issubclass(cls, getattr(ccxt, family)):
            return family
    return None


# ccxt fetchMarkets types to load per ccxt defaultType, when talking to the simulator.
_SIM_MARKET_TYPES: Mapping[str, tuple[str, ...]] = {
    "spot": ("spot",),
    "future": ("linear",),
    "swap": ("linear",),
    "delivery": ("inverse",),
}
# OKX names its market types itself (ccxt okx: spot, swap, future, option). Its private
# ``orders`` channel pushes every type by default (instType ANY): a client that loaded only
# these types subscribes to them alone, or ccxt meets an unknown symbol (BadSymbol) when the
# account trades another type elsewhere.
_SIM_MARKET_TYPES_OKX: Mapping[str, tuple[str, ...]] = {
    "spot": ("spot",),
    "future": ("swap",),
    "swap": ("swap",),
}


@dataclass(frozen=True)
class VenueEndpoints:
    """The resolved endpoint choice for one client: mode, URL overrides and ccxt switches.

    ``urls`` is a ccxt ``urls`` override (the simulator's) or ``None`` for the venue's own;
    ``sandbox`` asks for ccxt's ``set_sandbox_mode(True)``, ``demo`` for the venue's demo
    trading; ``options`` are extra ccxt options (e.g. which market types to load from the
    simulator). ``sim_url`` is the simulator's base URL in ``sim`` mode. ``custom_urls``: ``urls``
    are the user's own override (not the venue's standard sets).
    """

    mode: VenueMode
    urls: Mapping[str, Any] | None = None
    sandbox: bool = False
    demo: bool = False
    sim_url: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    custom_urls: bool = False


def effective_sim_url(
    argument: str | None = None,
    config_sim_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """The simulator URL in effect: ``argument``, else the config's, else ``RT_SIM_URL``.

    Blank strings count as unset; the result has no trailing slash. The environment variable
    is read by the config system (:meth:`RealTradeConfig.env_sim_url`, checked as a config
    file's ``sim_url`` is); ``env`` defaults to ``os.environ``.
    """
    from real_trade.config.settings import RealTradeConfig

    for candidate in (argument, config_sim_url):
        if candidate is not None and candidate.strip():
            return candidate.strip().rstrip("/")
    found = RealTradeConfig.env_sim_url(env)
    return found.rstrip("/") if found else None


def simulator_ccxt_urls(venue: VenueSpec, sim_url: str) -> dict[str, Any]:
    """The ccxt ``urls`` override that points every API of ``venue`` at the simulator.

    Comes from the simulator's own function, so both sides agree on every path. A venue the
    simulator does not speak raises ConfigError naming ``sim_url``.
    """
    protocol = protocol_family(venue.ccxt_id)
    if protocol is None:
        raise ConfigError(
            f"the simulator speaks Binance, Bybit and OKX only so far; it cannot stand in for "
            f"{venue.display_name}",
            field="sim_url",
            fix=f"unset sim_url / {SIM_URL_ENV} for {venue.display_name}, or trade Binance, "
            "Bybit or OKX against the simulator",
        )
    from real_trade.sim.server import ccxt_urls_for

    return ccxt_urls_for(sim_url.rstrip("/"), protocol)


def resolve_endpoints(
    venue: VenueSpec,
    *,
    testnet: bool = False,
    demo: bool = False,
    sim_url: str | None = None,
    default_type: str = "spot",
    custom_urls: Mapping[str, Any] | None = None,
) -> VenueEndpoints:
    """Decide where a client of ``venue`` sends its requests (see the module docstring).

    ``sim_url`` must already be the effective one (:func:`effective_sim_url`). ``default_type``
    is the ccxt ``defaultType`` (it picks the market types loaded from the simulator).
    ``custom_urls`` is the user's own ccxt ``urls`` override, if any. Asking for a testnet or
    demo the venue lacks raises ConfigError naming the field.
    """
    if sim_url:
        urls = simulator_ccxt_urls(venue, sim_url)
        table = (
            _SIM_MARKET_TYPES_OKX if protocol_family(venue.ccxt_id) == "okx" else _SIM_MARKET_TYPES
        )
        types = list(table.get(default_type, (default_type,)))
        options: dict[str, Any] = {"fetchMarkets": {"types": types}, "fetchMargins": False}
        if table is _SIM_MARKET_TYPES_OKX:  # the private streams: only the types loaded
            options["watchOrders"] = options["watchMyTrades"] = {"type": types[0]}
        return VenueEndpoints(mode="sim", urls=urls, sim_url=sim_url, options=options)
    if custom_urls:
        mode: VenueMode = "testnet" if testnet else "demo" if demo else "live"
        return VenueEndpoints(mode=mode, urls=dict(custom_urls), custom_urls=True)
    if demo:
        if not venue.has_demo:
            raise ConfigError(
                f"{venue.display_name} has no demo trading environment",
                field="demo",
                fix="use testnet=True where the venue has one, or the simulator (RT_SIM_URL)",
            )
        return _demo_endpoints(venue)
    if testnet:
        if venue.has_testnet:
            return VenueEndpoints(mode="testnet", sandbox=True)
        if venue.has_demo:
            return _demo_endpoints(venue)
        raise ConfigError(
            f"{venue.display_name} has no testnet",
            field="testnet",
            fix="use testnet=False with paper trading, or the simulator (RT_SIM_URL)",
        )
    return VenueEndpoints(mode="live")


def _demo_endpoints(venue: VenueSpec) -> VenueEndpoints:
    """Demo trading: a header on the live URLs (OKX, via ccxt sandbox) or ccxt's demo URLs."""
    if "demo_header" in venue.quirks:
        return VenueEndpoints(mode="demo", sandbox=True)
    return VenueEndpoints(mode="demo", demo=True)


def apply_endpoints(exchange: Any, endpoints: VenueEndpoints) -> None:
    """Switch a freshly built ccxt exchange to ``endpoints`` (sandbox or demo; URLs at build)."""
    if endpoints.sandbox:
        exchange.set_sandbox_mode(True)
    if endpoints.demo:
        exchange.enable_demo_trading(True)


def ccxt_urls(
    venue: VenueSpec,
    mode: VenueMode = "live",
    sim_url: str | None = None,
) -> dict[str, Any]:
    """The ccxt ``urls['api']`` a client of ``venue`` uses in ``mode`` (for display and tests).

    ``sim`` needs ``sim_url``. Builds a throw-away synchronous ccxt object; no request is made.
    """
    import ccxt

    if mode == "sim":
        if not sim_url:
            raise ConfigError("sim mode needs the simulator's URL", field="sim_url")
        endpoints = resolve_endpoints(venue, sim_url=sim_url)
    else:
        endpoints = resolve_endpoints(venue, testnet=mode == "testnet", demo=mode == "demo")
    config: dict[str, Any] = {}
    if endpoints.urls is not None:
        config["urls"] = dict(endpoints.urls)
    exchange = getattr(ccxt, venue.ccxt_id)(config)
    apply_endpoints(exchange, endpoints)
    api = exchange.urls["api"]
    return dict(api) if isinstance(api, Mapping) else {"rest": api}
