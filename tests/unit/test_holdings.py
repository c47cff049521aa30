"""``Holdings``: what a sell may take of the base holding, the fee policy, and dust."""

from __future__ import annotations

import pytest

from real_trade.execution import (
    Balance,
    BalanceReport,
    FillEvent,
    Holdings,
    OrderRequest,
    Report,
    SymbolLimits,
)

LIMITS = SymbolLimits(amount_step=0.00001, price_tick=0.01, min_amount=0.00001, min_cost=5.0)


class AccountPort:
    """An execution port reduced to its balances (a public fake, injected)."""

    def __init__(self, **free: float) -> None:
        self.free = free

    def balances(self) -> dict[str, Balance]:
        return {asset: Balance(amount) for asset, amount in self.free.items()}

    def limits(self, symbol: str) -> SymbolLimits:
        return LIMITS

    def place(self, request: OrderRequest) -> None:
        raise NotImplementedError

    def cancel(self, client_order_id: str, symbol: str, exchange_order_id: str | None) -> None:
        raise NotImplementedError

    def drain(self) -> list[Report]:
        return []

    def last_price(self, symbol: str) -> float | None:
        return 60_000.0


def _buy_fill(amount: float, fee: float) -> FillEvent:
    return FillEvent(
        1,
        "c1",
        "x1",
        "BTC/USDT",
        "buy",
        "t1",
        60_000.0,
        amount,
        fee,
        "BTC",
        0,
        position_change=amount - fee,
    )


def _holding_after_a_buy(free: float) -> tuple[AccountPort, Holdings]:
    port = AccountPort(BTC=free, USDT=1_000.0)
    holdings = Holdings(port)
    holdings.on_fill(_buy_fill(0.001, 0.000001))
    holdings.on_balance(BalanceReport({"BTC": Balance(free)}))
    return port, holdings


def test_a_sell_over_the_holding_by_its_fee_is_trimmed_to_the_holding_on_the_step() -> None:
    _, holdings = _holding_after_a_buy(0.000999)
    trim = holdings.fit_sell("BTC/USDT", 0.001, LIMITS)
    assert trim is not None and trim.requested == 0.001 and trim.sent == pytest.approx(0.00099)
    assert "fees" in trim.reason and "0.000999" in trim.reason


def test_up_to_the_fee_and_one_step_over_is_trimmed_more_is_sent_as_asked() -> None:
    _, holdings = _holding_after_a_buy(0.000999)
    assert holdings.fit_sell("BTC/USDT", 0.00101, LIMITS) is not None  # fee + step
    assert holdings.fit_sell("BTC/USDT", 0.00102, LIMITS) is None  # the venue will refuse it
    assert holdings.fit_sell("BTC/USDT", 0.0009, LIMITS) is None  # it fits: sent as asked


def test_less_than_a_step_over_is_trimmed_without_fees_and_nothing_held_is_never_trimmed() -> None:
    holdings = Holdings(AccountPort(BTC=0.0009995))
    trim = holdings.fit_sell("BTC/USDT", 0.001, LIMITS)
    assert trim is not None and "amount step" in trim.reason
    assert Holdings(AccountPort()).fit_sell("BTC/USDT", 0.00001, LIMITS) is None


def test_a_buy_counts_before_its_balance_report_arrives() -> None:
    port = AccountPort(BTC=0.0)
    holdings = Holdings(port)
    holdings.on_fill(_buy_fill(0.001, 0.000001))
    assert holdings.free("BTC") == pytest.approx(0.000999), "the fill, not yet reported"
    port.free["BTC"] = 0.000999
    holdings.on_balance(BalanceReport({"BTC": Balance(0.000999)}))
    assert holdings.free("BTC") == pytest.approx(0.000999), "counted once"
    trim = holdings.fit_sell("BTC/USDT", 0.001, LIMITS)
    assert trim is not None and trim.sent == pytest.approx(0.00099)
    holdings.cleared("BTC/USDT")
    assert holdings.fees("BTC") == 0.0


def test_dust_is_what_no_order_can_sell() -> None:
    assert Holdings.dust_reason(0.000009, LIMITS, 60_000.0) is not None  # under the step
    assert Holdings.dust_reason(0.00005, LIMITS, 60_000.0) is not None  # 3 USDT < 5 minimum
    assert Holdings.dust_reason(0.0001, LIMITS, 60_000.0) is None
    assert Holdings.dust_reason(0.0, LIMITS, 60_000.0) is None


def test_a_contract_trades_no_holding_it_is_never_trimmed_nor_counted() -> None:
    """A unified account holding spot BTC: the perpetual's sell goes out as asked, and a
    perpetual's buy delivers no BTC a spot sell could take."""
    holdings = Holdings(AccountPort(BTC=0.00999))
    assert holdings.fit_sell("BTC/USDT:USDT", 0.01, LIMITS) is None
    perp_buy = FillEvent(
        1,
        "c1",
        "x1",
        "BTC/USDT:USDT",
        "buy",
        "t1",
        60_000.0,
        0.01,
        0.3,
        "USDT",
        0,
        position_change=0.01,
    )
    holdings.on_fill(perp_buy)
    assert holdings.free("BTC") == pytest.approx(0.00999)
    assert holdings.fit_sell("BTC/USDT", 0.01, LIMITS) is not None  # spot: still trimmed
