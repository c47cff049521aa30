"""``DepthUpdate`` keeps the venue's level rows and converts them on first read.

The lazy levels must equal what the eager parse (:func:`price_levels`) gives for the same rows,
for every venue's parser, including the strings venues really send: zero sizes spelt with eight
decimals, long exponent-free numbers, integers and extra columns.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from real_trade.feeds.binancews import BinanceWebSocket, parse_binance_payload
from real_trade.feeds.bybitws import parse_bybit_topic_message
from real_trade.feeds.okxws import parse_okx_push
from real_trade.feeds.ws_updates import DepthUpdate, price_levels
from real_trade.orderbook.book import OrderBook

EDGE_BIDS = [
    ["40000.01000000", "0.00000000"],  # a removal as Binance spells it
    ["0.00000001", "123456789012345678901234567890.12345678"],  # tiny price, huge size
    ["99999999999999999999.99999999", "0.5"],  # an exponent-free big price
    ["1", "2"],  # integers as strings
    ["3.5", "0"],
]
EDGE_ASKS = [
    ["40000.02", "1.00000000", "0", "4"],  # OKX's extra columns
    ["0.1000000000000000055511151231257827", "7.25"],  # more digits than a float holds
]


def _eager(rows: list[list[str]]) -> tuple[tuple[float, float], ...]:
    """What the parse did before: every cell through ``float()``."""
    return tuple((float(row[0]), float(row[1])) for row in rows)


def test_lazy_levels_equal_the_eager_parse_for_edge_strings() -> None:
    update = DepthUpdate("binance", "BTCUSDT", EDGE_BIDS, EDGE_ASKS, False, 1, 2, None, 3)
    assert update.bids == price_levels(EDGE_BIDS, "b") == _eager(EDGE_BIDS)
    assert update.asks == price_levels(EDGE_ASKS, "a") == _eager(EDGE_ASKS)
    assert update.bids[0] == (40000.01, 0.0) and update.bids[1][1] == 1.2345678901234568e29
    assert update.bids[2][0] == 1e20 and update.asks[1][0] == 0.1
    assert all(type(x) is float for level in update.bids + update.asks for x in level)


def test_levels_are_converted_once_and_the_rows_kept_as_sent() -> None:
    bids = [["1.5", "2"]]
    update = DepthUpdate("binance", "BTCUSDT", bids, [], False, 1, 2, None, 3)
    assert update.bid_rows is bids and update.ask_rows == []
    first = update.bids
    assert first == ((1.5, 2.0),) and update.bids is first  # cached
    assert bids == [["1.5", "2"]]  # the rows are not touched


def test_an_update_built_from_strings_equals_one_built_from_floats() -> None:
    strings = DepthUpdate("okx", "BTC-USDT", [["1.50", "2"]], [["3", "0.000"]], True, 5, 5, 4, 9)
    floats = DepthUpdate("okx", "BTC-USDT", ((1.5, 2.0),), ((3.0, 0.0),), True, 5, 5, 4, 9)
    assert strings == floats and hash(strings) == hash(floats)
    assert strings != DepthUpdate("okx", "BTC-USDT", ((1.5, 2.0),), ((3.0, 0.0),), True, 5, 5, 3, 9)
    assert strings != "not an update"
    assert repr(strings) == (
        "DepthUpdate(venue='okx', symbol='BTC-USDT', bids=((1.5, 2.0),), asks=((3.0, 0.0),), "
        "snapshot=True, first_id=5, last_id=5, prev_id=4, time_ms=9)"
    )
    match strings:
        case DepthUpdate("okx", symbol, bids, _, True):
            assert symbol == "BTC-USDT" and bids == ((1.5, 2.0),)
        case _:
            pytest.fail("the update does not match its own fields")


def test_an_update_cannot_be_changed() -> None:
    update = DepthUpdate("binance", "BTCUSDT", [["1", "2"]], [], False, 1, 2, None, 3)
    with pytest.raises(AttributeError):
        update.bids = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        update.last_id = 7  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        dataclasses.replace(update, last_id=7)  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ([["nan", "1"]], "bids price is not a finite number"),
        ([["1", "inf"]], "bids quantity is not a finite number"),
        ([["1.5", True]], "bids quantity is not a number"),
        ([["x", "1"]], "could not convert"),
    ],
)
def test_a_bad_level_raises_where_it_is_first_read(rows: Any, error: str) -> None:
    update = DepthUpdate("binance", "BTCUSDT", rows, [], False, 1, 2, None, 3)
    with pytest.raises(ValueError, match=error):
        _ = update.bids
    assert update.asks == ()
    assert f"bids={rows!r}" in repr(update)  # a repr never raises: it shows the rows


# -- through the venue parsers ------------------------------------------------------------------
def test_binance_frames_hand_the_listener_the_eager_levels() -> None:
    ws = BinanceWebSocket()
    seen: list[Any] = []
    ws.on("depth", seen.append)
    diff = {"e": "depthUpdate", "E": 3, "s": "BTCUSDT", "U": 1, "u": 2}
    ws._handle_text(json.dumps({**diff, "b": EDGE_BIDS, "a": EDGE_ASKS}))
    ws._handle_text(json.dumps({**diff, "b": [["nan", "1"]], "a": []}))  # read lazily: delivered
    ws._handle_text(json.dumps({**diff, "b": {"40000": "1"}, "a": []}))  # not a list: malformed
    assert ws.stats["messages"] == 3 and ws.stats["malformed"] == 1 and len(seen) == 2
    assert seen[0].bids == _eager(EDGE_BIDS) and seen[0].asks == _eager(EDGE_ASKS)
    with pytest.raises(ValueError, match="not a finite number"):
        _ = seen[1].bids


def _bybit(bids: Any) -> dict[str, Any]:
    data = {"s": "BTCUSDT", "b": bids, "a": EDGE_ASKS, "u": 5, "seq": 7}
    return {"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 1, "data": data}


def _okx(bids: Any) -> dict[str, Any]:
    row = {"bids": bids, "asks": EDGE_ASKS, "ts": "1", "seqId": 6, "prevSeqId": 5}
    return {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update", "data": [row]}


def test_partial_depth_bybit_and_okx_levels_equal_the_eager_parse() -> None:
    snapshot = {"lastUpdateId": 9, "bids": EDGE_BIDS, "asks": EDGE_ASKS}
    parsed = parse_binance_payload(snapshot, "btcusdt@depth5")
    assert parsed is not None
    assert parsed[1].bids == _eager(EDGE_BIDS) and parsed[1].asks == _eager(EDGE_ASKS)
    for event in (parse_bybit_topic_message(_bybit(EDGE_BIDS)), parse_okx_push(_okx(EDGE_BIDS))):
        assert event is not None and event[0] == "depth"
        (update,) = event[1]
        assert update.bids == _eager(EDGE_BIDS) and update.asks == _eager(EDGE_ASKS)


def test_levels_that_are_not_a_list_are_refused_by_every_parser() -> None:
    with pytest.raises(TypeError, match="must be a list"):
        parse_binance_payload({"lastUpdateId": 9, "bids": "1", "asks": []}, "btcusdt@depth5")
    with pytest.raises(TypeError, match="must be a list"):
        parse_bybit_topic_message(_bybit({"40000": "1"}))
    with pytest.raises(TypeError, match="must be a list"):
        parse_okx_push(_okx(None))


def test_an_order_book_fed_the_raw_rows_equals_one_fed_the_levels() -> None:
    update = DepthUpdate("binance", "BTCUSDT", EDGE_BIDS, EDGE_ASKS, False, 1, 2, None, 3)
    from_rows, from_levels = OrderBook("binance", "BTCUSDT"), OrderBook("binance", "BTCUSDT")
    from_rows.apply_rows(update.bid_rows, update.ask_rows, update.last_id, update.time_ms)
    from_levels.apply(update.bids, update.asks, update.last_id, update.time_ms)
    assert from_rows.depth(None) == from_levels.depth(None)
    assert from_rows.depth(None).bids[0] == (1e20, 0.5)  # the zero-size levels were not added
