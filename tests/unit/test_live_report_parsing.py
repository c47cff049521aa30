"""How ``execution.live`` reads venue answers it gets through ccxt: refusal words, fill fees."""

from __future__ import annotations

import pytest

from real_trade.execution.live import exchange_reason, fill_report


def test_okx_per_order_words_win_over_the_envelope_message() -> None:
    body = (
        'okx {"code":"1","msg":"All operations failed","data":[{"clOrdId":"rt-1","sCode":"51008",'
        '"sMsg":"Order failed. Insufficient USDT balance in account."}]}'
    )
    assert exchange_reason(Exception(body), "okx") == (
        "Order failed. Insufficient USDT balance in account."
    )
    binance = (
        'binance {"code":-2010,"msg":"Account has insufficient balance for requested action."}'
    )
    assert exchange_reason(Exception(binance), "binance") == (
        "Account has insufficient balance for requested action."
    )


@pytest.mark.parametrize(
    ("fee", "info", "paid"),
    [
        ({"cost": -0.001, "currency": "BTC"}, {"fillFee": "-0.001"}, 0.001),  # ccxt.pro okx
        ({"cost": 0.001, "currency": "BTC"}, {"fee": "-0.001"}, 0.001),  # ccxt okx REST
        ({"cost": 0.001, "currency": "BTC"}, {"n": "0.001"}, 0.001),  # binance
        ({"cost": -0.0002, "currency": "USDT"}, {}, -0.0002),  # a rebate stays a rebate
    ],
)
def test_a_fill_fee_is_positive_when_paid_whatever_the_venue_signs(
    fee: dict[str, object], info: dict[str, str], paid: float
) -> None:
    trade = {"id": "7", "price": 100.0, "amount": 1.0, "fee": fee, "info": info, "order": "9"}
    assert fill_report(trade).fill.commission == pytest.approx(paid)
