"""Venue error codes reach ccxt (and our tree) as the same classes as on the real hosts.

Each code is provoked on the simulator twice: through our ``VenueClient`` (which must raise the
project class, caused by the ccxt class) and through a raw ccxt client configured by
``SimExchange.ccxt_config``. The expected ccxt class is the one ccxt raises on the real host,
read from ccxt's own tables (``binance.describe()['exceptions']``: the common ``exact`` table,
the ``spot``/``linear`` tables it picks by the request's host, and ``handle_errors``' checks of
the body; ``bybit.describe()['exceptions']``), not from what loopback gave before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import ccxt
import pytest

from real_trade import errors as rt
from real_trade.sim.server import SimExchange
from real_trade.venues import BINANCE, BYBIT, VenueClient
from real_trade.venues.retry import RetryPolicy

pytestmark = pytest.mark.integration
ONCE = RetryPolicy(max_attempts=1)  # a single attempt: the first error is the one raised
SPOT, PERP, BYBIT_PERP = "BTC/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"
UNKNOWN_KEY = "A" * 64


class Api:
    """The calls a case makes, the same over a ``VenueClient`` or a raw ccxt client."""

    def __init__(self, target: Any, sim: SimExchange) -> None:
        self.target, self.sim = target, sim

    @property
    def is_client(self) -> bool:
        """Whether this is our ``VenueClient`` (else a raw ccxt client)."""
        return isinstance(self.target, VenueClient)

    def last(self, symbol: str) -> float:
        """The last traded price."""
        return float(self.target.fetch_ticker(symbol)["last"])

    def order(
        self,
        symbol: str,
        kind: str,
        side: str,
        amount: float,
        price: float | None = None,
        cid: str | None = None,
        **params: Any,
    ) -> Any:
        """Place an order (``cid`` as the client order id)."""
        if self.is_client:
            return self.target.create_order(
                symbol, kind, side, amount, price, client_order_id=cid, params=params
            )
        if cid is not None:
            params["clientOrderId"] = cid
        return self.target.create_order(symbol, kind, side, amount, price, params=params)

    def cancel(self, order_id: str, symbol: str) -> Any:
        """Cancel an order by id."""
        return self.target.cancel_order(order_id, symbol)

    def balance(self) -> Any:
        """Fetch the balance (a signed call)."""
        return self.target.fetch_balance()


@dataclasses.dataclass(frozen=True)
class Case:
    """One venue code: where it is provoked, how, and the classes it must arrive as."""

    code: str
    venue: str  # "binance" or "bybit"
    market: str  # "spot" or "future"
    act: Callable[[Api], Any]
    ccxt_class: type[Exception]
    rt_class: type[Exception]
    account: str = "funded"  # "funded", "unknown_key" or "bad_secret"
    skew_ms: int = 0
    body_in_message: bool = True  # False where ccxt matched the message and raised it alone


def _dup(api: Api, symbol: str, amount: float) -> None:
    price = round(api.last(symbol) * 0.9, 2)
    cid = f"dup-{id(api)}"
    api.order(symbol, "limit", "buy", amount, price, cid=cid)
    api.order(symbol, "limit", "buy", amount, price, cid=cid)


CASES = [
    # -- Binance spot (tables: common exact; ccxt's spot table overrides none of these) --
    # "Account has insufficient balance for requested action." is a message in the exact table
    Case(
        "-2010",
        "binance",
        "spot",
        lambda a: a.order(SPOT, "limit", "buy", 1, round(a.last(SPOT) * 0.9)),
        ccxt.InsufficientFunds,
        rt.InsufficientFundsError,
        body_in_message=False,
    ),
    # "Filter failure: NOTIONAL": common '-1013': BadRequest (InvalidOrderError when placing)
    Case(
        "-1013",
        "binance",
        "spot",
        lambda a: a.order(SPOT, "limit", "buy", 0.00001, round(a.last(SPOT) * 0.9)),
        ccxt.BadRequest,
        rt.InvalidOrderError,
    ),
    # "Filter failure: PRICE_FILTER": handle_errors raises InvalidOrder on that body first
    Case(
        "-1013 PRICE_FILTER",
        "binance",
        "spot",
        lambda a: a.order(SPOT, "limit", "sell", 0.001, 2_000_000),
        ccxt.InvalidOrder,
        rt.InvalidOrderError,
    ),
    Case(  # common '-2011': OrderNotFound
        "-2011",
        "binance",
        "spot",
        lambda a: a.cancel("123456789", SPOT),
        ccxt.OrderNotFound,
        rt.OrderNotFoundError,
    ),
    Case(  # common '-1021': InvalidNonce
        "-1021",
        "binance",
        "spot",
        lambda a: a.balance(),
        ccxt.InvalidNonce,
        rt.ClockSkewError,
        skew_ms=120_000,
    ),
    Case(  # common '-2015': AuthenticationError
        "-2015",
        "binance",
        "spot",
        lambda a: a.balance(),
        ccxt.AuthenticationError,
        rt.AuthenticationError,
        account="unknown_key",
    ),
    # -- Binance USD-M (ccxt's linear table, chosen on fapi.binance.com) --
    Case(  # linear '-2019': InsufficientFunds
        "-2019",
        "binance",
        "future",
        lambda a: a.order(PERP, "limit", "buy", 1, round(a.last(PERP) * 0.9)),
        ccxt.InsufficientFunds,
        rt.InsufficientFundsError,
    ),
    Case(  # linear '-2022': InvalidOrder (ReduceOnly Order is rejected.)
        "-2022",
        "binance",
        "future",
        lambda a: a.order(PERP, "market", "sell", 0.01, reduceOnly=True),
        ccxt.InvalidOrder,
        rt.InvalidOrderError,
    ),
    Case(  # linear '-4164': InvalidOrder (notional under the minimum)
        "-4164",
        "binance",
        "future",
        lambda a: a.order(PERP, "limit", "buy", 0.001, round(a.last(PERP))),
        ccxt.InvalidOrder,
        rt.InvalidOrderError,
    ),
    Case(  # linear '-4116': InvalidOrder (DUPLICATED_CLIENT_ORDER_ID; ccxt does not say duplicate)
        "-4116",
        "binance",
        "future",
        lambda a: _dup(a, PERP, 0.01),
        ccxt.InvalidOrder,
        rt.InvalidOrderError,
    ),
    # -- Bybit v5 (one exact table, whatever the host) --
    Case(  # '170131': InsufficientFunds
        "170131",
        "bybit",
        "spot",
        lambda a: a.order(SPOT, "limit", "buy", 1, round(a.last(SPOT) * 0.9, 2)),
        ccxt.InsufficientFunds,
        rt.InsufficientFundsError,
    ),
    Case(  # '110007': InsufficientFunds
        "110007",
        "bybit",
        "future",
        lambda a: a.order(BYBIT_PERP, "limit", "buy", 100, round(a.last(BYBIT_PERP) * 0.9, 2)),
        ccxt.InsufficientFunds,
        rt.InsufficientFundsError,
    ),
    Case(  # '170213': OrderNotFound
        "170213",
        "bybit",
        "spot",
        lambda a: a.cancel("123456789", SPOT),
        ccxt.OrderNotFound,
        rt.OrderNotFoundError,
    ),
    Case(  # '110001': OrderNotFound
        "110001",
        "bybit",
        "future",
        lambda a: a.cancel("123456789", BYBIT_PERP),
        ccxt.OrderNotFound,
        rt.OrderNotFoundError,
    ),
    Case(  # '10004': AuthenticationError (invalid sign)
        "10004",
        "bybit",
        "spot",
        lambda a: a.balance(),
        ccxt.AuthenticationError,
        rt.AuthenticationError,
        account="bad_secret",
    ),
    Case(  # '10003': AuthenticationError (invalid api key)
        "10003",
        "bybit",
        "spot",
        lambda a: a.balance(),
        ccxt.AuthenticationError,
        rt.AuthenticationError,
        account="unknown_key",
    ),
    Case(  # '10002': InvalidNonce
        "10002",
        "bybit",
        "spot",
        lambda a: a.balance(),
        ccxt.InvalidNonce,
        rt.ClockSkewError,
        skew_ms=120_000,
    ),
]


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, SimExchange]]:
    """A Binance spot + USD-M simulator and a Bybit one (spot BTCUSDT, linear ETHUSDT)."""
    with (
        SimExchange(stepped=True, seed=5, faces=["binance", "binance_futures"]) as binance,
        SimExchange(
            stepped=True,
            seed=25,
            symbols=("BTC/USDT", "ETH/USDT"),
            perpetuals=("ETH/USDT",),
            faces=["bybit"],
        ) as bybit,
    ):
        binance.advance(60)
        bybit.advance(60)
        yield {"binance": binance, "bybit": bybit}
        binance.faults.reset()
        bybit.faults.reset()


def _credentials(sim: SimExchange, case: Case) -> tuple[str, str]:
    key, secret = sim.create_account({"USDT": 1_000, "BTC": 0.1}, futures_balances={"USDT": 1_000})
    if case.account == "unknown_key":
        return UNKNOWN_KEY, secret
    if case.account == "bad_secret":
        return key, "not-the-secret"
    return key, secret


def _raw_ccxt(sim: SimExchange, case: Case, key: str, secret: str) -> Any:
    if case.venue == "bybit":
        ex = ccxt.bybit(sim.ccxt_config(key, secret, venue="bybit"))
        ex.options["defaultType"] = "swap" if case.market == "future" else "spot"
        ex.options["fetchMarkets"] = {"types": ["spot", "linear"]}
    else:
        ex = ccxt.binance(sim.ccxt_config(key, secret, market_type=case.market))
    return ex


@pytest.mark.parametrize("via", ["client", "ccxt"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c.venue}{c.code}" for c in CASES])
def test_code_maps_as_on_the_real_host(sims: dict[str, SimExchange], case: Case, via: str) -> None:
    sim = sims[case.venue]
    key, secret = _credentials(sim, case)
    if via == "ccxt":
        ex = _raw_ccxt(sim, case, key, secret)
        if case.account == "funded":
            ex.load_markets()
        sim.faults.set_clock_skew(case.skew_ms)
        try:
            with pytest.raises(ccxt.BaseError) as raised:
                case.act(Api(ex, sim))
        finally:
            sim.faults.reset()
        assert type(raised.value) is case.ccxt_class, str(raised.value)
        if case.body_in_message:
            assert case.code.split()[0] in str(raised.value)
        return
    client = VenueClient(
        BINANCE if case.venue == "binance" else BYBIT,
        market_type=case.market,
        apikey=key,
        secret=secret,
        sim_url=sim.url,
        retry_policy=ONCE,
    )
    with client:
        if case.account == "funded":
            client.load_markets()
        sim.faults.set_clock_skew(case.skew_ms)
        try:
            with pytest.raises(rt.RealTradeError) as error:
                case.act(Api(client, sim))
        finally:
            sim.faults.reset()
    assert type(error.value) is case.rt_class, str(error.value)
    assert type(error.value.__cause__) is case.ccxt_class, repr(error.value.__cause__)
    if case.body_in_message:
        assert error.value.exchange_code == case.code.split()[0]
