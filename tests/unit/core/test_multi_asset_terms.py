"""Asset terms, commissions and margins of real_trade.core.multi_asset, against hand calculations
and against backtrader's own ``CommInfoBase`` where it has the same model."""

from __future__ import annotations

import dataclasses

import backtrader as bt
import pytest

from real_trade.core.multi_asset import (
    AssetInfo,
    AssetType,
    CommissionKind,
    CommissionModel,
    MultiAssetCommissionInfo,
    OptionType,
    asset_info_from_market,
    commission_of,
    create_bond_info,
    create_crypto_info,
    create_forex_info,
    create_future_info,
    create_option_info,
    create_stock_info,
)
from real_trade.errors import ConfigError

SIZES = (1, 3, -2, 7.5)
PRICES = (99.5, 4512.25, 23140.48)


def test_asset_types_are_the_seeds() -> None:
    assert [t.value for t in AssetType] == ["stock", "future", "option", "forex", "crypto", "bond"]
    assert str(AssetType.FUTURE) == "future" and AssetType("crypto") is AssetType.CRYPTO
    assert [t.value for t in OptionType] == ["call", "put"]


def test_contract_value_and_margin_by_hand() -> None:
    es = create_future_info("ES", "CME", contract_size=50)
    assert es.asset_type is AssetType.FUTURE and es.margin_rate == 0.1
    assert es.contract_value(4500.0, -2) == 2 * 4500.0 * 50 == 450_000.0
    assert es.margin_requirement(4500.0, 2) == pytest.approx(45_000.0)
    aapl = create_stock_info("AAPL", "NASDAQ")
    assert aapl.contract_value(190.0, 10) == 1900.0 == aapl.margin_requirement(190.0, 10)
    call = create_option_info("AAPL240621C200", "CBOE", "call", 200.0, "2024-06-21")
    assert call.option_type is OptionType.CALL and call.contract_size == 100
    assert call.contract_value(2.5, 3) == 750.0 == call.margin_requirement(2.5, 3)
    eur = create_forex_info("EUR/USD")
    assert eur.currency == "USD" and eur.contract_size == 100_000
    assert eur.contract_value(1.1, 2) == pytest.approx(220_000.0)
    assert eur.margin_requirement(1.1, 2) == pytest.approx(4_400.0)
    bond = create_bond_info("UST10Y", "TRACE", face_value=1000.0)
    assert bond.contract_value(98.5, 5) == pytest.approx(4925.0)
    btc = create_crypto_info("BTC/USDT", "binance")
    assert btc.currency == "USDT" and btc.lot_size == 1e-5 and btc.stocklike


def test_commissions_by_hand() -> None:
    aapl = create_stock_info("AAPL", "NASDAQ")
    assert commission_of(aapl, 100, 190.0) == 1.0  # 100 * 0.005 = 0.50, minimum 1.00
    assert commission_of(aapl, -1000, 190.0) == pytest.approx(5.0)
    assert commission_of(aapl, 0, 190.0) == 0.0
    es = create_future_info("ES", "CME", contract_size=50)
    assert commission_of(es, -3, 4500.0) == pytest.approx(6.75)  # 3 * 2.25
    call = create_option_info("X", "CBOE", OptionType.PUT, 50.0, "2024-06-21")
    assert commission_of(call, 1, 2.0) == 1.0 and commission_of(call, 10, 2.0) == pytest.approx(6.5)
    eur = create_forex_info("EUR/USD", spread=0.0002)
    assert commission_of(eur, 2, 1.1) == pytest.approx(20.0)  # 2 lots * 100,000 * 2 pips / 2
    btc = create_crypto_info("BTC/USDT", "binance", fee_rate=0.001)
    assert commission_of(btc, 0.5, 20_000.0) == pytest.approx(10.0)
    bond = create_bond_info("UST10Y", "TRACE")
    assert commission_of(bond, 5, 98.5) == pytest.approx(5 * 98.5 * 10 * 0.0005)


