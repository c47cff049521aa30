"""Binance spot public REST of the simulator, read by unmodified ccxt and by plain HTTP.

A stepped simulator makes every answer deterministic: market time moves only when a test calls
``sim.advance``, so trades, klines and the book are what the core's matching engine produced.
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest

from real_trade.sim.server import CCXT_API_KEYS, SimExchange

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped two-symbol simulator, advanced five market minutes so trades exist."""
    with SimExchange(stepped=True, symbols=("BTC/USDT", "ETH/USDT"), seed=3) as exchange:
        exchange.advance(300)
        yield exchange


@pytest.fixture(scope="module")
def ex(sim: SimExchange) -> ccxt.binance:
    """A ccxt binance client without keys, markets loaded."""
    client = ccxt.binance(sim.ccxt_config())
    client.load_markets()
    return client


def get(sim: SimExchange, path: str) -> tuple[int, dict[str, str], Any]:
    """GET ``path`` over plain HTTP; return status, headers and decoded JSON."""
    try:
        with urllib.request.urlopen(sim.url + path, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def test_load_markets_parses_precision_and_limits_from_our_filters(ex: ccxt.binance) -> None:
    assert {"BTC/USDT", "ETH/USDT"} <= set(ex.markets)
    btc = ex.market("BTC/USDT")
    assert btc["id"] == "BTCUSDT" and btc["spot"] and btc["active"]
    assert btc["precision"]["price"] == 0.01
    assert btc["precision"]["amount"] == 0.00001
    assert btc["limits"]["amount"]["min"] == 0.00001
    assert btc["limits"]["price"]["min"] == 0.01
    assert btc["limits"]["cost"]["min"] == 5.0
    assert ex.market("ETH/USDT")["precision"]["amount"] == 0.0001


def test_exchange_info_has_binance_fields(sim: SimExchange) -> None:
    status, headers, info = get(sim, "/api/v3/exchangeInfo?symbol=BTCUSDT")
    assert status == 200
    assert headers["X-MBX-USED-WEIGHT-1M"].isdigit()
    limits = {
        (r["rateLimitType"], r["interval"], r["intervalNum"]): r["limit"]
        for r in info["rateLimits"]
    }
    assert limits[("REQUEST_WEIGHT", "MINUTE", 1)] == 6000
    assert limits[("ORDERS", "SECOND", 10)] == 100
    assert limits[("ORDERS", "DAY", 1)] == 200000
    [sym] = info["symbols"]
    assert sym["symbol"] == "BTCUSDT" and sym["status"] == "TRADING"
    assert (sym["baseAsset"], sym["quoteAsset"]) == ("BTC", "USDT")
    assert sym["isSpotTradingAllowed"] is True
    assert sym["permissionSets"] == [["SPOT"]]
    assert "LIMIT_MAKER" in sym["orderTypes"] and "STOP_LOSS_LIMIT" in sym["orderTypes"]
    filters = {f["filterType"]: f for f in sym["filters"]}
    assert {"PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "NOTIONAL", "MIN_NOTIONAL"} <= set(
        filters
    )
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["NOTIONAL"]["minNotional"] == filters["MIN_NOTIONAL"]["minNotional"]


def test_unknown_symbol_is_1121(sim: SimExchange) -> None:
    status, _, body = get(sim, "/api/v3/depth?symbol=NOPEUSDT")
    assert status == 400
    assert body == {"code": -1121, "msg": "Invalid symbol."}


def test_missing_mandatory_parameter_is_1102(sim: SimExchange) -> None:
    status, _, body = get(sim, "/api/v3/klines?symbol=BTCUSDT")
    assert status == 400
    assert body == {
        "code": -1102,
        "msg": "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.",
    }


def test_bad_interval_and_bad_integer(sim: SimExchange) -> None:
    assert get(sim, "/api/v3/klines?symbol=BTCUSDT&interval=7m")[2]["code"] == -1120
    assert get(sim, "/api/v3/depth?symbol=BTCUSDT&limit=abc")[2]["code"] == -1100


def test_fetch_time_is_the_server_clock(sim: SimExchange, ex: ccxt.binance) -> None:
    assert ex.fetch_time() == sim.context.server_time_ms()


def test_fetch_ticker_and_tickers(sim: SimExchange, ex: ccxt.binance) -> None:
    ticker = ex.fetch_ticker("BTC/USDT")
    assert ticker["last"] == float(sim.core.last_price("BTCUSDT") or 0)
    assert ticker["bid"] < ticker["ask"]
    assert ticker["baseVolume"] > 0
    tickers = ex.fetch_tickers(["BTC/USDT", "ETH/USDT"])
    assert set(tickers) == {"BTC/USDT", "ETH/USDT"}


def test_ticker_price_and_book_ticker_single_and_many(sim: SimExchange) -> None:
    _, _, one = get(sim, "/api/v3/ticker/price?symbol=ETHUSDT")
    assert one["symbol"] == "ETHUSDT" and float(one["price"]) > 0
    _, _, many = get(sim, '/api/v3/ticker/price?symbols=["BTCUSDT","ETHUSDT"]'.replace('"', "%22"))
    assert [r["symbol"] for r in many] == ["BTCUSDT", "ETHUSDT"]
    _, _, every = get(sim, "/api/v3/ticker/bookTicker")
    assert {r["symbol"] for r in every} == {"BTCUSDT", "ETHUSDT"}
    assert all(float(r["bidPrice"]) < float(r["askPrice"]) for r in every)
    status, _, bad = get(sim, "/api/v3/ticker/price?symbols=BTCUSDT")
    assert status == 400 and bad["code"] == -1100


def test_fetch_order_book_matches_the_core(sim: SimExchange, ex: ccxt.binance) -> None:
    book = ex.fetch_order_book("BTC/USDT", limit=5)
    snap = sim.core.depth("BTCUSDT", 5)
    assert book["nonce"] == snap.last_update_id
    assert [b[0] for b in book["bids"]] == [float(p) for p, _ in snap.bids]
    assert [a[0] for a in book["asks"]] == [float(p) for p, _ in snap.asks]
    assert len(book["bids"]) == 5 and book["bids"][0][0] < book["asks"][0][0]


def test_depth_weight_depends_on_limit(sim: SimExchange) -> None:
    _, h1, _ = get(sim, "/api/v3/depth?symbol=BTCUSDT&limit=5")
    _, h2, _ = get(sim, "/api/v3/depth?symbol=BTCUSDT&limit=5000")
    assert int(h2["X-MBX-USED-WEIGHT-1M"]) - int(h1["X-MBX-USED-WEIGHT-1M"]) == 250


def test_fetch_trades_are_the_tape(sim: SimExchange, ex: ccxt.binance) -> None:
    trades = ex.fetch_trades("BTC/USDT", limit=50)
    assert len(trades) == 50
    times = [t["timestamp"] for t in trades]
    assert times == sorted(times)
    assert len({t["id"] for t in trades}) == 50
    _, _, raw = get(sim, "/api/v3/trades?symbol=BTCUSDT&limit=3")
    assert [r["id"] for r in raw] == [t.trade_id for t in sim.core.recent_trades("BTCUSDT", 3)]
    assert set(raw[0]) == {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"}


def test_agg_trades_and_avg_price(sim: SimExchange) -> None:
    _, _, aggs = get(sim, "/api/v3/aggTrades?symbol=BTCUSDT&limit=10")
    assert len(aggs) == 10 and set(aggs[0]) == {"a", "p", "q", "f", "l", "T", "m", "M"}
    assert all(a["f"] <= a["l"] for a in aggs)
    _, _, avg = get(sim, "/api/v3/avgPrice?symbol=BTCUSDT")
    assert avg["mins"] == 5 and float(avg["price"]) > 0


def test_fetch_ohlcv_since_limit_loop_has_no_gap_or_overlap(
    sim: SimExchange, ex: ccxt.binance
) -> None:
    now = sim.clock.now_ms()
    since = now - 3000 * 60_000
    bars: list[list[float]] = []
    cursor = since
    for _ in range(10):  # 3000 bars and the live ones: four pages; more means a loop
        page = ex.fetch_ohlcv("BTC/USDT", "1m", since=cursor, limit=1000)
        if not page:
            break
        bars.extend(page)
        cursor = int(page[-1][0]) + 60_000
        if len(page) < 1000:
            break
    else:
        pytest.fail(f"pagination did not end after 10 pages ({len(bars)} bars)")
    assert len(bars) >= 3000
    opens = [int(b[0]) for b in bars]
    assert opens[0] == since + (-since) % 60_000  # the first bar opening at/after since
    assert all(b - a == 60_000 for a, b in itertools.pairwise(opens))
    assert all(b[3] <= min(b[1], b[4]) and b[2] >= max(b[1], b[4]) for b in bars)


def test_fetch_ohlcv_paginate_matches_the_manual_loop(sim: SimExchange, ex: ccxt.binance) -> None:
    now = sim.clock.now_ms()
    since = now - now % 60_000 - 2500 * 60_000
    bars = ex.fetch_ohlcv(
        "BTC/USDT", "1m", since=since, params={"paginate": True, "paginationCalls": 5}
    )
    opens = [int(b[0]) for b in bars]
    assert opens[0] == since
    assert len(opens) >= 2500
    assert all(b - a == 60_000 for a, b in itertools.pairwise(opens))
    direct = ex.fetch_ohlcv("BTC/USDT", "1m", since=since + 1000 * 60_000, limit=3)
    assert bars[1000:1003] == direct


def test_klines_end_time_and_higher_interval(sim: SimExchange) -> None:
    now = sim.clock.now_ms()
    _, _, rows = get(sim, f"/api/v3/klines?symbol=BTCUSDT&interval=1h&endTime={now}&limit=5")
    assert len(rows) == 5
    assert all(r[6] - r[0] == 3_600_000 - 1 for r in rows)
    assert rows[-1][0] <= now
    _, _, ui = get(sim, f"/api/v3/uiKlines?symbol=BTCUSDT&interval=1h&endTime={now}&limit=5")
    assert ui == rows


def test_every_ccxt_api_url_points_at_the_simulator(sim: SimExchange) -> None:
    default_api = ccxt.binance().urls["api"]
    urls = sim.ccxt_urls()["api"]
    rest_keys = {k for k, v in default_api.items() if isinstance(v, str)}
    assert rest_keys <= set(CCXT_API_KEYS)
    assert all(urls[k].startswith(sim.url) for k in rest_keys)


def test_load_markets_with_urls_only_and_keys(sim: SimExchange) -> None:
    key, secret = sim.create_account({"USDT": 1})
    client = ccxt.binance({"urls": sim.ccxt_urls(), "apiKey": key, "secret": secret})
    markets = client.load_markets()
    assert {"BTC/USDT", "ETH/USDT"} <= set(markets)
    assert "USDT" in client.currencies


def test_unknown_path_is_404(sim: SimExchange) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(sim.url + "/api/v3/nothing", timeout=10)
    assert info.value.code == 404


def test_historical_trades_need_an_api_key_and_page_from_an_id(sim: SimExchange) -> None:
    status, _, body = get(sim, "/api/v3/historicalTrades?symbol=BTCUSDT")
    assert (status, body["code"]) == (401, -2014)
    key, _ = sim.create_account({})
    first = sim.core.recent_trades("BTCUSDT", 100)[0].trade_id
    req = urllib.request.Request(
        f"{sim.url}/api/v3/historicalTrades?symbol=BTCUSDT&fromId={first}&limit=4",
        headers={"X-MBX-APIKEY": key},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        rows = json.loads(resp.read())
    assert [r["id"] for r in rows] == [first, first + 1, first + 2, first + 3]
