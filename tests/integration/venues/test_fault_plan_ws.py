"""The fault plan's websocket faults on every face, as ccxt.pro meets them.

Over (binance, bybit, okx) x (spot, perp): a dropped connection (the pending watch fails with a
``NetworkError``, the next one reconnects), book updates dropped, duplicated or reordered (what
ccxt.pro makes of the gap in the venue's sequence numbers) and a paused private stream (nothing
arrives while paused; the held update on resume).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt
import pytest

from real_trade.sim.server import SimExchange
from tests.integration.venues.cases import VenueCase, order_amount
from tests.integration.venues.conftest import FUNDS

pytestmark = pytest.mark.integration


def _run(sim: SimExchange, case: VenueCase, body: Callable[[Any], Awaitable[None]]) -> None:
    async def main() -> None:
        ex = case.pro(sim, *sim.create_account(FUNDS))
        try:
            await ex.load_markets()
            await asyncio.wait_for(body(ex), 40)
        finally:
            await ex.close()

    asyncio.run(main())


def test_dropped_connection_fails_the_watch_and_the_next_reconnects(
    sim: SimExchange, case: VenueCase
) -> None:
    async def body(ex: Any) -> None:
        await ex.watch_trades(case.symbol)
        # the old client objects themselves, held: a freed one's id() can be the new one's
        before = list(ex.clients.values())
        pending = asyncio.ensure_future(ex.watch_trades(case.symbol))
        assert sim.faults.drop_connections(1006) >= 1
        with contextlib.suppress(ccxt.NetworkError):  # unless a trade beat the drop to it
            await pending

        def reconnected() -> bool:
            return any(all(c is not old for old in before) for c in ex.clients.values())

        trades = None
        while trades is None or not reconnected():  # trades read before the close: the old socket
            try:
                trades = await ex.watch_trades(case.symbol)
            except ccxt.NetworkError:
                trades = None  # a watch joined to the closing connection; the next reconnects
        assert trades and trades[-1]["symbol"] == case.symbol

    _run(sim, case, body)


DEPTH_ERRORS: dict[str, dict[str, type[Exception] | None]] = {
    "binance": {"drop": ccxt.ChecksumError, "reorder": ccxt.ChecksumError, "duplicate": None},
    "okx": {
        "drop": ccxt.InvalidNonce,
        "reorder": ccxt.InvalidNonce,
        "duplicate": ccxt.InvalidNonce,
    },
    "bybit": {"drop": None, "reorder": None, "duplicate": None},
}
"""What ccxt.pro raises when the venue's book updates arrive with a gap (``U``/``u`` on Binance,
``seqId``/``prevSeqId`` on OKX) or a repeat: Binance skips repeats (``u`` at or below its
nonce) and OKX refuses them; ccxt's bybit checks no sequence at all (it applies every delta),
so there a gap reaches the wire (see ``tests/integration/sim/test_bybit_ws.py``) but not the
caller: our own book synchronizer has to catch it."""


@pytest.mark.parametrize("fault", ["drop", "duplicate", "reorder"])
def test_book_update_faults_reach_ccxt_pro(sim: SimExchange, case: VenueCase, fault: str) -> None:
    expected = DEPTH_ERRORS[case.venue][fault]

    async def body(ex: Any) -> None:
        await ex.watch_order_book(case.symbol)
        before = sim.faults.injected.get(f"depth:{fault}", 0)
        sim.faults.set_depth_faults(**{fault: 1.0 if fault == "duplicate" else 0.5})
        raised: list[type[Exception]] = []
        updates = 0
        while sim.faults.injected.get(f"depth:{fault}", 0) - before < 5 or (
            expected is not None and not raised
        ):
            try:
                await ex.watch_order_book(case.symbol)
                updates += 1
            except ccxt.BaseError as err:
                raised.append(type(err))
        sim.faults.set_depth_faults()
        if expected is None:
            assert not raised and updates > 0, f"{case.id} {fault}: {raised}"
        else:
            assert set(raised) == {expected}, f"{case.id} {fault}: {raised}"

    _run(sim, case, body)


def test_paused_private_stream_holds_updates_until_resumed(
    sim: SimExchange, case: VenueCase
) -> None:
    async def body(ex: Any) -> None:
        bid = (await ex.fetch_order_book(case.symbol))["bids"][0][0]
        price = float(ex.price_to_precision(case.symbol, bid * 0.95))
        amount = order_amount(ex, case.symbol, price=price)
        placed: list[str] = []
        watching = asyncio.ensure_future(ex.watch_orders(case.symbol))
        while not watching.done():  # orders until the subscribed stream shows one
            placed.append((await ex.create_order(case.symbol, "limit", "buy", amount, price))["id"])
            await asyncio.wait({watching}, timeout=1.0)
        watching.result()
        sim.faults.pause_user_stream(True)
        held = (await ex.create_order(case.symbol, "limit", "buy", amount, price))["id"]
        watching = asyncio.ensure_future(ex.watch_orders(case.symbol))
        await asyncio.wait({watching}, timeout=1.0)
        shown = {o["id"] for o in watching.result()} if watching.done() else set()
        assert held not in shown, f"{case.id}: an update crossed the paused stream"
        sim.faults.pause_user_stream(False)
        while held not in shown:
            shown |= {o["id"] for o in await watching}
            watching = asyncio.ensure_future(ex.watch_orders(case.symbol))
        watching.cancel()
        for order_id in [*placed, held]:
            await ex.cancel_order(order_id, case.symbol)

    _run(sim, case, body)