def _same_scheme(ours: bt.CommInfoBase, theirs: bt.CommInfoBase) -> None:
    for size in SIZES:
        for price in PRICES:
            assert ours.getcommission(size, price) == pytest.approx(
                theirs.getcommission(size, price)
            )
            assert ours.getoperationcost(size, price) == pytest.approx(
                theirs.getoperationcost(size, price)
            )
            assert ours.getvaluesize(size, price) == pytest.approx(theirs.getvaluesize(size, price))
            assert ours.profitandloss(size, price, price * 1.01) == pytest.approx(
                theirs.profitandloss(size, price, price * 1.01)
            )
            assert ours.cashadjust(size, price, price * 0.99) == pytest.approx(
                theirs.cashadjust(size, price, price * 0.99)
            )
            assert ours.get_margin(price) == pytest.approx(theirs.get_margin(price))
    assert ours.stocklike == theirs.stocklike


def test_future_matches_backtraders_fixed_commission_with_automargin() -> None:
    es = create_future_info("ES", "CME", contract_size=50, margin_rate=0.08)
    theirs = bt.CommInfoBase(
        commission=2.25,
        commtype=bt.CommInfoBase.COMM_FIXED,
        stocklike=False,
        mult=50.0,
        automargin=0.08 * 50,
    )
    ours = MultiAssetCommissionInfo(es)
    _same_scheme(ours, theirs)
    assert ours.get_margin(4500.0) == pytest.approx(es.margin_requirement(4500.0, 1)) == 18_000.0


def test_crypto_spot_matches_backtraders_percentage() -> None:
    btc = create_crypto_info("BTC/USDT", "binance", fee_rate=0.001)
    theirs = bt.CommInfoBase(
        commission=0.001, commtype=bt.CommInfoBase.COMM_PERC, percabs=True, stocklike=True
    )
    _same_scheme(MultiAssetCommissionInfo(btc), theirs)


def test_option_matches_backtraders_fixed_commission_on_full_premium() -> None:
    put = create_option_info("X", "CBOE", "put", 50.0, "2024-06-21")
    theirs = bt.CommInfoBase(
        commission=0.65,
        commtype=bt.CommInfoBase.COMM_FIXED,
        stocklike=False,
        mult=100.0,
        automargin=100.0,
    )
    no_minimum = dataclasses.replace(
        put, commission=CommissionModel(CommissionKind.PER_CONTRACT, 0.65)
    )
    _same_scheme(MultiAssetCommissionInfo(no_minimum), theirs)
    assert MultiAssetCommissionInfo(put).getoperationcost(3, 2.5) == pytest.approx(750.0)


def test_linear_perpetual_matches_backtraders_percentage_on_margin() -> None:
    market = {
        "symbol": "BTC/USDT:USDT",
        "base": "BTC",
        "quote": "USDT",
        "settle": "USDT",
        "type": "swap",
        "swap": True,
        "contract": True,
        "linear": True,
        "contractSize": 1.0,
        "taker": 0.0005,
        "precision": {"amount": 0.001, "price": 0.1},
    }
    perp = asset_info_from_market(market, exchange="binance", leverage=20)
    theirs = bt.CommInfoBase(
        commission=0.0005,
        commtype=bt.CommInfoBase.COMM_PERC,
        percabs=True,
        stocklike=False,
        automargin=0.05,
    )
    _same_scheme(MultiAssetCommissionInfo(perp), theirs)


def test_stock_matches_backtraders_per_share_above_the_minimum_only() -> None:
    aapl = create_stock_info("AAPL", "NASDAQ")
    theirs = bt.CommInfoBase(commission=0.005, commtype=bt.CommInfoBase.COMM_FIXED, stocklike=True)
    ours = MultiAssetCommissionInfo(aapl)
    assert ours.getcommission(400, 190.0) == pytest.approx(theirs.getcommission(400, 190.0))
    assert theirs.getcommission(10, 190.0) == pytest.approx(0.05)  # backtrader: no minimum
    assert ours.getcommission(10, 190.0) == 1.0
    no_minimum = dataclasses.replace(
        aapl, commission=CommissionModel(CommissionKind.PER_SHARE, 0.005)
    )
    _same_scheme(MultiAssetCommissionInfo(no_minimum), theirs)


