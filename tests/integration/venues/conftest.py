"""Fixtures of the venue conformance suite: ``case`` (parameterised over
:data:`~tests.integration.venues.cases.CASES`), the venue's shared simulator and a funded
client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from real_trade.sim.server import SimExchange
from tests.integration.venues.cases import CASES, SimPool, VenueCase

FUNDS = {"USDT": 100_000, "BTC": 1, "ETH": 10}


@pytest.fixture(scope="module")
def sims() -> Iterator[SimPool]:
    """One simulator per venue, shared by the module."""
    pool = SimPool()
    yield pool
    pool.close()


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request: pytest.FixtureRequest) -> VenueCase:
    """The venue and market under test."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture()
def sim(sims: SimPool, case: VenueCase) -> Iterator[SimExchange]:
    """The case's simulator, its faults disarmed after the test."""
    exchange = sims.get(case.venue)
    yield exchange
    exchange.faults.reset()


@pytest.fixture()
def funded(sim: SimExchange) -> tuple[str, str]:
    """The keys of a fresh account holding :data:`FUNDS`."""
    return sim.create_account(FUNDS)


@pytest.fixture()
def ex(sim: SimExchange, case: VenueCase, funded: tuple[str, str]) -> Any:
    """A sync ccxt client of the case, on a fresh funded account, markets loaded."""
    return case.client(sim, *funded)
