"""``VenueConnection`` gives a client of the simulator ccxt's per-market Binance error table.

ccxt picks that table by the request's host on the real venue; no request is made here: the
tables of the built ccxt.pro object are read.
"""

from __future__ import annotations

import ccxt
import pytest

from real_trade.venues import BINANCE, BYBIT
from real_trade.venues.connection import VenueConnection

NOWHERE = "http://127.0.0.1:9"  # the simulator's URL shape; nothing is sent


def _exact(connection: VenueConnection) -> dict[str, type[Exception]]:
    with connection:
        return dict(connection.exchange.exceptions["exact"])


@pytest.mark.parametrize(
    ("market_type", "code", "expected"),
    [
        ("future", "-2019", ccxt.InsufficientFunds),  # ccxt's linear table
        ("future", "-4164", ccxt.InvalidOrder),
        ("spot", "-1131", ccxt.BadRequest),  # ccxt's spot table
        ("spot", "-2011", ccxt.OrderNotFound),  # the common table stays
    ],
)
def test_sim_client_gets_its_markets_table(
    market_type: str, code: str, expected: type[Exception]
) -> None:
    exact = _exact(VenueConnection(BINANCE, market_type=market_type, sim_url=NOWHERE))
    assert exact[code] is expected


def test_live_client_keeps_ccxts_own_tables() -> None:
    exact = _exact(VenueConnection(BINANCE, market_type="future"))
    assert "-2019" not in exact  # ccxt finds it in the linear table by fapi.binance.com


def test_users_own_exceptions_win_over_the_sim_table() -> None:
    connection = VenueConnection(
        BINANCE,
        market_type="future",
        sim_url=NOWHERE,
        ccxt_config={"exceptions": {"exact": {"-2019": ccxt.ExchangeError}}},
    )
    exact = _exact(connection)
    assert exact["-2019"] is ccxt.ExchangeError and exact["-4164"] is ccxt.InvalidOrder


def test_bybit_sim_client_is_unchanged() -> None:
    sim = _exact(VenueConnection(BYBIT, sim_url=NOWHERE))
    live = _exact(VenueConnection(BYBIT))
    assert sim == live
