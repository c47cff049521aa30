"""``VenueClient`` against the simulator with the real ccxt.pro client, over loopback.

Markets, paginated history, orders (including an ambiguous outcome resolved by client order id),
rate-limit retries, streams with a dropped connection, and a clean start/stop.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from real_trade.bus import EventBus
from real_trade.errors import (
    AmbiguousOutcomeError,
    AuthenticationError,
    BadSymbolError,
    RateLimitError,
)
from real_trade.sim.server import SimExchange
from real_trade.venues import BINANCE, StreamStateChanged, VenueClient
from real_trade.venues.retry import RetryPolicy
from real_trade.venues.streams import StreamKind
from tests.support import eventually

pytestmark = pytest.mark.integration
SYMBOL = "BTC/USDT"
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A stepped simulator shared by this module (faults reset after each test)."""
    with SimExchange(stepped=True, seed=21) as exchange:
        exchange.advance(90)  # a minute and a half of live market after the history
        yield exchange


@pytest.fixture(autouse=True)
def _reset_faults(sim: SimExchange) -> Iterator[None]:
    yield
    sim.faults.reset()


@pytest.fixture(scope="module")
def client(sim: SimExchange) -> Iterator[VenueClient]:
    """A client on a funded account, shared by the tests of this module."""
    key, secret = sim.create_account({"USDT": 100_000, "BTC": 2})
    venue_client = VenueClient(
        BINANCE,
        apikey=key,
        secret=secret,
        sim_url=sim.url,
        retry_policy=FAST,
        reconnect_base_delay=0.01,
        reconnect_max_delay=0.05,
    )
    with venue_client:
        yield venue_client


def _below_market(client: VenueClient) -> float:
    return client.fetch_ticker(SYMBOL)["last"] * 0.8


