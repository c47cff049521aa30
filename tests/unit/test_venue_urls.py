"""Endpoint resolution (live / testnet / demo / simulator), the RT_SIM_URL redirect, and proxies."""

from __future__ import annotations

import pytest

from real_trade.errors import ConfigError
from real_trade.venues import BINANCE, BYBIT, OKX, VenueClient, VenueSpec
from real_trade.venues.proxy import (
    ccxt_proxy_settings,
    detect_system_proxy,
    is_loopback_url,
    mask_proxy_url,
)
from real_trade.venues.spec import get_venue
from real_trade.venues.urls import ccxt_urls, effective_sim_url, resolve_endpoints

SIM = "http://127.0.0.1:8765"
BARE = VenueSpec(name="bare", ccxt_id="bitstamp", display_name="Bare")


# -- the simulator URL in effect -------------------------------------------------------------
def test_sim_url_argument_wins_over_config_and_environment() -> None:
    env = {"RT_SIM_URL": "http://127.0.0.1:3"}
    assert effective_sim_url("http://127.0.0.1:1/", "http://127.0.0.1:2", env) == (
        "http://127.0.0.1:1"
    )
    assert effective_sim_url(None, "http://127.0.0.1:2", env) == "http://127.0.0.1:2"
    assert effective_sim_url(None, None, env) == "http://127.0.0.1:3"
    assert effective_sim_url("  ", "", {"RT_SIM_URL": " "}) is None
    assert effective_sim_url(None, None, {}) is None


def test_rt_sim_url_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RT_SIM_URL", SIM)
    assert effective_sim_url() == SIM
    monkeypatch.delenv("RT_SIM_URL")
    assert effective_sim_url() is None


# -- endpoint choice ---------------------------------------------------------------------------
def test_simulator_wins_over_testnet_and_points_every_api_at_it() -> None:
    endpoints = resolve_endpoints(BINANCE, testnet=True, sim_url=SIM)
    assert endpoints.mode == "sim" and not endpoints.sandbox and not endpoints.demo
    assert endpoints.urls is not None
    api = endpoints.urls["api"]
    rest = [v for k, v in api.items() if k != "ws"]
    assert rest and all(v.startswith(SIM) for v in rest)
    assert endpoints.options["fetchMarkets"] == {"types": ["spot"]}


def test_simulator_loads_the_market_type_asked_for() -> None:
    endpoints = resolve_endpoints(BINANCE, sim_url=SIM, default_type="future")
    assert endpoints.options["fetchMarkets"] == {"types": ["linear"]}


@pytest.mark.parametrize("venue", [get_venue("kraken")])
def test_simulator_refuses_venues_it_does_not_speak(venue: VenueSpec) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_endpoints(venue, sim_url=SIM)
    assert info.value.field == "sim_url"
    assert "Binance, Bybit and OKX only" in str(info.value)
    assert venue.display_name in str(info.value)


def test_simulator_redirects_okx_rest_and_websockets_live_and_demo() -> None:
    endpoints = resolve_endpoints(OKX, sim_url=SIM, default_type="swap")
    assert endpoints.mode == "sim" and endpoints.urls is not None
    assert endpoints.options["fetchMarkets"] == {"types": ["swap"]}
    for urls in (endpoints.urls["api"], endpoints.urls["test"]):
        assert urls["rest"] == SIM and urls["ws"].endswith("/ws/v5")
        assert "127.0.0.1" in urls["ws"]


def _leaves(node: object) -> list[str]:
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in _leaves(value)]
    return [str(node)]


def test_simulator_redirects_every_bybit_url_live_testnet_and_demo() -> None:
    endpoints = resolve_endpoints(BYBIT, sim_url=SIM)
    assert endpoints.mode == "sim" and endpoints.urls is not None
    for key in ("api", "test", "demotrading"):
        leaves = _leaves(endpoints.urls[key])
        ws_sim = "ws" + SIM[len("http") :]
        assert leaves and all(u.startswith((SIM, ws_sim)) for u in leaves), key
    assert "127.0.0.1" in str(ccxt_urls(BYBIT, "sim", SIM))


def test_testnet_demo_and_live_choices() -> None:
    assert resolve_endpoints(BINANCE).mode == "live"
    testnet = resolve_endpoints(BINANCE, testnet=True)
    assert testnet.mode == "testnet" and testnet.sandbox
    bybit_demo = resolve_endpoints(BYBIT, demo=True)
    assert bybit_demo.mode == "demo" and bybit_demo.demo and not bybit_demo.sandbox
    # OKX has no testnet: testnet means its demo trading, ccxt's sandbox (a header)
    okx = resolve_endpoints(OKX, testnet=True)
    assert okx.mode == "demo" and okx.sandbox


