"""The pure parts of the perpetuals live path: account reading, funding updates, liquidation
estimate, the ``[derivatives]`` section, COIN-M refusal, reduce-only detection, positions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from real_trade.brokers.contracts import closes_position, settings_of
from real_trade.config import DerivativesConfig, RealTradeConfig
from real_trade.errors import ConfigError
from real_trade.execution import FillEvent, SymbolLimits, contract_account_of
from real_trade.execution.contracts import wallet_update
from real_trade.risk.liquidation import estimated_liquidation_price, liquidation_distance
from real_trade.session.positions import SymbolPositions
from real_trade.venues.contracts import check_contract_support
from real_trade.vocabulary import is_contract, is_inverse

SYMBOL = "BTC/USDT:USDT"


def row(side: str, contracts: float, entry: float, upnl: float, **more: Any) -> dict[str, Any]:
    return {
        "symbol": SYMBOL,
        "side": side,
        "contracts": contracts,
        "contractSize": 1.0,
        "entryPrice": entry,
        "unrealizedPnl": upnl,
        "markPrice": 41_000.0,
        "liquidationPrice": 0,
        **more,
    }


def test_the_account_takes_the_venues_wallet_and_signs_shorts() -> None:
    balance = {
        "total": {"USDT": 10_005.0},
        "free": {"USDT": 9_000.0},
        "info": {"assets": [{"asset": "USDT", "walletBalance": "10010.5"}]},
    }
    account = contract_account_of(balance, [row("short", 0.5, 41_010.0, -5.5)], "USDT")
    (pos,) = account.positions.values()
    assert (pos.size, pos.entry_price, pos.liquidation_price) == (-0.5, 41_010.0, None)
    assert account.wallet == 10_010.5 and account.available == 9_000.0
    assert account.margin_balance == pytest.approx(10_005.0)


def test_without_the_venues_wallet_it_is_the_total_less_the_unrealized_pnl() -> None:
    balance = {"total": {"USDT": 10_005.0}, "free": {"USDT": 9_000.0}, "info": {}}
    rows = [row("long", 0.2, 40_000.0, 5.0, maintenanceMargin=40.0), row("long", 0, 0, 0)]
    account = contract_account_of(balance, rows, "USDT")
    assert account.wallet == pytest.approx(10_000.0)
    assert list(account.positions) == [SYMBOL]  # the flat row is no position
    assert account.margin_ratio == pytest.approx(40.0 / 10_005.0)


def test_a_funding_account_update_is_read_with_its_wallet_and_change() -> None:
    info = {
        "e": "ACCOUNT_UPDATE",
        "a": {"m": "FUNDING_FEE", "B": [{"a": "USDT", "wb": "99.5", "bc": "-0.5"}], "P": []},
    }
    assert wallet_update(info) == ("FUNDING_FEE", {"USDT": (99.5, -0.5)}, [])
    assert wallet_update({"e": "outboundAccountPosition"}) is None
    assert wallet_update(None) is None


def test_the_liquidation_estimate_matches_the_one_way_formula() -> None:
    # a 10x long of 1 BTC at 40,000 backed by 4,000: L = (40,000 - 4,000) / (1 - 0.004)
    price = estimated_liquidation_price(1.0, 40_000.0, 4_000.0)
    assert price == pytest.approx(36_000.0 / 0.996)
    short = estimated_liquidation_price(-1.0, 40_000.0, 4_000.0)
    assert short == pytest.approx(44_000.0 / 1.004)
    assert estimated_liquidation_price(0.1, 40_000.0, 10_000.0) is None  # fully backed long
    assert liquidation_distance(36_000.0, 40_000.0) == pytest.approx(0.1)
    assert liquidation_distance(None, 40_000.0) is None


def test_derivatives_section_defaults_and_per_symbol_overrides() -> None:
    config = RealTradeConfig(
        derivatives={"leverage": 3, "symbols": {SYMBOL: {"margin_mode": "isolated"}}}
    )
    assert config.derivatives.for_symbol(SYMBOL) == (3, "isolated")
    assert config.derivatives.settings(["ETH/USDT:USDT"]) == {
        SYMBOL: (3, "isolated"),
        "ETH/USDT:USDT": (3, None),
    }
    with pytest.raises(ConfigError, match=r"derivatives\.leverage"):
        RealTradeConfig(derivatives={"leverage": 0})
    with pytest.raises(ConfigError):
        DerivativesConfig(margin_mode="portfolio")
    assert settings_of({SYMBOL: {"leverage": "5"}}) == {SYMBOL: (5, None)}


def test_coin_m_is_refused_and_usd_m_is_not() -> None:
    assert is_contract(SYMBOL) and not is_inverse(SYMBOL) and is_inverse("BTC/USD:BTC")
    check_contract_support(SYMBOL, "future")
    for symbol, market in (("BTC/USD:BTC", None), (None, "delivery")):
        with pytest.raises(ConfigError, match="COIN-M") as info:
            check_contract_support(symbol, market)
        assert "BTC/USDT:USDT" in (info.value.fix or "")


def order(size: float, **info: Any) -> Any:
    return SimpleNamespace(size=size, info=info)


def test_an_order_exactly_closing_the_position_goes_reduce_only() -> None:
    assert closes_position(order(-0.5), 0.5)  # close() of a long
    assert closes_position(order(0.5), -0.5)  # close() of a short
    assert not closes_position(order(-1.0), 0.5)  # a reversal
    assert not closes_position(order(-0.2), 0.5)  # a partial reduce, unless asked
    assert closes_position(order(-0.2, reduce_only=True), 0.5)
    assert not closes_position(order(-0.5), 0.0)  # opening a short


def fill(side: str, amount: float) -> FillEvent:
    change = amount if side == "buy" else -amount
    return FillEvent(1, "c", "x", SYMBOL, side, "t", 40_000.0, amount, 0.0, "USDT", 0, None, change)


def test_contract_positions_are_signed_and_have_no_dust() -> None:
    positions = SymbolPositions(lambda _t, _e: None, lambda _s: None)
    positions.contracts = {SYMBOL}
    limits = SymbolLimits(0.001, 0.1, 0.001, 100.0)  # 100 USDT minimum order value
    positions.book(fill("sell", 0.01), limits)
    assert positions.size(SYMBOL) == pytest.approx(-0.01)  # a short, not dust
    positions.book(fill("buy", 0.0099), limits)
    assert positions.size(SYMBOL) == pytest.approx(-0.0001)  # below the minimum: still held
    assert positions.settle(SYMBOL, -0.02, limits, 40_000.0, 0) == -0.02
    assert positions.dust == {}