# -- lifecycle ---------------------------------------------------------------------------------
def test_start_stop_leaves_no_thread_task_or_session_behind(
    sim: SimExchange, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncio")
    before = set(threading.enumerate())
    key, secret = sim.create_account({"USDT": 1_000})
    fresh = VenueClient(BINANCE, apikey=key, secret=secret, sim_url=sim.url)
    fresh.start()
    fresh.load_markets()
    loop = fresh.loop
    stream = fresh.stream("trades", SYMBOL, on_event=lambda _: None)
    eventually(lambda: stream.state == "connected", 10, message="trades stream connects")
    assert len(set(threading.enumerate()) - before) == 1
    fresh.stop()
    fresh.stop()  # idempotent
    assert set(threading.enumerate()) - before == set()
    assert loop.is_closed() and not fresh.is_started
    assert stream.state == "stopped" and not stream.is_running
    gc.collect()
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [m for m in problems if "destroyed" in m or "Unclosed" in m], problems


def test_a_sync_call_on_the_io_thread_is_refused(client: VenueClient) -> None:
    async def call_sync_from_loop() -> None:
        client.fetch_time()

    with pytest.raises(RuntimeError, match="own I/O thread"):
        client.run(call_sync_from_loop())


# -- markets -----------------------------------------------------------------------------------
def test_markets_by_symbol_and_by_id(client: VenueClient) -> None:
    markets = client.load_markets()
    assert SYMBOL in markets
    assert client.market(SYMBOL)["id"] == "BTCUSDT"
    for name in ("BTCUSDT", "btcusdt", "BTC-USDT"):
        assert client.symbol_of(name) == SYMBOL
    assert client.amount_to_precision(SYMBOL, 0.0123456789) == pytest.approx(0.01234, abs=1e-5)


def test_unknown_symbol_suggests_the_closest(client: VenueClient) -> None:
    with pytest.raises(BadSymbolError) as info:
        client.market("BTC/USDX")
    assert "BTC/USDT" in str(info.value)


def test_a_market_type_the_simulator_does_not_serve_names_the_face_to_start(
    sim: SimExchange,
) -> None:
    # the module's simulator serves the Binance spot face only: no USD-M markets
    futures = VenueClient(BINANCE, market_type="future", sim_url=sim.url, retry_policy=FAST)
    try:
        with pytest.raises(BadSymbolError) as info:
            futures.market("BTC/USDT:USDT")
    finally:
        futures.stop()
    message = str(info.value)
    assert "lists no markets of this type" in message
    assert sim.url in message and "real-trade sim --faces binance_futures" in message


# -- history -----------------------------------------------------------------------------------
def test_fetch_ohlcv_paginates_without_gap_or_duplicate(client: VenueClient) -> None:
    now = client.fetch_time()
    bars = client.fetch_ohlcv(SYMBOL, "1m", limit=3_200)
    opens = [int(bar[0]) for bar in bars]
    assert len(opens) == 3_200
    assert all(b - a == 60_000 for a, b in itertools.pairwise(opens))
    assert opens[-1] + 60_000 <= now < opens[-1] + 120_000  # the last closed bar, no open one

    since = opens[10]
    forward = client.fetch_ohlcv(SYMBOL, "1m", since_ms=since, until_ms=opens[3_100])
    assert [int(b[0]) for b in forward] == opens[10:3_101]


def test_closed_only_drops_the_open_bar_by_the_exchange_clock(client: VenueClient) -> None:
    now = client.fetch_time()
    assert now % 60_000 != 0  # mid-minute: the current bar is still open
    with_open = client.fetch_ohlcv(SYMBOL, "1m", limit=5, closed_only=False)
    closed = client.fetch_ohlcv(SYMBOL, "1m", limit=5)
    assert int(with_open[-1][0]) + 60_000 > now
    assert int(closed[-1][0]) + 60_000 <= now
    assert int(closed[-1][0]) == int(with_open[-2][0])


# -- orders ------------------------------------------------------------------------------------
def test_create_fetch_cancel_and_find_by_client_id(client: VenueClient) -> None:
    placed = client.create_order(SYMBOL, "limit", "buy", 0.01, _below_market(client))
    assert placed["status"] == "open" and placed["clientOrderId"].startswith("rt")
    assert client.fetch_order(placed["id"], SYMBOL)["status"] == "open"
    found = client.find_order_by_client_id(placed["clientOrderId"], SYMBOL)
    assert found is not None and found["id"] == placed["id"]
    assert placed["id"] in [o["id"] for o in client.fetch_open_orders(SYMBOL)]
    client.cancel_order(placed["id"], SYMBOL)
    assert client.fetch_order(placed["id"], SYMBOL)["status"] == "canceled"
    assert client.find_order_by_client_id("rt-never-placed", SYMBOL) is None


def test_scan_fallback_finds_orders_by_client_id(sim: SimExchange) -> None:
    key, secret = sim.create_account({"USDT": 10_000})
    scanning = dataclasses.replace(
        BINANCE, quirks={**BINANCE.quirks, "client_id_query_param": None}
    )
    with VenueClient(scanning, apikey=key, secret=secret, sim_url=sim.url) as other:
        placed = other.create_order(SYMBOL, "limit", "buy", 0.01, _below_market(other))
        found = other.find_order_by_client_id(placed["clientOrderId"], SYMBOL)
        assert found is not None and found["id"] == placed["id"]
        other.cancel_order(placed["id"], SYMBOL)
        found = other.find_order_by_client_id(placed["clientOrderId"], SYMBOL)
        assert found is not None and found["status"] == "canceled"
        assert other.find_order_by_client_id("rtabsent", SYMBOL) is None


@pytest.mark.parametrize("kind", ["503", "timeout"])
def test_ambiguous_create_is_never_resent_and_is_found_by_client_id(
    sim: SimExchange, client: VenueClient, kind: str
) -> None:
    cid = client.new_client_order_id()
    sim.faults.ambiguous_next(1, kind)  # type: ignore[arg-type]
    with pytest.raises(AmbiguousOutcomeError) as info:
        client.create_order(
            SYMBOL, "limit", "buy", 0.01, _below_market(client), client_order_id=cid
        )
    assert info.value.client_order_id == cid
    mine = [o for o in client.fetch_open_orders(SYMBOL) if o["clientOrderId"] == cid]
    assert len(mine) == 1  # exactly one order exists: it was accepted once, never resent
    found = client.find_order_by_client_id(cid, SYMBOL)
    assert found is not None and found["id"] == mine[0]["id"]
    client.cancel_order(found["id"], SYMBOL)


def test_rate_limited_read_is_retried(
    sim: SimExchange, client: VenueClient, caplog: pytest.LogCaptureFixture
) -> None:
    sim.faults.fail_next(2, "429", retry_after=0)
    with caplog.at_level(logging.WARNING, logger="real_trade"):
        assert client.fetch_ticker(SYMBOL)["last"] > 0
    assert sim.faults.injected["request:429"] == 2
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    called = {m.split(" failed")[0].rsplit(".", 1)[-1] for m in retries}  # the ccxt calls named
    assert len(retries) == 2 and called <= {"load_markets", "fetch_ticker"}, retries


def test_rate_limit_surfaces_once_attempts_run_out(sim: SimExchange) -> None:
    once = VenueClient(BINANCE, sim_url=sim.url, retry_policy=RetryPolicy(max_attempts=1))
    with once:
        once.load_markets()
        sim.faults.fail_next(1, "429", retry_after=0)
        with pytest.raises(RateLimitError):
            once.fetch_ticker(SYMBOL)


def test_private_calls_without_keys_explain_what_is_missing(sim: SimExchange) -> None:
    with VenueClient(BINANCE, sim_url=sim.url) as public:
        assert public.fetch_ticker(SYMBOL)["last"] > 0
        with pytest.raises(AuthenticationError, match="apikey, secret"):
            public.fetch_balance()
        with pytest.raises(AuthenticationError):
            public.stream("orders", SYMBOL, on_event=lambda _: None)


# -- streams -----------------------------------------------------------------------------------
def _reconnected(handles: dict[StreamKind, Any], kinds: tuple[StreamKind, ...]) -> bool:
    return all(handles[k].reconnects >= 1 and handles[k].state == "connected" for k in kinds)


def test_streams_deliver_and_recover_from_dropped_connections(
    sim: SimExchange, client: VenueClient
) -> None:
    bus = EventBus(synchronous=True)
    changes: list[StreamStateChanged] = []
    bus.subscribe("venue.stream.*", lambda _topic, event: changes.append(event))
    client.bus = bus
    kinds: tuple[StreamKind, ...] = ("trades", "ohlcv", "orders", "balance")
    got: dict[str, list[Any]] = {k: [] for k in kinds}
    handles = {
        kind: client.stream(kind, None if kind == "balance" else SYMBOL, on_event=got[kind].append)
        for kind in kinds
    }
    try:
        eventually(
            lambda: _market_streams_connected(handles) or _tick(sim),
            15,
            message="the market streams connect",
        )
        eventually(
            lambda: (got["trades"] and got["ohlcv"]) or _tick(sim), 15, message="a trade, a candle"
        )
        assert {"price", "amount", "timestamp"} <= set(got["trades"][-1])
        assert len(got["ohlcv"][-1]) == 6

        # orders and balance share one socket: the stream that did not open it shows itself
        # connected only by delivering, and an order placed before the venue confirmed the
        # user-data subscription would never be reported; so wait for that confirmation
        eventually(lambda: _user_data_subscribed(client), 15, message="user-data subscription")
        placed = client.create_order(SYMBOL, "market", "buy", 0.01)
        eventually(
            lambda: any(o["id"] == placed["id"] for o in got["orders"]),
            15,
            message="the order on the orders stream",
        )
        eventually(lambda: got["balance"], 15, message="a balance update after the fill")
        assert "BTC" in got["balance"][-1]
        assert all(h.state == "connected" for h in handles.values()), handles

        old_sockets = _user_data_sockets(client)
        sim.faults.drop_connections()
        eventually(
            lambda: _reconnected(handles, ("trades", "ohlcv")) or _tick(sim),
            20,
            message="the market streams reconnect",
        )
        # a private stream that shares its socket with another may only show itself connected
        # by delivering: account activity after the drop proves both user-data streams recovered
        # (once the new socket's subscription is confirmed, or the order's report is lost)
        eventually(
            lambda: _user_data_subscribed(client, besides=old_sockets),
            20,
            message="the user-data subscription on a new socket",
        )
        after = {k: len(got[k]) for k in ("orders", "balance")}
        again = client.create_order(SYMBOL, "market", "sell", 0.01)
        try:
            eventually(
                lambda: (
                    _reconnected(handles, kinds)
                    and any(o["id"] == again["id"] for o in got["orders"][after["orders"] :])
                    and len(got["balance"]) > after["balance"]
                ),
                20,
                message="every stream reconnects",
            )
        except AssertionError as exc:
            seen = {k: (h.state, h.reconnects) for k, h in handles.items()}
            raise AssertionError(f"{exc}; (state, reconnects) by stream: {seen}") from None
        for kind in got:
            states = [c.state for c in changes if c.kind == kind]
            assert states[0] == "connecting"
            assert "disconnected" in states
            assert states[states.index("disconnected") + 1] == "connected"
    finally:
        for handle in handles.values():
            handle.stop()
        client.bus = None
    assert all(h.state == "stopped" for h in handles.values())
    assert [c.state for c in changes if c.kind == "trades"][-1] == "stopped"


def _market_streams_connected(handles: dict[StreamKind, Any]) -> bool:
    return all(handles[k].state == "connected" for k in ("trades", "ohlcv"))


def _user_data_sockets(client: VenueClient) -> dict[int, Any]:
    """ccxt's websocket clients on the simulator's WebSocket API (the user-data stream), by id."""
    clients = dict(client.exchange.clients)
    return {id(c): c for url, c in clients.items() if url.endswith("/ws-api/v3")}


def _user_data_subscribed(client: VenueClient, besides: dict[int, Any] | None = None) -> bool:
    """The venue acknowledged the user-data subscription on a socket not in ``besides``: ccxt
    flags ``subscriptions["spot"]`` when it sends the request and drops the pending future
    ``authenticate:signature:spot`` when the acknowledgement arrives."""
    return any(
        "spot" in c.subscriptions and "authenticate:signature:spot" not in c.futures
        for key, c in _user_data_sockets(client).items()
        if key not in (besides or {})
    )


def _tick(sim: SimExchange) -> bool:
    """Move the stepped market a second on; always False, so ``eventually`` keeps polling."""
    sim.advance(1)
    return False


def test_stream_states_run_from_connecting_to_stopped_and_bad_symbols_are_refused(
    client: VenueClient,
) -> None:
    states: list[str] = []
    handle = client.stream(
        "trades", SYMBOL, on_event=lambda _: None, on_state=lambda c: states.append(c.state)
    )
    handle.stop()
    assert states[0] == "connecting" and states[-1] == "stopped"
    with pytest.raises(BadSymbolError):
        client.stream("trades", "NOPE/USDT", on_event=lambda _: None)


def test_repr_masks_the_key(sim: SimExchange) -> None:
    key, secret = sim.create_account({"USDT": 1})
    masked = VenueClient(BINANCE, apikey=key, secret=secret, sim_url=sim.url)
    text = repr(masked)
    assert key not in text and secret not in text and key[-4:] in text
    assert "mode='sim'" in text
