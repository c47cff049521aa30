"""Each venue's official Python SDK, unmodified, against its face: ``pybit`` (Bybit v5) and
``python-okx`` (OKX v5).

Only the host is changed: pybit's ``HTTP.endpoint`` and its websocket URL constant, python-okx's
``domain`` and websocket URLs. python-okx's websocket factory always passes a TLS context (which
a plain ``ws://`` URL refuses), so its websockets (``WsPublicAsync``, ``WsPrivateAsync``) meet a
simulator serving TLS with a certificate from a throwaway CA (:mod:`tests.tls_ca`), in a
subprocess whose ``SSL_CERT_FILE`` names that CA (``okx_sdk_ws_client.py``); this process's
trust is untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from real_trade.sim.server import SimExchange
from tests.integration.venues.pybit_ws_client import private_websocket
from tests.support import eventually
from tests.tls_ca import TlsFiles, make_tls_files

pybit_http = pytest.importorskip("pybit.unified_trading")
pybit_exceptions = pytest.importorskip("pybit.exceptions")
okx_trade = pytest.importorskip("okx.Trade")
okx_account = pytest.importorskip("okx.Account")
okx_public = pytest.importorskip("okx.PublicData")

pytestmark = [
    pytest.mark.integration,
    # python-okx posts with httpx's deprecated data=; not ours to fix
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]
FUNDS = {"USDT": 100_000, "BTC": 1}
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def bybit_sim() -> Iterator[SimExchange]:
    """Bybit: BTCUSDT spot and linear."""
    with SimExchange(seed=51, faces=["bybit"]) as sim:
        yield sim


@pytest.fixture(scope="module")
def okx_sim() -> Iterator[SimExchange]:
    """OKX: BTC-USDT spot and BTC-USDT-SWAP."""
    with SimExchange(seed=52, faces=["okx"]) as sim:
        yield sim


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA and a loopback server certificate it signed."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def bybit_tls_sim(tls_files: TlsFiles) -> Iterator[SimExchange]:
    """Bybit over https and wss, with the test CA's server certificate."""
    with SimExchange(
        seed=54, faces=["bybit"], tls=(tls_files.server_cert, tls_files.server_key)
    ) as sim:
        yield sim


@pytest.fixture(scope="module")
def okx_tls_sim(tls_files: TlsFiles) -> Iterator[SimExchange]:
    """OKX over https and wss, with the test CA's server certificate."""
    with SimExchange(
        seed=53, faces=["okx"], tls=(tls_files.server_cert, tls_files.server_key)
    ) as sim:
        yield sim


def _trusting(ca: Path) -> dict[str, str]:
    """This process's environment, plus ``SSL_CERT_FILE`` naming ``ca`` (for a subprocess)."""
    return {**os.environ, "SSL_CERT_FILE": str(ca)}


def _pybit(sim: SimExchange) -> tuple[Any, str, str]:
    key, secret = sim.create_account(FUNDS)
    session = pybit_http.HTTP(testnet=True, api_key=key, api_secret=secret)
    session.endpoint = sim.url
    return session, key, secret


def _order_ids(messages: list[dict[str, Any]]) -> set[str]:
    return {row["orderId"] for m in messages for row in m.get("data", [])}


def _below(price: str, factor: float = 0.95) -> str:
    return f"{float(price) * factor:.2f}"


