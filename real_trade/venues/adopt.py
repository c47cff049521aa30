"""A ccxt exchange object the user built, turned into a :class:`VenueClient` (seed 002's hook).

Seed 002's guide to a new exchange has the store's ``_create_exchange`` build its own ccxt
object (``self._exchange = ccxt.newexchange({...})``). real_trade's client runs every call on
its asyncio I/O thread with ccxt.pro, so the user's object is not called by the house: it is a
*recipe*. :func:`ccxt_recipe` reads what the user asked for, against a fresh object of the same
class (credentials, ``urls``, ``options``, headers, timeouts, proxy, sandbox mode), and
:func:`adopt_ccxt_exchange` builds the client that does the same on the I/O thread:

* the venue is the object's ccxt id (``binance``: the Binance table; another id: derived from
  ccxt's metadata, :func:`real_trade.venues.get_venue`);
* ``urls``: the class defaults mean the venue's own endpoints; the class's ``test`` URLs (or
  ccxt's sandbox mode) mean its testnet; anything else is used as given (``custom_urls``);
* a simulator URL in effect (``sim_url``, else ``RT_SIM_URL``) wins over all of them, as for any
  store, and the user's own object is redirected to the simulator too
  (:func:`redirect_to_simulator`), so calls a subclass makes on ``self._exchange`` stay offline.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from real_trade.errors import ConfigError
from real_trade.venues.client import VenueClient
from real_trade.venues.spec import VenueSpec, get_venue
from real_trade.venues.urls import VenueEndpoints

__all__ = [
    "CcxtRecipe",
    "adopt_ccxt_exchange",
    "ccxt_recipe",
    "client_from_hook",
    "is_ccxt_exchange",
    "redirect_to_simulator",
]

# Top-level ccxt settings carried over when the user changed them.
_CARRIED = ("headers", "timeout", "enableRateLimit", "rateLimit", "uid")
_PROXY_ATTRS = ("httpsProxy", "httpProxy", "socksProxy")  # one proxy URL each


@dataclass(frozen=True)
class CcxtRecipe:
    """What a user-built ccxt object asks for: its venue, credentials and the settings that
    differ from a fresh object of its class (``market_type`` only when ``defaultType`` was set).
    ``sandbox``: the object points at the venue's testnet; ``custom_urls``: its own URLs."""

    venue: VenueSpec
    apikey: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)
    market_type: str | None = None
    sandbox: bool = False
    custom_urls: Mapping[str, Any] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict, repr=False)
    proxy: str | None = None


def is_ccxt_exchange(value: Any) -> bool:
    """Whether ``value`` looks like a ccxt exchange object (sync, async or pro)."""
    return all(hasattr(value, name) for name in ("id", "urls", "options", "describe"))


def ccxt_recipe(exchange: Any) -> CcxtRecipe:
    """Read what the user configured on ``exchange`` (see the module docstring)."""
    if not is_ccxt_exchange(exchange):
        raise ConfigError(
            f"_create_exchange built {type(exchange).__name__}, not a ccxt exchange",
            field="_create_exchange",
            fix="assign a ccxt object (self._exchange = ccxt.<id>({...})) or return one",
        )
    venue = get_venue(str(exchange.id))
    fresh = type(exchange)()
    api, default_urls = exchange.urls.get("api"), fresh.urls
    sandbox = bool(getattr(exchange, "isSandboxModeEnabled", False))
    custom_urls: dict[str, Any] | None = None
    if not sandbox and api != default_urls.get("api"):
        test = default_urls.get("test")
        # ccxt merges a ``urls`` config into the class's own: {"api": urls["test"]} arrives as
        # the live URL set overlaid with the test one
        if test is not None and api in (test, fresh.deep_extend(default_urls.get("api"), test)):
            sandbox = True
        else:
            custom_urls = {"api": copy.deepcopy(api)}
    missing = object()
    options = {
        k: copy.deepcopy(v)
        for k, v in (exchange.options or {}).items()
        if (fresh.options or {}).get(k, missing) != v
    }
    market_type = None
    default_type = options.pop("defaultType", None)
    if default_type:
        wanted = [
            name for name, ccxt_type in venue.market_types.items() if ccxt_type == default_type
        ]
        market_type = wanted[0] if wanted else None
    config = {
        name: copy.deepcopy(getattr(exchange, name))
        for name in _CARRIED
        if getattr(exchange, name, None) != getattr(fresh, name, None)
    }
    proxy = next((getattr(exchange, a) for a in _PROXY_ATTRS if getattr(exchange, a, None)), None)
    return CcxtRecipe(
        venue=venue,
        apikey=_text(getattr(exchange, "apiKey", None)),
        secret=_text(getattr(exchange, "secret", None)),
        passphrase=_text(getattr(exchange, "password", None)),
        market_type=market_type,
        sandbox=sandbox,
        custom_urls=custom_urls,
        options=options,
        config=config,
        proxy=str(proxy) if proxy else None,
    )


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value else None


