"""Venue capability tables: what differs between exchanges, as data rather than code.

A :class:`VenueSpec` holds everything real_trade needs to know about one venue: its ccxt id, the
market types it offers and the ccxt ``defaultType`` each maps to, whether it needs a passphrase,
whether it has a testnet or a demo environment, which order types it supports natively (the rest
are emulated), and quirks. ``BinanceBroker``/``BinanceData`` and friends carry no code of their own:
they look their venue up here, and any other ccxt exchange id works through :func:`get_venue`,
which derives a spec from ccxt's own ``has`` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from real_trade.errors import ConfigError

__all__ = ["BINANCE", "BYBIT", "KNOWN_VENUES", "OKX", "ORDER_TYPES", "VenueSpec", "get_venue"]

#: Order types a backtrader strategy can ask for (backtrader's own names).
ORDER_TYPES: frozenset[str] = frozenset(
    {"Market", "Limit", "Stop", "StopLimit", "StopTrail", "StopTrailLimit", "OCO", "Bracket"}
)


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class VenueSpec:
    """What real_trade knows about one venue (see the module docstring).

    ``market_types`` maps our market type names (``spot``, ``future`` = USDⓈ-margined perpetual /
    linear, ``delivery`` = coin-margined / inverse, ``swap``) to the ccxt ``defaultType`` option.
    ``native_order_types`` are sent to the venue as such; the other :data:`ORDER_TYPES` are
    emulated locally by the broker. ``native_kline_stream`` names the venue's native websocket
    bar source, the fast path a feed with ``live_source="auto"``/``"native"`` takes, as
    ``"module:factory"`` with ``factory(client, symbol, timeframe) -> LiveBarSource | None``
    (imported on first use; None: ccxt.pro ``watch_ohlcv`` only). ``quirks`` holds named venue
    peculiarities that code checks by key (e.g. ``"ws_spot_url_contains"``; ``"ccxt_options"``
    is merged into the ccxt client's ``options`` by the venue connection).
    """

    name: str
    ccxt_id: str
    display_name: str
    market_types: Mapping[str, str] = field(default_factory=lambda: _frozen({"spot": "spot"}))
    needs_passphrase: bool = False
    has_testnet: bool = False
    has_demo: bool = False
    native_order_types: frozenset[str] = frozenset({"Market", "Limit"})
    has_websocket: bool = True
    native_kline_stream: str | None = None
    quirks: Mapping[str, Any] = field(default_factory=lambda: _frozen({}))

    def ccxt_default_type(self, market_type: str) -> str:
        """The ccxt ``defaultType`` for ``market_type``; a ConfigError names the valid ones."""
        try:
            return self.market_types[market_type]
        except KeyError:
            valid = ", ".join(sorted(self.market_types))
            raise ConfigError(
                f"{self.display_name} has no market type {market_type!r}",
                field="market_type",
                fix=f"use one of: {valid}",
            ) from None

    def emulated_order_types(self) -> frozenset[str]:
        """Order types the broker emulates locally because the venue lacks them."""
        return ORDER_TYPES - self.native_order_types

    def required_credentials(self) -> tuple[str, ...]:
        """The credential fields real (testnet or live) trading needs on this venue."""
        return ("apikey", "secret", "passphrase") if self.needs_passphrase else ("apikey", "secret")

    def check_credentials(self, credentials: Mapping[str, str | None]) -> None:
        """Keys are optional, but partial keys are a mistake: ConfigError names the missing
        field (``credentials`` maps ``apikey``/``secret``/``passphrase`` to plain text)."""
        if not any(credentials.values()):
            return
        needed = self.required_credentials()
        missing = [name for name in needed if not credentials.get(name)]
        if missing:
            raise ConfigError(
                f"{self.display_name} trading needs {', '.join(needed)}; "
                f"missing: {', '.join(missing)}",
                field=missing[0],
                fix=f"give {missing[0]}=..., or no credentials at all for public data and paper",
            )


BINANCE = VenueSpec(
    name="binance",
    ccxt_id="binance",
    display_name="Binance",
    market_types=_frozen({"spot": "spot", "future": "future", "delivery": "delivery"}),
    has_testnet=True,
    has_demo=True,
    native_order_types=frozenset({"Market", "Limit", "Stop", "StopLimit", "OCO"}),
    native_kline_stream="real_trade.feeds.binance_klines:binance_kline_source",
    quirks=_frozen(
        {
            # ccxt.pro treats a websocket as spot only when its URL contains "/stream".
            "ws_spot_url_contains": "/stream",
            # Market-data connections are closed by the venue after 24 h.
            "ws_max_connection_seconds": 24 * 3600,
            # Unknown order: -2011 on cancel, -2013 on query.
            "unknown_order_codes": ("-2011", "-2013"),
            "client_order_id_max_len": 36,
            # spot's user data comes over the WebSocket API after userDataStream.subscribe
            # (ccxt.pro 4.5: .signature): one subscription serves all three streams, up once
            # Binance answers it with a subscriptionId; USDⓈ-M's listenKey URL needs none
            "private_channels": _frozen(
                {
                    "orders": "userDataStream",
                    "my_trades": "userDataStream",
                    "balance": "userDataStream",
                }
            ),
            "private_channels_types": ("spot",),
        }
    ),
)

BYBIT = VenueSpec(
    name="bybit",
    ccxt_id="bybit",
    display_name="Bybit",
    market_types=_frozen({"spot": "spot", "future": "swap", "swap": "swap", "delivery": "future"}),
    has_testnet=True,
    has_demo=True,
    native_order_types=frozenset({"Market", "Limit", "Stop", "StopLimit", "StopTrail"}),
    quirks=_frozen(
        {
            "client_order_id_max_len": 36,
            "ws_ping_seconds": 20,
            # ccxt's fetchOrder on a unified account refuses to run (ArgumentsRequired) unless
            # told the venue only finds an order among the account's last 500: we know.
            "ccxt_options": _frozen({"fetchOrder": _frozen({"acknowledged": True})}),
            "leverage_unchanged_error": "110043",  # an unchanged leverage is refused: no error
            "funding_on_executions": True,  # execType Funding on the execution stream
            # ccxt's fetchPositions takes at most one symbol (ExchangeError otherwise)
            "positions_one_symbol_per_request": True,
            # the private topic each user-data stream subscribes (after "auth"): a stream is up
            # once Bybit confirms it (venues/streams.py)
            "private_channels": _frozen(
                {"orders": "order", "my_trades": "execution", "balance": "wallet"}
            ),
        }
    ),
)

OKX = VenueSpec(
    name="okx",
    ccxt_id="okx",
    display_name="OKX",
    market_types=_frozen({"spot": "spot", "future": "swap", "swap": "swap", "delivery": "future"}),
    needs_passphrase=True,
    has_testnet=False,
    has_demo=True,
    native_order_types=frozenset({"Market", "Limit", "Stop", "StopLimit", "StopTrail", "OCO"}),
    quirks=_frozen(
        {
            "client_order_id_max_len": 32,
            "demo_header": "x-simulated-trading",
            # the margin mode goes with the leverage (set-leverage's mgnMode) and each order's
            # tdMode, not a setting of its own
            "margin_mode_per_order": True,
            "funding_bills": True,  # funding is a bill (type 8), read after balance updates
            # the private channel each user-data stream subscribes (after "login"; ccxt.pro
            # reads fills from the orders channel): a stream is up once OKX confirms it
            "private_channels": _frozen(
                {"orders": "orders", "my_trades": "orders", "balance": "account"}
            ),
        }
    ),
)

KNOWN_VENUES: Mapping[str, VenueSpec] = _frozen({v.name: v for v in (BINANCE, BYBIT, OKX)})


def get_venue(name: str) -> VenueSpec:
    """Return the spec of venue ``name``: a first-class venue, or any exchange ccxt knows.

    For an exchange without a hand-written table, the spec is derived from ccxt's own metadata
    (``has``, ``urls``, ``requiredCredentials``). An unknown id raises ConfigError naming the
    closest ccxt ids.
    """
    key = name.strip().lower()
    if key in KNOWN_VENUES:
        return KNOWN_VENUES[key]
    import ccxt  # heavy: only when a generic venue is asked for

    if key not in ccxt.exchanges:
        import difflib

        close = difflib.get_close_matches(key, ccxt.exchanges, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "see ccxt.exchanges for the list"
        raise ConfigError(f"unknown exchange {name!r}", field="exchange", fix=hint)
    exchange = getattr(ccxt, key)()
    has = exchange.has
    native = {"Market", "Limit"}
    if has.get("createStopOrder") or has.get("createStopLimitOrder"):
        native |= {"Stop", "StopLimit"}
    if has.get("createTrailingPercentOrder") or has.get("createTrailingAmountOrder"):
        native.add("StopTrail")
    default_type = exchange.options.get("defaultType") or "spot"
    market_types = {"spot": "spot"} if has.get("spot") else {}
    if has.get("swap"):
        market_types.update({"swap": "swap", "future": "swap"})
    if has.get("future"):
        market_types["delivery"] = "future"
    if not market_types:
        market_types = {default_type: default_type}
    import ccxt.pro as ccxtpro

    return VenueSpec(
        name=key,
        ccxt_id=key,
        display_name=getattr(exchange, "name", key) or key,
        market_types=_frozen(market_types),
        needs_passphrase=bool(exchange.requiredCredentials.get("password")),
        has_testnet="test" in exchange.urls,
        has_demo="demo" in exchange.urls,
        native_order_types=frozenset(native),
        has_websocket=key in ccxtpro.exchanges,
    )