def test_pybit_market_data_and_wallet(bybit_sim: SimExchange) -> None:
    session, _, _ = _pybit(bybit_sim)
    now = session.get_server_time()["result"]
    assert abs(int(now["timeNano"]) // 1_000_000 - bybit_sim.clock.now_ms()) < 5_000
    spot = session.get_instruments_info(category="spot")["result"]["list"]
    linear = session.get_instruments_info(category="linear")["result"]["list"]
    assert [i["symbol"] for i in spot] == ["BTCUSDT"]
    assert [i["symbol"] for i in linear] == ["BTCUSDT"]
    wallet = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    coins = {c["coin"]: c for c in wallet["coin"]}
    assert float(coins["USDT"]["walletBalance"]) == 100_000


def test_pybit_order_place_amend_cancel(bybit_sim: SimExchange) -> None:
    session, _, _ = _pybit(bybit_sim)
    bid = session.get_orderbook(category="spot", symbol="BTCUSDT")["result"]["b"][0][0]
    placed = session.place_order(
        category="spot",
        symbol="BTCUSDT",
        side="Buy",
        orderType="Limit",
        qty="0.01",
        price=_below(bid),
        orderLinkId="sdk-1",
    )["result"]
    amended = session.amend_order(
        category="spot", symbol="BTCUSDT", orderId=placed["orderId"], qty="0.005"
    )["result"]
    assert amended["orderId"] == placed["orderId"]
    (live,) = session.get_open_orders(category="spot", symbol="BTCUSDT")["result"]["list"]
    assert live["orderLinkId"] == "sdk-1" and float(live["qty"]) == 0.005
    session.cancel_order(category="spot", symbol="BTCUSDT", orderId=placed["orderId"])
    assert session.get_open_orders(category="spot", symbol="BTCUSDT")["result"]["list"] == []
    with pytest.raises(pybit_exceptions.InvalidRequestError) as info:
        session.cancel_order(category="spot", symbol="BTCUSDT", orderId=placed["orderId"])
    assert info.value.status_code == 170213


def test_pybit_linear_position(bybit_sim: SimExchange) -> None:
    session, _, _ = _pybit(bybit_sim)
    session.place_order(
        category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.1"
    )
    (pos,) = session.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert pos["side"] == "Buy" and float(pos["size"]) == 0.1
    fills = session.get_executions(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert sum(float(f["execQty"]) for f in fills) == 0.1
    wallet = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    usdt = {c["coin"]: c for c in wallet["coin"]}["USDT"]
    assert 0 < float(usdt["walletBalance"]) < 100_000  # one wallet: the fee, counted once


def test_pybit_private_websocket_streams_orders(
    bybit_sim: SimExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pybit_http, "PRIVATE_WSS", bybit_sim.ws_url + "/v5/private")
    session, key, secret = _pybit(bybit_sim)
    ws = private_websocket(key, secret)  # auth valid 10 s, subscriptions booked before sent
    messages: list[dict[str, Any]] = []
    try:
        ws.order_stream(callback=messages.append)
        eventually(ws.is_connected, 10, message="pybit connected and authenticated")
        bid = session.get_orderbook(category="spot", symbol="BTCUSDT")["result"]["b"][0][0]
        shown: set[str] = set()
        for _ in range(10):  # orders until the subscription is live and shows one
            order_id = session.place_order(
                category="spot",
                symbol="BTCUSDT",
                side="Buy",
                orderType="Limit",
                qty="0.01",
                price=_below(bid),
            )["result"]["orderId"]
            with contextlib.suppress(AssertionError):
                eventually(lambda oid=order_id: oid in _order_ids(messages), 2)
            shown = _order_ids(messages)
            if order_id in shown:
                break
        assert order_id in shown, "no order update on pybit's private stream"
    finally:
        ws.exit()
    assert all(m["topic"] == "order" for m in messages)


def _okx(sim: SimExchange) -> tuple[Any, Any]:
    key, secret = sim.create_account(FUNDS)
    password = sim.ccxt_config(venue="okx")["password"]
    args = {"api_key": key, "api_secret_key": secret, "passphrase": password, "flag": "1"}
    return (
        okx_trade.TradeAPI(**args, domain=sim.url),
        okx_account.AccountAPI(**args, domain=sim.url),
    )


def test_python_okx_public_data(okx_sim: SimExchange) -> None:
    public = okx_public.PublicAPI(flag="1", domain=okx_sim.url)
    now = int(public.get_system_time()["data"][0]["ts"])
    assert abs(now - okx_sim.clock.now_ms()) < 5_000
    spot = public.get_instruments(instType="SPOT")["data"]
    swap = public.get_instruments(instType="SWAP")["data"]
    assert [i["instId"] for i in spot] == ["BTC-USDT"]
    assert [(i["instId"], i["ctVal"]) for i in swap] == [("BTC-USDT-SWAP", "0.01")]


def test_python_okx_order_place_amend_cancel_and_balance(okx_sim: SimExchange) -> None:
    trade, account = _okx(okx_sim)
    balance = account.get_account_balance()["data"][0]["details"]
    assert {d["ccy"]: float(d["cashBal"]) for d in balance}["USDT"] == 100_000
    last = float(okx_sim.core.last_price("BTCUSDT") or 0)
    placed = trade.place_order(
        instId="BTC-USDT",
        tdMode="cash",
        side="buy",
        ordType="limit",
        sz="0.01",
        px=f"{last * 0.9:.1f}",
    )
    assert placed["code"] == "0"
    ord_id = placed["data"][0]["ordId"]
    amended = trade.amend_order(instId="BTC-USDT", ordId=ord_id, newSz="0.02")
    assert amended["code"] == "0" and amended["data"][0]["ordId"] == ord_id
    order = trade.get_order(instId="BTC-USDT", ordId=ord_id)["data"][0]
    assert order["sz"] == "0.02" and order["state"] == "live"
    assert [o["ordId"] for o in trade.get_order_list(instType="SPOT")["data"]] == [ord_id]
    assert trade.cancel_order(instId="BTC-USDT", ordId=ord_id)["code"] == "0"
    again = trade.cancel_order(instId="BTC-USDT", ordId=ord_id)
    assert again["code"] == "1" and again["data"][0]["sCode"] == "51400"
    assert okx_sim.faces[0].stats.demo_requests > 0  # flag "1": the demo header


def test_python_okx_swap_position(okx_sim: SimExchange) -> None:
    trade, account = _okx(okx_sim)
    placed = trade.place_order(
        instId="BTC-USDT-SWAP", tdMode="cross", side="buy", ordType="market", sz="2"
    )
    assert placed["code"] == "0", placed
    (pos,) = account.get_positions(instType="SWAP")["data"]
    assert pos["instId"] == "BTC-USDT-SWAP" and float(pos["pos"]) == 2


def test_python_okx_websockets_over_tls(okx_tls_sim: SimExchange, tls_files: TlsFiles) -> None:
    """WsPublicAsync gets tickers, books and candles; WsPrivateAsync logs in and sees an order
    placed over REST, all over wss with the SDK unmodified."""
    sim = okx_tls_sim
    assert sim.url.startswith("https://") and sim.ws_url.startswith("wss://")
    key, secret = sim.create_account(FUNDS)
    password = sim.ccxt_config(venue="okx")["password"]
    done = subprocess.run(
        [
            sys.executable,
            str(HERE / "okx_sdk_ws_client.py"),
            sim.url,
            sim.ws_url,
            key,
            secret,
            password,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_trusting(tls_files.ca_cert),
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    public, private = seen["public"], seen["private"]
    assert public["ticker"]["instId"] == "BTC-USDT"
    assert float(public["ticker"]["bidPx"]) < float(public["ticker"]["askPx"])
    assert public["book_action"] == "snapshot" and public["book"]["bids"]
    assert len(public["candle"]) == 9  # ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm
    assert private["login"]["code"] == "0"
    assert private["instruments"] == ["BTC-USDT"]
    (placed,) = private["placed"]["data"]
    order = private["order"]
    assert order["ordId"] == placed["ordId"] and order["state"] == "live"
    assert (order["side"], order["sz"], order["instId"]) == ("buy", "0.01", "BTC-USDT")
    assert private["channels"] == ["orders"]
    account = sim.core.account_by_key(key)
    assert account is not None
    assert [str(o.order_id) for o in sim.core.open_orders(account)] == [placed["ordId"]]


def test_python_okx_websocket_refuses_the_simulator_without_the_test_ca(
    okx_tls_sim: SimExchange, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The control: the certificate is verified, so trusting the test CA is what lets it in."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    factory_module = pytest.importorskip("okx.websocket.WebSocketFactory")

    async def connect() -> object:
        factory = factory_module.WebSocketFactory(okx_tls_sim.ws_url + "/ws/v5/public")
        try:
            return await factory.connect()
        finally:
            await factory.close()

    with caplog.at_level("ERROR", logger="okx.websocket.WebSocketFactory"):
        assert asyncio.run(connect()) is None  # the factory logs the error and returns None
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text


def test_pybit_websockets_over_tls(bybit_tls_sim: SimExchange, tls_files: TlsFiles) -> None:
    """pybit's public ticker and private order streams over wss, trusting the test CA."""
    sim = bybit_tls_sim
    key, secret = sim.create_account(FUNDS)
    done = subprocess.run(
        [sys.executable, str(HERE / "pybit_ws_client.py"), sim.url, sim.ws_url, key, secret],
        capture_output=True,
        text=True,
        timeout=120,
        env=_trusting(tls_files.ca_cert),
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["ticker"]["symbol"] == "BTCUSDT" and float(seen["ticker"]["lastPrice"]) > 0
    assert seen["order"]["orderStatus"] == "New" and seen["order"]["side"] == "Buy"
    assert seen["topics"] == ["order"]
