"""Venue capability tables: first-class venues and specs derived from ccxt for any other id."""

from __future__ import annotations

import pytest

from real_trade.errors import ConfigError
from real_trade.venues import BINANCE, OKX, get_venue


def test_first_class_venues_are_found_case_insensitively() -> None:
    assert get_venue("Binance") is BINANCE
    assert get_venue(" okx ") is OKX
    assert get_venue("bybit").ccxt_id == "bybit"


def test_market_types_map_to_ccxt_default_types() -> None:
    assert BINANCE.ccxt_default_type("spot") == "spot"
    assert BINANCE.ccxt_default_type("future") == "future"
    assert BINANCE.ccxt_default_type("delivery") == "delivery"
    assert get_venue("bybit").ccxt_default_type("future") == "swap"


def test_unknown_market_type_names_the_field_and_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        BINANCE.ccxt_default_type("options")
    assert info.value.field == "market_type"
    assert "delivery, future, spot" in str(info.value)


def test_okx_needs_a_passphrase_binance_does_not() -> None:
    assert OKX.required_credentials() == ("apikey", "secret", "passphrase")
    assert BINANCE.required_credentials() == ("apikey", "secret")


def test_emulated_order_types_are_what_the_venue_lacks() -> None:
    assert "StopTrail" in BINANCE.emulated_order_types()
    assert "Market" not in BINANCE.emulated_order_types()
    assert "Bracket" in OKX.emulated_order_types()


def test_any_ccxt_exchange_gets_a_derived_spec() -> None:
    kraken = get_venue("kraken")
    assert kraken.ccxt_id == "kraken"
    assert kraken.display_name == "Kraken"
    assert "spot" in kraken.market_types
    assert {"Market", "Limit"} <= kraken.native_order_types
    assert kraken.needs_passphrase is False
    assert get_venue("kucoin").needs_passphrase is True


def test_unknown_exchange_suggests_close_ccxt_ids() -> None:
    with pytest.raises(ConfigError) as info:
        get_venue("binanse")
    assert info.value.field == "exchange"
    assert "binance" in str(info.value)
