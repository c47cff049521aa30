"""Each venue's official Python SDK, unmodified, against its face: ``pybit`` (Bybit v5) and
``python-okx`` (OKX v5).

Only the host is changed: pybit's ``HTTP.endpoint`` and its websocket URL constant, python-okx's
``domain``. python-okx's websockets cannot be pointed at loopback (its factory always passes a
TLS context, which plain ``ws://`` refuses), so OKX is driven over REST only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from real_trade.sim.server import SimExchange
from tests.support import eventually

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
    ws = pybit_http.WebSocket(
        testnet=True, channel_type="private", api_key=key, api_secret=secret, retries=3
    )
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
