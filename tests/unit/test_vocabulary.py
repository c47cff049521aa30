"""The shared vocabulary: order sides and kinds, symbol ids per venue, the clock, secrets."""

from __future__ import annotations

import json
import threading

import pytest
from pydantic import SecretStr

from real_trade.execution import OrderKind as ExecutionOrderKind
from real_trade.execution import OrderSide as ExecutionOrderSide
from real_trade.feeds.binancews import stream_symbol
from real_trade.feeds.bybitws import BybitWebSocket
from real_trade.feeds.okxws import OKXWebSocket
from real_trade.sim.clock import SimClock
from real_trade.utils.secrets import plain_secret
from real_trade.vocabulary import (
    Clock,
    OrderKind,
    OrderSide,
    SystemClock,
    base_asset,
    joined_symbol_id,
    okx_inst_id,
    quote_asset,
    split_symbol,
)


def test_execution_re_exports_the_one_side_and_kind() -> None:
    assert ExecutionOrderSide is OrderSide and ExecutionOrderKind is OrderKind


def test_a_side_reads_as_ccxt_spells_it() -> None:
    assert OrderSide.BUY == "buy" and OrderSide("sell") is OrderSide.SELL
    assert f"{OrderSide.SELL}" == "sell" and str(OrderSide.BUY) == "buy"
    assert json.dumps({"side": OrderSide.BUY}) == '{"side": "buy"}'
    assert (OrderSide.BUY.sign, OrderSide.SELL.sign) == (1, -1)
    with pytest.raises(ValueError):
        OrderSide("BUY")


def test_order_kinds_know_their_trigger_and_limit() -> None:
    assert f"{OrderKind.STOP_LIMIT}" == "StopLimit"
    assert [k for k in OrderKind if k.has_trigger] == [
        OrderKind.STOP,
        OrderKind.STOP_LIMIT,
        OrderKind.STOP_TRAIL,
        OrderKind.STOP_TRAIL_LIMIT,
    ]
    assert [k for k in OrderKind if k.has_limit] == [
        OrderKind.LIMIT,
        OrderKind.STOP_LIMIT,
        OrderKind.STOP_TRAIL_LIMIT,
    ]


@pytest.mark.parametrize(
    ("symbol", "base", "quote"),
    [
        ("BTC/USDT", "BTC", "USDT"),
        ("BTC/USDT:USDT", "BTC", "USDT"),
        ("BTC/USD:BTC-240628", "BTC", "USD"),
        ("BTCUSDT", "BTCUSDT", ""),
    ],
)
def test_a_unified_symbol_splits_into_base_and_quote(symbol: str, base: str, quote: str) -> None:
    assert split_symbol(symbol) == (base, quote)
    assert (base_asset(symbol), quote_asset(symbol)) == (base, quote)


@pytest.mark.parametrize(
    ("symbol", "venue_id"),
    [
        ("BTC/USDT", "BTCUSDT"),  # Binance spot, Bybit spot, the simulator
        ("BTC/USDT:USDT", "BTCUSDT"),  # Binance USDⓈ-M and Bybit linear perpetuals
        ("BTC-USDT", "BTCUSDT"),
        ("btcusdt", "BTCUSDT"),  # an id passes through
    ],
)
def test_binance_and_bybit_join_base_and_quote(symbol: str, venue_id: str) -> None:
    assert joined_symbol_id(symbol) == venue_id


def test_binance_streams_and_bybit_topics_use_the_joined_id() -> None:
    assert stream_symbol("ETH/USDT:USDT") == "ethusdt"
    assert BybitWebSocket.trade_topic("ETH/USDT:USDT") == "publicTrade.ETHUSDT"


@pytest.mark.parametrize(
    ("symbol", "inst_id"),
    [
        ("BTC/USDT", "BTC-USDT"),  # spot
        ("BTC/USDT:USDT", "BTC-USDT-SWAP"),  # linear perpetual
        ("BTC/USD:BTC", "BTC-USD-SWAP"),  # inverse perpetual
        ("BTC/USD:BTC-240628", "BTC-USD-240628"),  # dated future
        ("BTC-USDT-SWAP", "BTC-USDT-SWAP"),  # an OKX id passes through
    ],
)
def test_okx_ids_are_dashed_with_the_contract_type(symbol: str, inst_id: str) -> None:
    assert okx_inst_id(symbol) == inst_id


def test_okx_channels_take_unified_symbols_or_ids() -> None:
    assert OKXWebSocket.trades_channel("ETH/USDT:USDT")["instId"] == "ETH-USDT-SWAP"
    assert OKXWebSocket.tickers_channel("ETH-USDT")["instId"] == "ETH-USDT"


def test_the_system_clock_tells_both_faces_and_waits_on_its_event() -> None:
    clock: Clock = SystemClock()
    first = clock.now()
    assert clock.now() >= first
    assert abs(clock.now_ms() - SimClock().now_ms()) < 60_000  # both the wall clock, in ms
    wakeup = threading.Event()
    wakeup.set()
    assert clock.wait(wakeup, 3600.0) is True


def test_a_stepped_sim_clock_is_a_clock_of_the_same_protocol() -> None:
    clock: Clock = SimClock(start_ms=1_000, stepped=True)
    assert (clock.now(), clock.now_ms()) == (1.0, 1_000)
    assert clock.wait(threading.Event(), 0.0) is False


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        (SecretStr(" key "), "key"),
        ("secret", "secret"),
        (SecretStr(""), None),
        ("   ", None),
        (None, None),
    ],
)
def test_plain_secret_unwraps_and_treats_blank_as_absent(value: object, plain: str | None) -> None:
    assert plain_secret(value) == plain


# --------------------------------------------------------------------------- intervals
def test_intervals_are_one_table_for_the_simulator_and_the_feeds() -> None:
    from real_trade.feeds.timeframes import next_open_ms, timeframe_ms
    from real_trade.sim import klines
    from real_trade.vocabulary.intervals import INTERVALS, bucket_open, next_open

    assert klines.INTERVALS is INTERVALS and klines.next_open is next_open
    monday = 1_704_067_200_000  # 2024-01-01 00:00 UTC, a Monday
    assert bucket_open("1w", monday + 3 * 86_400_000 + 5) == monday
    assert bucket_open("1M", 1_706_745_599_999) == monday  # 2024-01-31 23:59:59.999
    assert next_open("1M", 1_701_388_800_000) == monday  # 2023-12-01 -> 2024-01-01
    assert next_open_ms("1M", 1_701_388_800_000) == monday
    assert timeframe_ms("4h") == 4 * 3_600_000 and timeframe_ms("1M") == 31 * 86_400_000
