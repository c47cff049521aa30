"""Unified symbols and venue ids: the one place a ``BTC/USDT`` is split or turned into an id.

A unified symbol is ccxt's: ``BASE/QUOTE`` for spot, ``BASE/QUOTE:SETTLE`` for a perpetual and
``BASE/QUOTE:SETTLE-YYMMDD`` for a dated future. Each venue's id is one rule here:

* :func:`joined_symbol_id`: base and quote run together, upper case (``BTCUSDT``): Binance
  (spot and futures), Bybit v5 and the simulator; Binance's stream names are its lower case.
* :func:`okx_inst_id`: dashes, with the contract type (``BTC-USDT``, ``BTC-USDT-SWAP``,
  ``BTC-USD-240628``): OKX v5.
"""

from __future__ import annotations

import functools

__all__ = [
    "base_asset",
    "is_contract",
    "is_inverse",
    "joined_symbol_id",
    "okx_inst_id",
    "quote_asset",
    "split_symbol",
]


@functools.lru_cache(maxsize=1_024)  # a run asks for its few symbols' assets every bar
def split_symbol(symbol: str) -> tuple[str, str]:
    """The base and quote assets of a unified symbol (``BTC/USDT:USDT`` -> ``("BTC", "USDT")``).

    A symbol without a ``/`` (a venue id such as ``BTCUSDT``) is all base: ``("BTCUSDT", "")``.
    """
    pair = symbol.split(":", 1)[0]
    base, _, quote = pair.partition("/")
    return base, quote


def base_asset(symbol: str) -> str:
    """The base asset of a unified symbol (``BTC/USDT`` and ``BTC/USDT:USDT`` -> ``BTC``)."""
    return split_symbol(symbol)[0]


def quote_asset(symbol: str) -> str:
    """The quote asset of a unified symbol (``BTC/USDT:USDT`` -> ``USDT``; ``""`` without ``/``)."""
    return split_symbol(symbol)[1]


def is_contract(symbol: str) -> bool:
    """Whether a unified symbol names a contract (``BTC/USDT:USDT``), not a spot pair."""
    return ":" in symbol


def is_inverse(symbol: str) -> bool:
    """Whether a unified contract symbol settles in its base asset (COIN-M: ``BTC/USD:BTC``)."""
    pair, _, settle = symbol.partition(":")
    return bool(settle) and settle.split("-", 1)[0] == split_symbol(pair)[0]


@functools.lru_cache(maxsize=1_024)  # asked for at every order and bar
def joined_symbol_id(symbol: str) -> str:
    """Binance's, Bybit's and the simulator's id: ``BTC/USDT`` and ``BTC/USDT:USDT`` -> ``BTCUSDT``.

    The settle suffix is dropped (a linear perpetual has the spot pair's id); dashes are dropped
    too, and an id passes through upper-cased (``btcusdt`` -> ``BTCUSDT``).
    """
    return symbol.split(":", 1)[0].replace("/", "").replace("-", "").upper()


def okx_inst_id(symbol: str) -> str:
    """OKX's instrument id: ``BTC/USDT`` -> ``BTC-USDT``, ``BTC/USDT:USDT`` -> ``BTC-USDT-SWAP``.

    A dated future ``BTC/USD:BTC-240628`` -> ``BTC-USD-240628``; an OKX id (no ``/``) passes
    through upper-cased.
    """
    if "/" not in symbol:
        return symbol.upper()
    pair, _, contract = symbol.partition(":")
    base, quote = pair.upper().split("/", 1)
    if not contract:
        return f"{base}-{quote}"
    _, _, expiry = contract.partition("-")
    return f"{base}-{quote}-{expiry or 'SWAP'}"
