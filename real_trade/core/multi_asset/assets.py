"""What an instrument is: its asset type, contract terms and commission model.

:class:`AssetInfo` holds the seed's fields (symbol, type, exchange, currency, contract size, tick
size, multiplier, margin rate, option terms) plus the lot size and the commission model. One
contract (or share, or lot) moves by ``contract_size * multiplier`` in ``currency`` when the price
moves by one: ``contract_size`` is units of the underlying per contract (50 for ES, 100 for an
equity option, 100,000 for a standard forex lot), ``multiplier`` the currency per unit per price
point (1.0 unless prices are quoted in other units, e.g. 10.0 for a 1,000-face bond quoted in % of
par).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

from real_trade.errors import ConfigError

__all__ = [
    "DEFAULT_COMMISSIONS",
    "AssetInfo",
    "AssetType",
    "CommissionKind",
    "CommissionModel",
    "OptionType",
    "create_bond_info",
    "create_crypto_info",
    "create_forex_info",
    "create_future_info",
    "create_option_info",
    "create_stock_info",
    "parse_asset_type",
    "parse_option_type",
]

_E = TypeVar("_E", bound=Enum)


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number, not {value!r}", field=name)


def _check_non_negative(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ConfigError(f"{name} must be a number >= 0, not {value!r}", field=name)


class AssetType(str, Enum):
    """The asset classes the seed names; the value is the seed's lower-case spelling."""

    STOCK = "stock"
    FUTURE = "future"
    OPTION = "option"
    FOREX = "forex"
    CRYPTO = "crypto"
    BOND = "bond"

    def __str__(self) -> str:
        return self.value


class OptionType(str, Enum):
    """A call or a put."""

    CALL = "call"
    PUT = "put"

    def __str__(self) -> str:
        return self.value


def parse_asset_type(value: AssetType | str) -> AssetType:
    """``value`` as an :class:`AssetType` (ConfigError naming the valid ones otherwise)."""
    return _parse(AssetType, value)


def parse_option_type(value: OptionType | str) -> OptionType:
    """``value`` as an :class:`OptionType` (ConfigError otherwise)."""
    return _parse(OptionType, value)


def _parse(enum: type[_E], value: object) -> _E:
    try:
        return enum(value)
    except ValueError:
        valid = ", ".join(member.value for member in enum)
        raise ConfigError(
            f"{value!r} is not a {enum.__name__}", field=enum.__name__, fix=f"use one of: {valid}"
        ) from None


class CommissionKind(str, Enum):
    """How a commission is computed from a fill of ``size`` at ``price``."""

    PER_SHARE = "per_share"  # |size| * rate, at least minimum
    PER_CONTRACT = "per_contract"  # |size| * rate, at least minimum
    PERCENTAGE = "percentage"  # |size| * price * point value * rate, at least minimum
    SPREAD = "spread"  # half the spread on each fill: |size| * point value * rate / 2

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CommissionModel:
    """A commission model: its kind, its rate and the minimum charged per fill (0: none).

    ``rate`` is in currency per share or contract, a fraction of notional (0.001 = 0.1%) or, for
    ``SPREAD``, the full bid-ask spread in price units (0.0002 = 2 pips of EUR/USD).
    """

    kind: CommissionKind
    rate: float
    minimum: float = 0.0

    def __post_init__(self) -> None:
        _check_non_negative("commission rate", self.rate)
        _check_non_negative("commission minimum", self.minimum)


#: The commission model of each asset type when its AssetInfo names none (retail-broker levels).
DEFAULT_COMMISSIONS: dict[AssetType, CommissionModel] = {
    AssetType.STOCK: CommissionModel(CommissionKind.PER_SHARE, 0.005, minimum=1.0),
    AssetType.FUTURE: CommissionModel(CommissionKind.PER_CONTRACT, 2.25),
    AssetType.OPTION: CommissionModel(CommissionKind.PER_CONTRACT, 0.65, minimum=1.0),
    AssetType.FOREX: CommissionModel(CommissionKind.SPREAD, 0.0002),
    AssetType.CRYPTO: CommissionModel(CommissionKind.PERCENTAGE, 0.001),
    AssetType.BOND: CommissionModel(CommissionKind.PERCENTAGE, 0.0005),
}


