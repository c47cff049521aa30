"""The one factory of backtrader's three layers for a venue: the store, the broker, the feeds.

:func:`venue_classes` finds a venue's classes from the venue table
(:data:`real_trade.venues.KNOWN_VENUES`): ``BinanceStore``/``BinanceBroker``/``BinanceData`` are
named after the venue's display name; any other ccxt id gets the generic ``CCXTStore``,
``CCXTBroker`` and ``CCXTData``. :func:`build_store` makes the store of a
:class:`~real_trade.config.RealTradeConfig` and :func:`build_components` the store (unless
given), the broker and one feed per symbol of ``config.run_symbols``.

Both faces use it: :class:`~real_trade.engine.runner.TradingRunner` for each run, and the seeds'
``create_engine``/``create_<venue>_engine`` (:mod:`real_trade.common.engine_factory`), which
ask for the shared store of the keys (``get_instance``) and a history-only feed for a backtest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from real_trade.bus import EventBus
from real_trade.config import RealTradeConfig
from real_trade.venues.spec import KNOWN_VENUES
from real_trade.vocabulary import is_contract

__all__ = [
    "Components",
    "VenueClasses",
    "broker_accepts",
    "build_components",
    "build_store",
    "contract_market_type",
    "venue_classes",
]


@dataclass(frozen=True)
class VenueClasses:
    """The store, broker and data classes of one venue.

    ``ccxt_id`` is set for the generic CCXT classes only: the ``exchange`` their store needs.
    """

    store: Any
    broker: Any
    data: Any
    ccxt_id: str | None = None


def venue_classes(exchange: str) -> VenueClasses:
    """The classes of ``exchange`` (case-insensitive): the venue's own for a venue of the
    table, else the generic CCXT ones (the store checks the ccxt id when it is built)."""
    import real_trade.brokers as brokers
    import real_trade.feeds as feeds
    import real_trade.stores as stores

    key = exchange.strip().lower()
    spec = KNOWN_VENUES.get(key)
    if spec is not None:
        name = spec.display_name
        found = [
            getattr(stores, f"{name}Store", None),
            getattr(brokers, f"{name}Broker", None),
            getattr(feeds, f"{name}Data", None),
        ]
        if None not in found:
            return VenueClasses(*found)
    return VenueClasses(stores.CCXTStore, brokers.CCXTBroker, feeds.CCXTData, ccxt_id=key)


def broker_accepts(broker_cls: type, name: str) -> bool:
    """Whether ``broker_cls`` declares the backtrader parameter ``name``."""
    params = getattr(broker_cls, "params", None)
    getkeys = getattr(params, "_getkeys", None)
    return callable(getkeys) and name in getkeys()


_LINEAR_PERP_VENUES = frozenset({"binance", "bybit", "okx"})
"""Venues whose linear perpetuals the live path trades (``market_type="future"``)."""


def contract_market_type(config: RealTradeConfig) -> str:
    """The config's market type; on Binance, Bybit and OKX ``future`` (USDⓈ-M, linear, SWAP)
    when it says ``spot`` but every symbol of the run is a contract such as ``BTC/USDT:USDT``
    (the symbol says what it is)."""
    traded = config.run_symbols
    spot = config.market_type == "spot" and config.exchange in _LINEAR_PERP_VENUES
    if spot and traded and all(is_contract(s) for s in traded):
        return "future"
    return config.market_type


def build_store(
    config: RealTradeConfig,
    *,
    bus: EventBus | None = None,
    keys: bool | None = None,
    shared: bool = False,
) -> Any:
    """The store of ``config``'s venue, market type, testnet flag and ``sim_url``.

    ``keys``: give the store the credentials (default: only when not paper trading; paper
    trading reads public data only). ``shared``: the one store ``get_instance`` keeps for these
    keys, else a new one. ``bus``: the store's (None: the process bus).
    """
    classes = venue_classes(config.exchange)
    options: dict[str, Any] = {"market_type": contract_market_type(config)}
    if bus is not None:
        options["bus"] = bus
    if config.sim_url:
        options["sim_url"] = config.sim_url
    if classes.ccxt_id is not None:
        options["exchange"] = classes.ccxt_id
    apikey = secret = None
    if (not config.paper_trading) if keys is None else keys:
        apikey, secret, passphrase = config.credentials()  # the store unwraps SecretStr
        if passphrase is not None:
            options["passphrase"] = passphrase
    if shared:
        return classes.store.get_instance(apikey, secret, config.testnet, **options)
    return classes.store(apikey, secret, config.testnet, **options)


@dataclass
class Components:
    """What one run trades with: the store, the broker and one data feed per symbol."""

    store: Any
    broker: Any
    datas: list[Any]


def build_components(
    config: RealTradeConfig,
    *,
    name: str | None = None,
    bus: EventBus | None = None,
    journal: Any = None,
    risk: Any = None,
    store: Any = None,
    shared_store: bool = False,
    store_keys: bool | None = None,
    feed_options: Mapping[str, Any] | None = None,
) -> Components:
    """Build the store (unless given: :func:`build_store` with ``shared_store``/``store_keys``),
    the broker and the feeds of ``config.run_symbols``.

    The broker trades on paper unless ``config.paper_trading`` is off, with the config's
    ``initial_cash``, ``commission`` and ``paper_fill_from_book``; ``name`` is its ``run_id``;
    ``journal``/``risk`` reach it where it takes them. ``feed_options`` go to every feed
    (``historical``, ``history_bars``, ``qcheck``, ``live_source`` ...);
    ``run.history_bars`` is the default backfill. Unknown feed options raise ConfigError
    naming them.
    """
    classes = venue_classes(config.exchange)
    if store is None:
        store = build_store(config, bus=bus, keys=store_keys, shared=shared_store)
    broker_options: dict[str, Any] = {
        "paper_trading": config.paper_trading,
        "initial_cash": config.initial_cash,
        "commission": config.commission,
    }
    if name is not None:
        broker_options["run_id"] = name
    if bus is not None:
        broker_options["bus"] = bus
    if journal is not None and broker_accepts(classes.broker, "journal"):
        broker_options["journal"] = journal
    if risk is not None and broker_accepts(classes.broker, "risk"):
        broker_options["risk"] = risk
    if broker_accepts(classes.broker, "contracts"):
        broker_options["contracts"] = config.derivatives
    if config.paper_fill_from_book and broker_accepts(classes.broker, "paper_fill_from_book"):
        broker_options["paper_fill_from_book"] = True
    broker = classes.broker(store, **broker_options)
    options = dict(feed_options or {})
    if config.run.history_bars is not None:
        options.setdefault("history_bars", config.run.history_bars)
    datas = [
        classes.data.from_timeframe_string(config.timeframe, store, symbol=symbol, **options)
        for symbol in config.run_symbols
    ]
    return Components(store, broker, datas)
