"""Symbol rules: the instrument, price and quantity grids, limits, precisions, and the checks.

:class:`SymbolRules` holds one symbol's rules in neutral terms (the instrument it trades, tick,
price range, quantity step and range, a market order's own step and range, notional limits,
the most open orders, precisions, allowed order types) and :meth:`SymbolRules.validate` checks
an order against them in a fixed order: missing or unwanted fields, too many decimals, then
price, lot, market lot and notional (raising a :class:`~real_trade.sim.errors.SimError` with a
neutral reason). Market orders are checked against the average price. The faces render the
rules in their venue's shape (Binance's filters: :func:`real_trade.sim.binance.format.symbol_json`).

:data:`DEFAULT_RULES` mirrors Binance's real BTCUSDT, ETHUSDT, BNBUSDT and BTCUSDC;
:func:`derive_rules` makes plausible rules for any BASE/QUOTE from a reference price and
:func:`rules_for_market` picks the rules of a market source's symbols. The request-parameter
parsers (``to_decimal``, ``parse_*``) live in :mod:`real_trade.sim.params` and are re-exported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from real_trade.sim.instruments import SPOT, Instrument
from real_trade.sim.market import MarketSource, default_lot_step, default_tick_size
from real_trade.sim.params import (
    parse_client_order_id,
    parse_order_type,
    parse_side,
    parse_tif,
    to_decimal,
)
from real_trade.sim.types import (
    ZERO,
    BadParameter,
    FilterError,
    OrderRejected,
    OrderType,
    Reason,
    Side,
    TimeInForce,
)

__all__ = [
    "ALL_ORDER_TYPES",
    "DEFAULT_RULES",
    "KNOWN_QUOTES",
    "MARKET_TYPES",
    "STOP_TYPES",
    "TIF_TYPES",
    "HasTickSize",
    "SymbolRules",
    "derive_rules",
    "format_decimal",
    "parse_client_order_id",
    "parse_order_type",
    "parse_side",
    "parse_tif",
    "rules_for_market",
    "split_symbol",
    "to_decimal",
]

ALL_ORDER_TYPES: tuple[OrderType, ...] = tuple(OrderType)
"""Every spot order type (Binance's real BTCUSDT allows all of them)."""
MARKET_TYPES = frozenset({OrderType.MARKET, OrderType.STOP_LOSS, OrderType.TAKE_PROFIT})
"""Order types that execute as market orders (once triggered, for the stop ones)."""
STOP_TYPES = frozenset(
    {
        OrderType.STOP_LOSS,
        OrderType.STOP_LOSS_LIMIT,
        OrderType.TAKE_PROFIT,
        OrderType.TAKE_PROFIT_LIMIT,
    }
)
"""Order types that wait for the last trade price to cross ``stop_price``."""
TIF_TYPES = frozenset({OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT})
"""The order types that take a time in force."""
_TIF_TYPES = TIF_TYPES
_PRICE_TYPES = _TIF_TYPES | {OrderType.LIMIT_MAKER}
KNOWN_QUOTES: tuple[str, ...] = (
    "FDUSD",
    "USDT",
    "USDC",
    "TUSD",
    "BUSD",
    "DAI",
    "EUR",
    "TRY",
    "BRL",
    "JPY",
    "GBP",
    "BTC",
    "ETH",
    "BNB",
)
"""Quote assets :func:`split_symbol` recognises at the end of a symbol, longest first."""
_STABLE = frozenset({"FDUSD", "USDT", "USDC", "TUSD", "BUSD", "DAI", "EUR", "GBP"})


def format_decimal(value: Decimal, places: int = 8) -> str:
    """Format ``value`` with exactly ``places`` decimals, as Binance prints numbers."""
    return f"{value:.{places}f}"


def _decimals(value: Decimal) -> int:
    """Count the significant decimals of ``value`` (trailing zeros do not count)."""
    exp = value.as_tuple().exponent
    assert isinstance(exp, int)
    if exp >= 0:
        return 0
    exp = value.normalize().as_tuple().exponent
    assert isinstance(exp, int)
    return max(0, -exp)


@dataclass(frozen=True, slots=True)
class SymbolRules:
    """One symbol's trading rules (see the module docstring).

    A zero ``max_*`` or ``*step_size`` means "not checked" (Binance's market lot on BTCUSDT has
    step 0). ``market_*`` fields bound market orders' quantity; ``min_notional``/``max_notional``
    with ``apply_*_to_market`` and ``avg_price_mins`` bound an order's value. ``instrument`` says
    what the symbol trades (spot unless told); ``trading`` is False for a halted symbol.
    """

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal
    max_notional: Decimal = ZERO
    market_step_size: Decimal = ZERO
    market_min_qty: Decimal = ZERO
    market_max_qty: Decimal = ZERO
    apply_min_to_market: bool = True
    apply_max_to_market: bool = False
    avg_price_mins: int = 5
    base_asset_precision: int = 8
    quote_asset_precision: int = 8
    base_commission_precision: int = 8
    quote_commission_precision: int = 8
    max_num_orders: int = 200
    order_types: tuple[OrderType, ...] = ALL_ORDER_TYPES
    quote_order_qty_market_allowed: bool = True
    trading: bool = True
    instrument: Instrument = SPOT

    @property
    def market_step(self) -> Decimal:
        """The step a market order's quantity is floored to (LOT_SIZE and MARKET_LOT_SIZE)."""
        return max(self.step_size, self.market_step_size)

    def floor_qty(self, qty: Decimal, step: Decimal | None = None) -> Decimal:
        """Round ``qty`` down to a multiple of ``step`` (default: the LOT_SIZE step)."""
        st = self.step_size if step is None else step
        if st <= 0:
            return qty
        return (qty // st) * st

    def validate(
        self,
        side: Side,
        order_type: OrderType,
        *,
        quantity: Decimal | None,
        quote_order_qty: Decimal | None = None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        time_in_force: TimeInForce | None = None,
        avg_price: Decimal | None = None,
    ) -> None:
        """Check an order's fields, precisions and rules; raise a neutral ``SimError``.

        Order of checks (Binance's): order type allowed, mandatory fields, unwanted fields,
        precision, price, lot, market lot, notional. ``avg_price`` is the price market orders'
        notional is measured with (skipped when ``None``). Nothing is returned: an order that
        passes is valid for this symbol.
        """
        del side  # Binance's spot filters are side-independent
        if order_type not in self.order_types:
            raise OrderRejected(Reason.ORDER_TYPE_NOT_ALLOWED, order_type=order_type)
        is_market = order_type is OrderType.MARKET
        # -- mandatory / unwanted parameters
        if order_type in _TIF_TYPES and time_in_force is None:
            raise BadParameter.mandatory("time_in_force")
        if is_market:
            if quantity is None and quote_order_qty is None:
                raise BadParameter.one_of("quantity", "quote_quantity")
            if quantity is not None and quote_order_qty is not None:
                raise BadParameter.not_required("quote_quantity")
        elif quantity is None:
            raise BadParameter.mandatory("quantity")
        if order_type in _PRICE_TYPES and price is None:
            raise BadParameter.mandatory("price")
        if order_type in STOP_TYPES and stop_price is None:
            raise BadParameter.mandatory("stop_price")
        if order_type not in _PRICE_TYPES and price is not None:
            raise BadParameter.not_required("price")
        if order_type not in STOP_TYPES and stop_price is not None:
            raise BadParameter.not_required("stop_price")
        if order_type not in _TIF_TYPES and time_in_force is not None:
            raise BadParameter.not_required("time_in_force")
        if quote_order_qty is not None:
            if not is_market:
                raise BadParameter.not_required("quote_quantity")
            if not self.quote_order_qty_market_allowed:
                raise OrderRejected(Reason.QUOTE_QUANTITY_NOT_ALLOWED)
        # -- precision
        if quantity is not None and _decimals(quantity) > self.base_asset_precision:
            raise BadParameter.too_much_precision("quantity")
        if price is not None and _decimals(price) > self.quote_asset_precision:
            raise BadParameter.too_much_precision("price")
        if stop_price is not None and _decimals(stop_price) > self.quote_asset_precision:
            raise BadParameter.too_much_precision("stop_price")
        if quote_order_qty is not None and _decimals(quote_order_qty) > self.quote_asset_precision:
            raise BadParameter.too_much_precision("quote_quantity")
        # -- filters, in exchangeInfo order
        if price is not None:
            self._check_price(price, Reason.INVALID_PRICE)
        if stop_price is not None:
            self._check_price(stop_price, Reason.INVALID_STOP_PRICE)
        if quantity is not None:
            self._check_lot(quantity, is_market or order_type in MARKET_TYPES)
        self._check_notional(order_type, quantity, quote_order_qty, price, stop_price, avg_price)

    def _check_price(self, price: Decimal, zero_reason: Reason) -> None:
        if price <= 0:
            raise FilterError(zero_reason)
        if self.min_price > 0 and price < self.min_price:
            raise FilterError(Reason.PRICE_FILTER)
        if self.max_price > 0 and price > self.max_price:
            raise FilterError(Reason.PRICE_FILTER)
        if self.tick_size > 0 and (price - self.min_price) % self.tick_size != 0:
            raise FilterError(Reason.PRICE_FILTER)

    def _check_lot(self, qty: Decimal, is_market: bool) -> None:
        if qty <= 0:
            raise FilterError(Reason.INVALID_QUANTITY)
        if qty < self.min_qty:
            raise FilterError(Reason.LOT_SIZE, "min_qty")
        if self.max_qty > 0 and qty > self.max_qty:
            raise FilterError(Reason.LOT_SIZE, "max_qty")
        if self.step_size > 0 and (qty - self.min_qty) % self.step_size != 0:
            raise FilterError(Reason.LOT_SIZE)
        if not is_market:
            return
        if qty < self.market_min_qty or (self.market_max_qty > 0 and qty > self.market_max_qty):
            raise FilterError(Reason.MARKET_LOT_SIZE)
        if self.market_step_size > 0 and (qty - self.market_min_qty) % self.market_step_size:
            raise FilterError(Reason.MARKET_LOT_SIZE)

    def market_notional_passes(self, quantity: Decimal, low: Decimal, high: Decimal) -> bool:
        """Whether a MARKET order for ``quantity`` passes the notional filter at every average
        price from ``low`` to ``high`` (it does at both ends: the notional grows with the price,
        and the filter bounds it below and above); False says nothing (check the average)."""
        ok = self._market_notional_ok
        return ok(low * quantity) and ok(high * quantity)

    def _market_notional_ok(self, notional: Decimal) -> bool:
        """Whether a market order's ``notional`` passes MIN_NOTIONAL/NOTIONAL (as applied to
        market orders)."""
        if self.apply_min_to_market and notional < self.min_notional:
            return False
        return not (self.apply_max_to_market and 0 < self.max_notional < notional)

    def _check_notional(
        self,
        order_type: OrderType,
        quantity: Decimal | None,
        quote_order_qty: Decimal | None,
        price: Decimal | None,
        stop_price: Decimal | None,
        avg_price: Decimal | None,
    ) -> None:
        if order_type in MARKET_TYPES:
            if quote_order_qty is not None:
                notional: Decimal | None = quote_order_qty
                if quote_order_qty <= 0:
                    raise FilterError(Reason.NOTIONAL)
            else:
                ref = avg_price if order_type is OrderType.MARKET else stop_price
                notional = None if ref is None or quantity is None else ref * quantity
            if notional is not None and not self._market_notional_ok(notional):
                raise FilterError(Reason.NOTIONAL)
            return
        assert price is not None and quantity is not None
        notional = price * quantity
        if notional < self.min_notional or (0 < self.max_notional < notional):
            raise FilterError(Reason.NOTIONAL)


def split_symbol(symbol: str) -> tuple[str, str]:
    """Split an exchange-style symbol (``"BTCUSDT"``) into ``(base, quote)``.

    Raises ``ValueError`` when no known quote asset ends the symbol (see :data:`KNOWN_QUOTES`).
    """
    for quote in KNOWN_QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    raise ValueError(f"cannot split {symbol!r} into base and quote; known quotes: {KNOWN_QUOTES}")


def _dec(text: str) -> Decimal:
    return Decimal(text)


def _usd_rules(symbol: str, step: str, market_max: str, max_price: str = "1000000") -> SymbolRules:
    base, quote = split_symbol(symbol)
    return SymbolRules(
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=_dec("0.01"),
        min_price=_dec("0.01"),
        max_price=_dec(max_price),
        step_size=_dec(step),
        min_qty=_dec(step),
        max_qty=_dec("9000"),
        min_notional=_dec("5"),
        max_notional=_dec("9000000"),
        market_max_qty=_dec(market_max),
    )


DEFAULT_RULES: dict[str, SymbolRules] = {
    "BTCUSDT": _usd_rules("BTCUSDT", "0.00001", "118.49435473"),
    "ETHUSDT": _usd_rules("ETHUSDT", "0.0001", "2912.73569097"),
    "BNBUSDT": _usd_rules("BNBUSDT", "0.001", "1139.87208194", max_price="100000"),
    "BTCUSDC": _usd_rules("BTCUSDC", "0.00001", "51.03118396"),
}
"""Rules like Binance's real ones for BTCUSDT, ETHUSDT, BNBUSDT and BTCUSDC."""


def derive_rules(
    symbol: str,
    reference_price: Decimal | float | str,
    *,
    base: str | None = None,
    quote: str | None = None,
    tick_size: Decimal | None = None,
) -> SymbolRules:
    """Make Binance-like rules for any BASE/QUOTE trading around ``reference_price``.

    The PRICE_FILTER tick is ``tick_size`` when given (a market source's own tick, so the
    liquidity ladder and the filters agree), else the market module's default for the price;
    the lot step is the default for the price. The minimum notional is 5 for USD-like quotes and
    about five dollars' worth of BTC/ETH/BNB otherwise; limits are generous multiples of the
    reference price.
    """
    price = to_decimal(reference_price, "reference_price")
    if price <= 0:
        raise ValueError(f"reference price must be positive, got {reference_price}")
    if base is None or quote is None:
        base, quote = split_symbol(symbol)
    if tick_size is not None and tick_size <= 0:
        raise ValueError(f"tick size must be positive, got {tick_size}")
    tick = tick_size if tick_size is not None else default_tick_size(price)
    step = default_lot_step(price)
    min_notional = {"BTC": _dec("0.0001"), "ETH": _dec("0.001"), "BNB": _dec("0.01")}.get(
        quote, _dec("5") if quote in _STABLE else _dec("1")
    )
    max_price = Decimal(1).scaleb(max(1, math.ceil(math.log10(float(price))) + 3))
    max_qty = (Decimal(9) * Decimal(10) ** 9 * step).normalize()
    return SymbolRules(
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=tick,
        min_price=tick,
        max_price=max_price,
        step_size=step,
        min_qty=step,
        max_qty=max_qty,
        min_notional=min_notional,
        max_notional=min_notional * 1_800_000,
        market_max_qty=(max_qty / 100).normalize(),
    )


@runtime_checkable
class HasTickSize(Protocol):
    """A market source that knows the price tick of its prices (both built-in sources do)."""

    def tick_size(self, symbol: str) -> Decimal:
        """Return the price tick of ``symbol``."""
        ...


def rules_for_market(
    market: MarketSource | None, rules: Mapping[str, SymbolRules] | None = None
) -> dict[str, SymbolRules]:
    """The rules of every traded symbol: ``rules``, plus the market's symbols.

    Without ``rules`` and without a market the symbols are :data:`DEFAULT_RULES`. A market
    symbol without given rules gets its :data:`DEFAULT_RULES` entry, else rules derived from
    its price at the market's start, with the source's own tick as PRICE_FILTER when the source
    has a ``tick_size(symbol)`` method (so the liquidity ladder and the filters agree).
    """
    out = dict(rules) if rules is not None else ({} if market else dict(DEFAULT_RULES))
    for sym in market.symbols if market is not None else ():
        if sym in out:
            continue
        if sym in DEFAULT_RULES:
            out[sym] = DEFAULT_RULES[sym]
            continue
        assert market is not None
        tick = market.tick_size(sym) if isinstance(market, HasTickSize) else None
        ref = market.reference_price(sym, market.start_ms())
        out[sym] = derive_rules(sym, ref, tick_size=tick)
    return out
