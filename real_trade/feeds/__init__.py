"""The data layer: backtrader feeds of closed candles, backtest, paper and live.

:class:`BaseData` (a ``bt.feed.DataBase``) is a thin shim over plain, typed classes:
:class:`FeedPlan` (its parameters, and the stream they make), :class:`BarStream` (history,
backfill, live bars, reconnect gap fill, feed states) fed by a :class:`LiveBarSource` such as
:class:`CcxtBarSource` (ccxt.pro ``watch_ohlcv``), chosen in :mod:`real_trade.feeds.sources`.
:class:`BinanceData`, :class:`BybitData`, :class:`OKXData` and :class:`CCXTData` only name their
venue. :data:`TIMEFRAMES` maps ccxt timeframe strings to backtrader's (timeframe, compression).

The raw exchange streams (the fast path for first-class venues): :class:`BaseWebSocket` and
:class:`BinanceWebSocket` (alias ``BinanceWS``), :class:`BybitWebSocket`, :class:`OKXWebSocket`
with their typed updates, and :class:`BinanceKlineSource`, a live bar source closing each bar on
the exchange's own final kline.

The data watchdog: :class:`FeedWatchdog` restarts a live source whose data went stale or whose
connection got old, publishing :class:`FeedStale` (``feed.stale``) and :class:`FeedReconnect`
(``feed.reconnect``).
"""

from real_trade.feeds.bars import Bar, BarStream, FeedState, LiveBarSource, StateChange
from real_trade.feeds.basedata import BaseData
from real_trade.feeds.basewebsocket import BaseWebSocket, DisconnectInfo
from real_trade.feeds.binance_klines import BinanceKlineSource
from real_trade.feeds.binancews import BinanceWebSocket, BinanceWS
from real_trade.feeds.bybitws import BybitWebSocket
from real_trade.feeds.ccxt_bars import CcxtBarSource
from real_trade.feeds.feed_plan import FeedPlan
from real_trade.feeds.okxws import OKXWebSocket
from real_trade.feeds.timeframes import TIMEFRAMES
from real_trade.feeds.venuedata import BinanceData, BybitData, CCXTData, OKXData
from real_trade.feeds.watchdog import FeedReconnect, FeedStale, FeedWatchdog
from real_trade.feeds.ws_updates import (
    BookTickerUpdate,
    DepthUpdate,
    KlineUpdate,
    TickerUpdate,
    TradeUpdate,
)

__all__ = [
    "TIMEFRAMES",
    "Bar",
    "BarStream",
    "BaseData",
    "BaseWebSocket",
    "BinanceData",
    "BinanceKlineSource",
    "BinanceWS",
    "BinanceWebSocket",
    "BookTickerUpdate",
    "BybitData",
    "BybitWebSocket",
    "CCXTData",
    "CcxtBarSource",
    "DepthUpdate",
    "DisconnectInfo",
    "FeedPlan",
    "FeedReconnect",
    "FeedStale",
    "FeedState",
    "FeedWatchdog",
    "KlineUpdate",
    "LiveBarSource",
    "OKXData",
    "OKXWebSocket",
    "StateChange",
    "TickerUpdate",
    "TradeUpdate",
]