def test_missing_testnet_or_demo_is_a_config_error_naming_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_endpoints(BARE, testnet=True)
    assert info.value.field == "testnet"
    with pytest.raises(ConfigError) as info:
        resolve_endpoints(BARE, demo=True)
    assert info.value.field == "demo"


def test_url_sets_per_mode() -> None:
    assert "api.binance.com" in ccxt_urls(BINANCE, "live")["public"]
    assert "testnet.binance.vision" in ccxt_urls(BINANCE, "testnet")["public"]
    assert "demo" in ccxt_urls(BINANCE, "demo")["public"]
    assert "api-demo" in str(ccxt_urls(BYBIT, "demo"))
    sim = ccxt_urls(BINANCE, "sim", SIM)
    assert sim["public"] == f"{SIM}/api/v3"
    assert all(url.startswith("ws://127.0.0.1:8765") for url in _leaves(sim["ws"]))
    with pytest.raises(ConfigError):
        ccxt_urls(BINANCE, "sim")


def _leaves(value: object) -> list[str]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    return [value] if isinstance(value, str) else []


def test_client_in_demo_mode_uses_the_venue_demo_urls() -> None:
    client = VenueClient(BYBIT, demo=True)
    try:
        assert "api-demo" in str(client.exchange.urls["api"])
        okx = VenueClient(OKX, testnet=True)
        try:
            assert okx.exchange.headers.get("x-simulated-trading") == "1"
        finally:
            okx.stop()
    finally:
        client.stop()


# -- proxies -----------------------------------------------------------------------------------
def test_proxy_from_environment_in_priority_order() -> None:
    env = {"ALL_PROXY": "socks5://a:1", "http_proxy": "http://b:2", "HTTPS_PROXY": "http://c:3"}
    assert detect_system_proxy(env=env) == "http://c:3"
    del env["HTTPS_PROXY"]
    assert detect_system_proxy(env=env) == "http://b:2"
    del env["http_proxy"]
    assert detect_system_proxy(env=env) == "socks5://a:1"
    assert detect_system_proxy(env={}) is None


def test_no_proxy_for_loopback_or_no_proxy_hosts() -> None:
    env = {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "internal.example, .corp"}
    assert detect_system_proxy("http://127.0.0.1:8765", env) is None
    assert detect_system_proxy("ws://[::1]:9", env) is None
    assert detect_system_proxy("http://localhost:1", env) is None
    assert detect_system_proxy("https://internal.example/x", env) is None
    assert detect_system_proxy("https://api.corp/x", env) is None
    assert detect_system_proxy("https://api.binance.com", env) == "http://proxy:3128"


def test_process_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:8080")
    assert detect_system_proxy("https://api.binance.com") == "http://proxy.example:8080"
    assert detect_system_proxy(SIM) is None


def test_loopback_detection() -> None:
    assert is_loopback_url("http://127.0.0.2:1") and is_loopback_url("localhost:80")
    assert not is_loopback_url("https://api.binance.com") and not is_loopback_url(None)


def test_proxy_settings_for_ccxt_and_masking() -> None:
    assert ccxt_proxy_settings("http://p:1") == {
        "httpsProxy": "http://p:1",
        "wsProxy": "http://p:1",
    }
    socks = ccxt_proxy_settings("socks5://p:1")
    assert socks == {"socksProxy": "socks5://p:1", "wsSocksProxy": "socks5://p:1"}
    assert ccxt_proxy_settings(None) == {}
    with pytest.raises(ConfigError) as info:
        ccxt_proxy_settings("ftp://user:hunter22@p:1")
    assert info.value.field == "proxy" and "hunter22" not in str(info.value)
    assert mask_proxy_url("http://user:hunter22@p:1") == "http://***@p:1"


def test_client_routes_through_a_proxy_but_never_to_the_simulator() -> None:
    proxied = VenueClient(BINANCE, proxy="http://user:hunter22@proxy.example:3128")
    try:
        assert "hunter22" not in repr(proxied)
        assert proxied.exchange.httpsProxy == "http://user:hunter22@proxy.example:3128"
    finally:
        proxied.stop()
    sim = VenueClient(BINANCE, proxy="http://proxy.example:3128", sim_url=SIM)
    assert sim.proxy is None
