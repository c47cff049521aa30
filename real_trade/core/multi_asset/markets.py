"""A crypto venue's markets as :class:`AssetInfo`: the terms come from the venue, not a table.

:func:`asset_info_from_market` takes a ccxt market (what ``VenueClient.market(symbol)`` and
``BaseStore.get_contract_details(symbol)`` return): a spot market becomes a ``CRYPTO`` asset, a
linear perpetual (``swap``) or dated future a ``FUTURE`` whose contract size, settle currency and
taker fee are the venue's. Precision is read as ccxt's tick sizes (``TICK_SIZE`` mode, which
every ccxt exchange uses since ccxt 4.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from real_trade.core.multi_asset.assets import (
    AssetInfo,
    AssetType,
    CommissionKind,
    CommissionModel,
    parse_option_type,
)
from real_trade.errors import ConfigError

__all__ = ["asset_info_from_market"]


def asset_info_from_market(
    market: Mapping[str, Any], *, exchange: str | None = None, leverage: float = 1.0
) -> AssetInfo:
    """The :class:`AssetInfo` of a ccxt market; ``leverage`` sets a contract's margin rate.

    Spot: ``CRYPTO``, paid in full (``leverage`` must be 1). Swap or future (linear only):
    ``FUTURE`` with ``contractSize``, ``margin_rate = 1 / leverage`` (refused above the market's
    ``limits.leverage.max``), ``perpetual`` for a swap. Option: ``OPTION`` with its strike and
    type. The commission is the market's taker fee as a percentage of notional. Raises
    ConfigError for an inverse contract or a market of another kind.
    """
    symbol = _required(market, "symbol")
    venue = exchange or ""
    precision = market.get("precision") or {}
    tick = _positive_or(precision.get("price"), 0.01)
    lot = _positive_or(precision.get("amount"), 1e-8)
    commission = CommissionModel(CommissionKind.PERCENTAGE, float(market.get("taker") or 0.0))
    kind = str(market.get("type") or ("spot" if market.get("spot") else ""))
    if kind == "spot" or market.get("spot"):
        if leverage != 1.0:
            raise ConfigError(
                f"{symbol} is a spot market: it is paid in full",
                field="leverage",
                fix="use leverage=1 for spot, or the perpetual's market for leverage",
            )
        return AssetInfo(
            symbol,
            AssetType.CRYPTO,
            venue,
            _required(market, "quote"),
            tick_size=tick,
            lot_size=lot,
            commission=commission,
        )
    if not market.get("contract"):
        raise ConfigError(
            f"{symbol} is a {kind or 'unknown'} market, neither spot nor a contract",
            field="market",
            fix="pass a spot, swap, future or option market from the venue's load_markets()",
        )
    if market.get("inverse") or market.get("linear") is False:
        raise ConfigError(
            f"{symbol} is an inverse contract (valued in the base asset): not modelled",
            field="market",
            fix="use the linear (USDT- or USDC-settled) contract",
        )
    _check_leverage(market, symbol, leverage)
    size = _positive_or(market.get("contractSize"), 1.0)
    settle = str(market.get("settle") or market.get("quote") or "")
    expiry = market.get("expiryDatetime")
    if kind == "option" or market.get("option"):
        return AssetInfo(
            symbol,
            AssetType.OPTION,
            venue,
            settle,
            contract_size=size,
            tick_size=tick,
            option_type=parse_option_type(str(market.get("optionType")).lower()),
            strike_price=float(market["strike"]),
            expiration_date=expiry,
            lot_size=lot,
            commission=commission,
            underlying=market.get("base"),
        )
    return AssetInfo(
        symbol,
        AssetType.FUTURE,
        venue,
        settle,
        contract_size=size,
        tick_size=tick,
        margin_rate=1.0 / leverage,
        expiration_date=None if market.get("swap") else expiry,
        lot_size=lot,
        commission=commission,
        perpetual=bool(market.get("swap")),
        underlying=market.get("base"),
    )


def _check_leverage(market: Mapping[str, Any], symbol: str, leverage: float) -> None:
    limit = ((market.get("limits") or {}).get("leverage") or {}).get("max")
    if not leverage >= 1.0:
        raise ConfigError(f"leverage must be >= 1, not {leverage!r}", field="leverage")
    if limit and leverage > float(limit):
        raise ConfigError(
            f"leverage {leverage} is above {symbol}'s maximum {limit}",
            field="leverage",
            fix=f"use at most {limit}",
        )


def _required(market: Mapping[str, Any], key: str) -> str:
    value = market.get(key)
    if not value:
        raise ConfigError(
            f"the market has no {key!r}: not a ccxt market",
            field="market",
            fix="pass VenueClient.market(symbol) or exchange.market(symbol)",
        )
    return str(value)


def _positive_or(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default
