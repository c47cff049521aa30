"""The exchange simulator: a protocol-free core, market sources and protocol faces.

The core knows nothing about HTTP, asyncio or any venue's words, and the paper broker uses the
same engine in-process: :class:`ExchangeCore` (the multi-symbol facade every face calls) over
one :class:`SymbolMarket` per symbol (engine, klines, tape, publishing), :class:`AccountBook` and
:class:`OrderHistory`; :class:`MatchingEngine` (one symbol's book and matching, with its
:class:`StopBook`, :class:`OpenOrders` and the :class:`Settlement` of the symbol's
:class:`Instrument`), :class:`SymbolRules` (neutral tick, lot and notional rules),
:class:`Account` (balances, fees, keys), :class:`KlineBook`/:class:`Tape` (klines and trades
built from the core's own matches), :class:`SymbolLiquidity` (the liquidity provider and tape
flow that play a market source), linear perpetuals (:mod:`real_trade.sim.derivatives`: positions,
margin, mark, funding, liquidation), the value types of :mod:`real_trade.sim.types` (neutral enums)
and the typed errors of :mod:`real_trade.sim.errors` (a neutral :class:`Reason`). Protocol faces
(``real_trade.sim.binance``, ``real_trade.sim.bybit``, ``real_trade.sim.okx``) translate it to a
venue's protocol and serve it on loopback.

Market and time: :class:`SimClock` (real, accelerated or stepped), :class:`SyntheticMarket` and
:class:`CandleReplayMarket` (both :class:`MarketSource`). Faults: :class:`FaultPlan`. The server:
:class:`SimExchange` (imported on first use, so the core stays free of aiohttp).
"""

import typing

from real_trade.sim.accounts import Account, AccountBook, Balance, commission, generate_key
from real_trade.sim.book import BookSide, OrderBook, PriceLevel
from real_trade.sim.clock import SimClock
from real_trade.sim.core import Clock, EventSink, ExchangeCore
from real_trade.sim.faults import FaultPlan
from real_trade.sim.history import OrderHistory
from real_trade.sim.instruments import SPOT, Instrument, InstrumentKind
from real_trade.sim.klines import INTERVALS, Kline, KlineBook, Tape, bucket_open, next_open
from real_trade.sim.liquidity import MarketMakers, SymbolLiquidity
from real_trade.sim.market import BookShape, Candle, MarketSource, MarketTick
from real_trade.sim.market_replay import CandleReplayMarket, read_candle_file
from real_trade.sim.market_synthetic import SyntheticMarket
from real_trade.sim.matching import EngineOutput, MatchingEngine
from real_trade.sim.open_orders import OpenOrders
from real_trade.sim.rules import (
    DEFAULT_RULES,
    SymbolRules,
    derive_rules,
    format_decimal,
    rules_for_market,
    split_symbol,
)
from real_trade.sim.settlement import Settlement, SpotSettlement, settle_side, settlement_for
from real_trade.sim.stops import StopBook
from real_trade.sim.symbol_market import SymbolMarket
from real_trade.sim.types import (
    AggTrade,
    AvgPrice,
    BadParameter,
    BadSymbol,
    BalanceEvent,
    BookTicker,
    DepthSnapshot,
    DepthUpdate,
    DuplicateOrder,
    ExecutionType,
    Fill,
    FilterError,
    InsufficientBalance,
    Order,
    OrderEvent,
    OrderRejected,
    OrderStatus,
    OrderType,
    PositionSide,
    Reason,
    Side,
    SimError,
    Ticker24h,
    TimeInForce,
    Trade,
    UnknownOrder,
    WorkingType,
    WouldTakeAsMaker,
    WouldTriggerImmediately,
)

__all__ = [
    "DEFAULT_RULES",
    "INTERVALS",
    "SPOT",
    "Account",
    "AccountBook",
    "AggTrade",
    "AvgPrice",
    "BadParameter",
    "BadSymbol",
    "Balance",
    "BalanceEvent",
    "BookShape",
    "BookSide",
    "BookTicker",
    "Candle",
    "CandleReplayMarket",
    "Clock",
    "DepthSnapshot",
    "DepthUpdate",
    "DuplicateOrder",
    "EngineOutput",
    "EventSink",
    "ExchangeCore",
    "ExecutionType",
    "FaultPlan",
    "Fill",
    "FilterError",
    "Instrument",
    "InstrumentKind",
    "InsufficientBalance",
    "Kline",
    "KlineBook",
    "MarketMakers",
    "MarketSource",
    "MarketTick",
    "MatchingEngine",
    "OpenOrders",
    "Order",
    "OrderBook",
    "OrderEvent",
    "OrderHistory",
    "OrderRejected",
    "OrderStatus",
    "OrderType",
    "PositionSide",
    "PriceLevel",
    "Reason",
    "Settlement",
    "Side",
    "SimClock",
    "SimError",
    "SimExchange",
    "SpotSettlement",
    "StopBook",
    "SymbolLiquidity",
    "SymbolMarket",
    "SymbolRules",
    "SyntheticMarket",
    "Tape",
    "Ticker24h",
    "TimeInForce",
    "Trade",
    "UnknownOrder",
    "WorkingType",
    "WouldTakeAsMaker",
    "WouldTriggerImmediately",
    "bucket_open",
    "commission",
    "derive_rules",
    "format_decimal",
    "generate_key",
    "next_open",
    "read_candle_file",
    "rules_for_market",
    "settle_side",
    "settlement_for",
    "split_symbol",
]


def __getattr__(name: str) -> typing.Any:
    """Import the loopback server (aiohttp) only when ``real_trade.sim.SimExchange`` is used."""
    if name == "SimExchange":
        from real_trade.sim.server import SimExchange

        return SimExchange
    raise AttributeError(f"module 'real_trade.sim' has no attribute {name!r}")
