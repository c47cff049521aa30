"""The plain classes behind ``BaseStore``: the registry, the client arguments, the connection
state, the account view, and the venue's credential check."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from real_trade.bus import get_bus
from real_trade.errors import ConfigError, NetworkError
from real_trade.stores.account import AccountView
from real_trade.stores.connection import StoreConnection
from real_trade.stores.registry import StoreRegistry, instance_key
from real_trade.venues.adopt import client_from_hook
from real_trade.venues.client import VenueClient
from real_trade.venues.client_args import ClientArgs, CredentialField
from real_trade.venues.spec import BINANCE, OKX


class _Stoppable:
    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1


class _Parent:
    pass


class _Child(_Parent):
    pass


def test_registry_builds_once_per_key_and_clears_a_class_with_its_subclasses() -> None:
    registry = StoreRegistry()
    made: list[_Stoppable] = []

    def create() -> _Stoppable:
        made.append(_Stoppable())
        return made[-1]

    threads = [
        threading.Thread(target=registry.get_or_create, args=((_Child, "k"), create))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1
    other = registry.get_or_create((_Parent, "k"), create)
    assert other is made[1] and len(registry) == 2
    registry.clear(_Child)
    assert (made[0].stopped, made[1].stopped, len(registry)) == (1, 0, 1)
    registry.clear(_Parent)
    assert made[1].stopped == 1 and len(registry) == 0


def test_instance_key_separates_key_environment_market_type_and_exchange() -> None:
    base = instance_key(_Parent, "key", False, {})
    assert base == instance_key(_Parent, "key", False, {"market_type": "spot"})
    assert base != instance_key(_Parent, "key", True, {})
    assert base != instance_key(_Parent, "other", False, {})
    assert base != instance_key(_Parent, "key", False, {"market_type": "future"})
    assert base != instance_key(_Parent, "key", False, {"demo": True})
    assert instance_key(_Parent, None, False, {"exchange": " Kraken "})[1] == "kraken"


def test_client_args_resolve_secrets_proxy_bus_and_the_hook_keywords() -> None:
    secret = SimpleNamespace(get_secret_value=lambda: "s3cret")
    seen: list[str | None] = []

    def detect(target: str | None) -> str:
        seen.append(target)
        return "http://proxy:3128"

    args = ClientArgs.resolve(
        " key ", secret, None, testnet=True, options={"timeout": 5}, detect_proxy=detect
    )
    assert (args.apikey, args.secret, args.passphrase) == ("key", "s3cret", None)
    assert args.testnet is True and args.proxy == "http://proxy:3128" and seen
    assert args.bus is get_bus()
    assert "s3cret" not in repr(args)
    kwargs = args.hook_kwargs()
    assert kwargs["timeout"] == 5 and kwargs["secret"] == "s3cret" and kwargs["bus"] is args.bus
    assert ClientArgs.resolve(proxy="", detect_proxy=detect).proxy is None


def test_a_hook_that_built_nothing_is_named_and_a_venue_client_passes_through() -> None:
    with pytest.raises(ConfigError, match=r"MyStore\._create_exchange built no exchange"):
        client_from_hook(None, owner="MyStore")
    with pytest.raises(ConfigError, match="not a ccxt exchange"):
        client_from_hook(object(), owner="MyStore")
    client = VenueClient(BINANCE, sim_url="http://127.0.0.1:9")
    assert client_from_hook(client, owner="MyStore") is client


def test_credential_field_reads_the_owner_credentials() -> None:
    class Owner:
        apikey = CredentialField("apikey", "The key.")

        def __init__(self) -> None:
            self._credentials = {"apikey": "abc"}

    assert Owner().apikey == "abc"
    assert Owner.apikey.__doc__ == "The key."


def test_partial_credentials_name_the_missing_field() -> None:
    BINANCE.check_credentials({"apikey": None, "secret": None, "passphrase": None})
    BINANCE.check_credentials({"apikey": "k", "secret": "s", "passphrase": None})
    with pytest.raises(ConfigError) as caught:
        OKX.check_credentials({"apikey": "k", "secret": "s", "passphrase": None})
    assert caught.value.field == "passphrase"


class _Client:
    """A venue client's account calls, canned."""

    def __init__(self, market_type: str = "spot") -> None:
        self.market_type = market_type
        self.exchange = SimpleNamespace(markets={})
        self.balance: dict[str, Any] = {
            "free": {"USDT": 50.0},
            "total": {"USDT": 100.0, "BTC": 0.5, "DOGE": 10.0, "ETH": 0.0},
        }
        self.positions: list[dict[str, Any]] = []
        self.started = self.stopped = self.loaded = 0
        self.has_credentials = True
        self.failure: Exception | None = None

    @property
    def is_started(self) -> bool:
        return self.started > self.stopped

    def start(self) -> None:
        self.started += 1

    def stop(self) -> None:
        self.stopped += 1

    def load_markets(self) -> dict[str, Any]:
        self.loaded += 1
        self.exchange.markets = {"BTC/USDT": {}}
        return self.exchange.markets

    def fetch_time(self) -> int:
        if self.failure is not None:
            raise self.failure
        return 0

    def fetch_balance(self) -> dict[str, Any]:
        return self.balance

    def fetch_ticker(self, symbol: str) -> dict[str, Any]:
        return {"last": 20_000.0}

    def fetch_positions(self, symbols: list[str] | None) -> list[dict[str, Any]]:
        return self.positions

    def symbol_of(self, symbol: str) -> str:
        return "BTC/USDT" if symbol == "BTCUSDT" else symbol


def test_account_view_values_the_account_in_the_quote_currency() -> None:
    view = AccountView(_Client())
    assert view.balance() == 50.0 and view.balance("btc") == 0.0
    assert view.total_value() == 100.0 + 0.5 * 20_000.0  # DOGE has no market: nothing
    assert view.last_price("DOGE/USDT") is None
    assert view.positions() == [
        {"symbol": "BTC/USDT", "size": 0.5, "price": None},
        {"symbol": "DOGE/USDT", "size": 10.0, "price": None},
    ]
    assert view.positions(["BTCUSDT"]) == [{"symbol": "BTC/USDT", "size": 0.5, "price": None}]


def test_account_view_of_derivatives_signs_the_venue_positions() -> None:
    client = _Client("future")
    client.positions = [
        {
            "symbol": "BTC/USDT:USDT",
            "contracts": 2,
            "contractSize": 0.001,
            "side": "short",
            "entryPrice": "30000",
        },
        {"symbol": "ETH/USDT:USDT", "contracts": 0, "side": "long"},
    ]
    assert AccountView(client).positions() == [
        {"symbol": "BTC/USDT:USDT", "size": -0.002, "price": 30_000.0}
    ]


def test_store_connection_starts_once_and_a_failed_test_disconnects() -> None:
    client = _Client()
    connection = StoreConnection(client)
    assert not connection.is_connected
    connection.start()
    connection.start()
    assert (client.started, client.loaded, connection.is_connected) == (1, 1, True)
    client.failure = NetworkError("unreachable")
    assert connection.test("store") is False and not connection.is_connected
    client.failure = None
    assert connection.test("store") is True and connection.is_connected
    connection.stop()
    assert not connection.is_connected and client.stopped == 1