@dataclass(frozen=True)
class AssetInfo:
    """One instrument's terms (the seed's fields, plus ``lot_size``, ``commission``, ``perpetual``).

    ``margin_rate`` is the fraction of the contract value held as margin (1.0: paid in full).
    ``lot_size`` is the smallest size step (1 share or contract; 1e-5 BTC). ``commission`` is
    None for the asset type's :data:`DEFAULT_COMMISSIONS`.
    """

    symbol: str
    asset_type: AssetType
    exchange: str
    currency: str = "USD"
    contract_size: float = 1.0
    tick_size: float = 0.01
    multiplier: float = 1.0
    margin_rate: float = 1.0
    option_type: OptionType | None = None
    strike_price: float | None = None
    expiration_date: str | None = None
    lot_size: float = 1.0
    commission: CommissionModel | None = None
    perpetual: bool = False
    underlying: str | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ConfigError("an asset needs a symbol", field="symbol", fix="name the symbol")
        object.__setattr__(self, "asset_type", parse_asset_type(self.asset_type))
        for name in ("contract_size", "tick_size", "multiplier", "lot_size"):
            _check_positive(name, getattr(self, name))
        _check_positive("margin_rate", self.margin_rate)
        if self.margin_rate > 1.0:
            raise ConfigError(
                f"margin_rate {self.margin_rate} is above 1 (more than the contract value)",
                field="margin_rate",
                fix="give the fraction of the contract value held as margin, e.g. 0.1",
            )
        if self.asset_type is AssetType.OPTION:
            if self.option_type is None or self.strike_price is None:
                raise ConfigError(
                    f"option {self.symbol} needs option_type and strike_price",
                    field="option_type",
                    fix="use create_option_info(symbol, exchange, option_type, strike, expiry)",
                )
            object.__setattr__(self, "option_type", _parse(OptionType, self.option_type))
            _check_positive("strike_price", self.strike_price)

    @property
    def point_value(self) -> float:
        """Currency per contract for a one-unit price move: ``contract_size * multiplier``."""
        return self.contract_size * self.multiplier

    @property
    def commission_model(self) -> CommissionModel:
        """This asset's commission model, or its type's default."""
        return self.commission or DEFAULT_COMMISSIONS[self.asset_type]

    @property
    def stocklike(self) -> bool:
        """Backtrader's stock-like mode fits: paid in full, one currency unit per price point.

        Anything else (margined, or a point value other than 1, where backtrader's stock mode
        would cost ``size * price``) is booked futures-like with its margin.
        """
        return (
            self.asset_type in (AssetType.STOCK, AssetType.CRYPTO, AssetType.BOND)
            and self.margin_rate == 1.0
            and self.point_value == 1.0
        )

    def contract_value(self, price: float, size: float) -> float:
        """The notional of ``size`` contracts at ``price``: ``|size| * price * point_value``."""
        return abs(size) * price * self.point_value

    def margin_requirement(self, price: float, size: float) -> float:
        """The margin ``size`` contracts at ``price`` hold: contract value * ``margin_rate``."""
        return self.contract_value(price, size) * self.margin_rate


def create_stock_info(
    symbol: str, exchange: str, currency: str = "USD", *, tick_size: float = 0.01
) -> AssetInfo:
    """A stock: one share per unit, paid in full, per-share commission with a minimum."""
    return AssetInfo(symbol, AssetType.STOCK, exchange, currency, tick_size=tick_size)


def create_future_info(
    symbol: str,
    exchange: str,
    contract_size: float = 1.0,
    margin_rate: float = 0.1,
    currency: str = "USD",
    *,
    tick_size: float = 0.25,
    expiration_date: str | None = None,
) -> AssetInfo:
    """A future: ``contract_size`` units per contract, ``margin_rate`` of its value as margin."""
    return AssetInfo(
        symbol,
        AssetType.FUTURE,
        exchange,
        currency,
        contract_size=contract_size,
        tick_size=tick_size,
        margin_rate=margin_rate,
        expiration_date=expiration_date,
    )


def create_option_info(
    symbol: str,
    exchange: str,
    option_type: OptionType | str,
    strike_price: float,
    expiration_date: str,
    contract_size: float = 100.0,
    currency: str = "USD",
    *,
    underlying: str | None = None,
) -> AssetInfo:
    """An option bought outright (premium paid in full): 100 units per contract by default."""
    return AssetInfo(
        symbol,
        AssetType.OPTION,
        exchange,
        currency,
        contract_size=contract_size,
        option_type=_parse(OptionType, option_type),
        strike_price=strike_price,
        expiration_date=expiration_date,
        underlying=underlying,
    )


def create_forex_info(
    symbol: str,
    exchange: str = "FOREX",
    lot_size_units: float = 100_000.0,
    margin_rate: float = 0.02,
    *,
    tick_size: float = 0.00001,
    spread: float | None = None,
) -> AssetInfo:
    """A currency pair traded in lots of ``lot_size_units`` (a standard lot), 50:1 margin.

    The currency is the pair's quote currency (``EUR/USD`` -> ``USD``); ``spread`` (price units)
    replaces the default spread cost.
    """
    quote = symbol.split("/", 1)[1] if "/" in symbol else "USD"
    commission = None if spread is None else CommissionModel(CommissionKind.SPREAD, spread)
    return AssetInfo(
        symbol,
        AssetType.FOREX,
        exchange,
        quote,
        contract_size=lot_size_units,
        tick_size=tick_size,
        margin_rate=margin_rate,
        commission=commission,
    )


def create_crypto_info(
    symbol: str,
    exchange: str,
    *,
    fee_rate: float = 0.001,
    tick_size: float = 0.01,
    lot_size: float = 1e-5,
) -> AssetInfo:
    """A crypto spot pair: fractional sizes in ``lot_size`` steps, ``fee_rate`` of notional.

    The currency is the pair's quote asset. For a venue's own terms use
    :func:`~real_trade.core.multi_asset.markets.asset_info_from_market`.
    """
    quote = symbol.split(":", 1)[0].split("/", 1)[1] if "/" in symbol else "USDT"
    return AssetInfo(
        symbol,
        AssetType.CRYPTO,
        exchange,
        quote,
        tick_size=tick_size,
        lot_size=lot_size,
        commission=CommissionModel(CommissionKind.PERCENTAGE, fee_rate),
    )


def create_bond_info(
    symbol: str, exchange: str, face_value: float = 1000.0, currency: str = "USD"
) -> AssetInfo:
    """A bond quoted in % of par: one bond of ``face_value`` moves ``face_value / 100`` a point."""
    return AssetInfo(symbol, AssetType.BOND, exchange, currency, multiplier=face_value / 100.0)