def test_a_bond_costs_its_notional_not_its_quote() -> None:
    bond = MultiAssetCommissionInfo(create_bond_info("UST10Y", "TRACE", face_value=1000.0))
    # 5 bonds of 1,000 face at 98.5% of par: 4,925 paid in full; +1 point: +50
    assert bond.getoperationcost(5, 98.5) == pytest.approx(4925.0)
    assert bond.getvaluesize(5, 99.5) == pytest.approx(4975.0)
    assert bond.profitandloss(5, 98.5, 99.5) == pytest.approx(50.0)


def test_bad_terms_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="contract_size"):
        create_future_info("ES", "CME", contract_size=-50)
    with pytest.raises(ConfigError, match="margin_rate"):
        create_future_info("ES", "CME", contract_size=50, margin_rate=1.5)
    with pytest.raises(ConfigError, match="strike_price"):
        AssetInfo("X", AssetType.OPTION, "CBOE", option_type=OptionType.CALL)
    with pytest.raises(ConfigError, match="symbol"):
        create_stock_info("", "NASDAQ")
    with pytest.raises(ConfigError, match="commission rate"):
        CommissionModel(CommissionKind.PERCENTAGE, float("nan"))
    with pytest.raises(ConfigError, match="use one of: stock, future"):
        AssetInfo("X", "share", "NYSE")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="OptionType"):
        create_option_info("X", "CBOE", "straddle", 50.0, "2024-06-21")


def _market(**overrides: object) -> dict[str, object]:
    market: dict[str, object] = {
        "symbol": "ETH/USDT:USDT",
        "base": "ETH",
        "quote": "USDT",
        "settle": "USDT",
        "type": "swap",
        "spot": False,
        "swap": True,
        "contract": True,
        "linear": True,
        "inverse": False,
        "contractSize": 0.1,
        "taker": 0.0004,
        "precision": {"amount": 0.001, "price": 0.05},
        "limits": {"leverage": {"max": 20}},
    }
    market.update(overrides)
    return market


def test_market_adapter_contract_terms() -> None:
    info = asset_info_from_market(_market(), exchange="okx", leverage=10)
    assert info.asset_type is AssetType.FUTURE and info.perpetual and info.exchange == "okx"
    assert (info.contract_size, info.tick_size, info.lot_size) == (0.1, 0.05, 0.001)
    assert info.margin_rate == pytest.approx(0.1) and info.currency == "USDT"
    # 30 contracts of 0.1 ETH at 2000: 6000 USDT notional, 600 margin, 2.40 taker fee
    assert info.contract_value(2000.0, 30) == pytest.approx(6000.0)
    assert info.margin_requirement(2000.0, 30) == pytest.approx(600.0)
    assert commission_of(info, 30, 2000.0) == pytest.approx(2.4)
    with pytest.raises(ConfigError, match="maximum 20"):
        asset_info_from_market(_market(), leverage=50)
    with pytest.raises(ConfigError, match="inverse"):
        asset_info_from_market(_market(linear=False, inverse=True, settle="ETH"))
    with pytest.raises(ConfigError, match="spot"):
        asset_info_from_market(
            _market(type="spot", spot=True, swap=False, contract=False), leverage=3
        )
    with pytest.raises(ConfigError, match="not a ccxt market"):
        asset_info_from_market({"type": "spot"})
    option = asset_info_from_market(
        _market(
            type="option",
            option=True,
            swap=False,
            strike=3000,
            optionType="call",
            expiryDatetime="2026-12-25T08:00:00.000Z",
            contractSize=1.0,
        )
    )
    assert option.asset_type is AssetType.OPTION and option.strike_price == 3000.0
    assert option.option_type is OptionType.CALL and option.expiration_date.startswith("2026-12-25")
