"""The broker's contract rules: reduce-only closes, value with unrealized PnL, liquidations.

An unchanged backtrader strategy trades a perpetual (``BTC/USDT:USDT``) as it trades in a
backtest with a futures commission scheme: a sell when flat opens a short, a sell of twice the
long reverses, ``close()`` closes. backtrader's ``close()`` is a plain order for the position's
size, so the broker sends an order that exactly closes the position (opposite side, the
position's size) reduce-only, as it does for ``reduce_only=True`` in the order's keywords
(:func:`closes_position`). The value is the wallet plus the positions' PnL at the last close
(:func:`contract_value`); a liquidation becomes a completed backtrader order with the reason in
``order.info`` (:func:`book_liquidation`); funding payments are kept on the broker and reach
the cash (the wallet).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import backtrader as bt

from real_trade.brokers import translate as tr
from real_trade.errors import ConfigError
from real_trade.execution import FillEvent, Liquidation
from real_trade.venues.contracts import check_contract_support
from real_trade.vocabulary import is_contract

__all__ = [
    "book_liquidation",
    "check_symbol",
    "closes_position",
    "contract_value",
    "settings_of",
]

_TOL = 1e-9


def check_symbol(symbol: str, market_type: str | None = None) -> None:
    """ConfigError for what is not supported yet: COIN-M (inverse) contracts."""
    check_contract_support(symbol, market_type)


def closes_position(order: Any, position: float) -> bool:
    """Whether ``order`` goes out reduce-only: ``reduce_only=True`` in its keywords, or it
    trades against ``position`` for exactly its size (backtrader's ``close()``)."""
    if order.info.get("reduce_only"):
        return True
    size = float(order.size)
    return position * size < 0 and abs(abs(size) - abs(position)) <= _TOL * abs(position)


def contract_value(broker: Any, datas: Any) -> float:
    """Wallet plus each contract position's PnL at its data's last close (of ``datas`` or all;
    spot symbols of the same broker count their holding at the close)."""
    value = float(broker.getcash())
    for data in datas if datas is not None else list(broker.positions):
        pos = broker.positions[data]
        if not pos.size:
            continue
        close = data.close[0] if len(data) else pos.price
        symbol = broker._symbols.get(data, "")
        value += pos.size * (close - pos.price) if is_contract(symbol) else pos.size * close
    return value


def settings_of(
    config: Any, symbols: Iterable[str] = ()
) -> dict[str, tuple[int | None, str | None]]:
    """``(leverage, margin_mode)`` by contract from the broker's ``contracts`` parameter: a
    :class:`~real_trade.config.DerivativesConfig` (its defaults apply to ``symbols``) or
    ``{symbol: {"leverage", "margin_mode"}}``."""
    if config is None:
        return {}
    resolve = getattr(config, "settings", None)
    if callable(resolve):
        return dict(resolve(symbols))
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"contracts must be a mapping of symbol to settings, not {type(config).__name__}",
            field="contracts",
            fix="contracts={'BTC/USDT:USDT': {'leverage': 5, 'margin_mode': 'isolated'}}",
        )
    out: dict[str, tuple[int | None, str | None]] = {}
    for symbol, entry in config.items():
        leverage, mode = entry.get("leverage"), entry.get("margin_mode")
        out[str(symbol)] = (None if leverage is None else int(leverage), mode)
    return out


def book_liquidation(broker: Any, event: Liquidation) -> tuple[int, float] | None:
    """A completed backtrader order closing the position the exchange liquidated, at the
    liquidation price, notified with ``info['reason']``; its ref and what it closed of the
    strategy's position (0 when the position already followed the exchange). None: no feed
    trades the symbol, or nothing was liquidated."""
    data = broker._drivers.get(event.symbol)
    if data is None:
        return None
    pos = broker.positions[data]
    closed = pos.size if pos.size * event.size >= 0 else 0.0  # what the strategy still holds
    size = event.size or closed
    if not size:
        return None
    cls = bt.SellOrder if size > 0 else bt.BuyOrder
    order = cls(
        owner=tr.first_strategy(broker),
        data=data,
        size=abs(size),
        price=event.price,
        exectype=bt.Order.Market,
    )
    order.addcomminfo(broker.getcommissioninfo(data))
    reason = f"liquidation: {event.reason} (mark {event.mark_price:g})"
    order.addinfo(reason=reason, liquidation=True)
    broker._orders[order.ref] = order
    order.submit(broker)
    order.accept(broker)
    fill = FillEvent(
        local_id=order.ref,
        client_order_id=f"liquidation-{event.time_ms}",
        exchange_order_id=None,
        symbol=event.symbol,
        side="sell" if size > 0 else "buy",
        trade_id=f"liquidation-{event.time_ms}",
        price=event.price,
        amount=abs(size),
        commission=0.0,
        commission_asset=None,
        time_ms=event.time_ms,
        position_change=-closed,
    )
    tr.execute(order, pos, fill, -closed, broker.getcommissioninfo(data))
    order.completed()
    broker.notify(order)
    return int(order.ref), closed