def adopt_ccxt_exchange(
    exchange: Any,
    *,
    recipe: CcxtRecipe | None = None,
    market_type: str = "spot",
    testnet: bool = False,
    demo: bool = False,
    sim_url: str | None = None,
    proxy: str | None = None,
    **client_options: Any,
) -> VenueClient:
    """The client that does on the I/O thread what the user's ``exchange`` would do.

    ``market_type``/``testnet``/``demo``/``sim_url``/``proxy`` are the store's; the object's own
    ``defaultType``, sandbox mode and proxy win where it set them, and ``testnet=True`` is never
    widened to live (with the venue's standard URLs it means ccxt's sandbox mode). In sim mode
    the user's object itself is redirected to the simulator. ``recipe`` is
    :func:`ccxt_recipe` of ``exchange`` if already read; other keywords go to the client.
    """
    recipe = recipe or ccxt_recipe(exchange)
    options = {**recipe.options, **dict(client_options.pop("ccxt_options", None) or {})}
    client = VenueClient(
        recipe.venue,
        market_type=recipe.market_type or market_type,
        apikey=recipe.apikey,
        secret=recipe.secret,
        passphrase=recipe.passphrase,
        testnet=testnet or recipe.sandbox,
        demo=demo,
        sim_url=sim_url,
        proxy=recipe.proxy or proxy,
        ccxt_options=options,
        ccxt_config=recipe.config,
        custom_urls=recipe.custom_urls,
        **client_options,
    )
    if client.endpoints.mode == "sim":
        redirect_to_simulator(exchange, client.endpoints)
    return client


def redirect_to_simulator(exchange: Any, endpoints: VenueEndpoints) -> None:
    """Point the user's own ccxt object at the simulator of ``endpoints`` (sim mode only).

    Every URL of the object, the simulator's market-loading options, no clock adjustment (the
    simulator takes the caller's clock) and no proxy (the simulator is on loopback).
    """
    if endpoints.mode != "sim" or endpoints.urls is None:
        return
    exchange.urls = exchange.deep_extend(exchange.urls, copy.deepcopy(dict(endpoints.urls)))
    exchange.options = exchange.deep_extend(
        exchange.options, {**endpoints.options, "adjustForTimeDifference": False}
    )
    for name in (*_PROXY_ATTRS, "proxyUrl"):
        if getattr(exchange, name, None):
            setattr(exchange, name, None)


def client_from_hook(
    built: Any,
    *,
    owner: str,
    market_type: str = "spot",
    testnet: bool = False,
    demo: bool = False,
    sim_url: str | None = None,
    proxy: str | None = None,
    **client_options: Any,
) -> VenueClient:
    """The client behind what a store's ``_create_exchange`` hook made (``owner``: the store's
    class name, for the error): ``built`` itself if a :class:`VenueClient`, else the adoption
    of the ccxt object ``built`` (its credentials checked like a store's). None raises."""
    if isinstance(built, VenueClient):
        return built
    if built is None:
        raise ConfigError(
            f"{owner}._create_exchange built no exchange",
            field="_create_exchange",
            fix="assign the ccxt object to self._exchange (or return it), as seed 002 shows",
        )
    recipe = ccxt_recipe(built)
    given = {"apikey": recipe.apikey, "secret": recipe.secret, "passphrase": recipe.passphrase}
    recipe.venue.check_credentials(given)
    return adopt_ccxt_exchange(
        built,
        recipe=recipe,
        market_type=market_type,
        testnet=testnet,
        demo=demo,
        sim_url=sim_url,
        proxy=proxy,
        **client_options,
    )
