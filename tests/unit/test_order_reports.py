"""``order_reports``/``fill_report``: ccxt's orders and trades from every venue as reports."""

from __future__ import annotations

import pytest

from real_trade.execution import ExchangeStatus, OrderReport
from real_trade.execution.live import fill_report, order_reports

# what ccxt makes of a create-order answer: Bybit's carries only the ids, OKX's the ids and sCode
BYBIT_ACK = {
    "id": "2091",
    "clientOrderId": "rt-a-0001",
    "status": None,
    "filled": None,
    "amount": None,
    "info": {"orderId": "2091", "orderLinkId": "rt-a-0001"},
}
OKX_ACK = {
    "id": "77",
    "clientOrderId": "rt-a-0002",
    "status": None,
    "info": {"ordId": "77", "clOrdId": "rt-a-0002", "sCode": "0", "sMsg": "", "tag": ""},
}


@pytest.mark.parametrize("answer", [BYBIT_ACK, OKX_ACK], ids=["bybit", "okx"])
def test_a_create_answer_without_status_is_an_accepted_order(answer: dict) -> None:
    (report,) = order_reports(answer, acknowledgement=True)
    assert isinstance(report, OrderReport)
    assert report.status is ExchangeStatus.NEW and report.filled == 0.0
    assert (report.client_order_id, report.exchange_order_id) == (
        answer["clientOrderId"],
        answer["id"],
    )


@pytest.mark.parametrize("answer", [BYBIT_ACK, OKX_ACK], ids=["bybit", "okx"])
def test_a_missing_status_outside_a_create_answer_is_still_an_error(answer: dict) -> None:
    with pytest.raises(ValueError, match="unknown order status None"):
        order_reports(answer)


def test_binance_create_answers_keep_their_own_status_and_fills() -> None:
    answer = {
        "id": "9",
        "clientOrderId": "rt-a-0003",
        "status": "closed",
        "filled": 0.5,
        "amount": 0.5,
        "timestamp": 1000,
        "trades": [{"id": "t1", "price": 100.0, "amount": 0.5, "fee": {"cost": 0.05}}],
        "info": {"status": "FILLED", "clientOrderId": "rt-a-0003"},
    }
    fill, report = order_reports(answer, acknowledgement=True)
    assert isinstance(report, OrderReport) and report.status is ExchangeStatus.FILLED
    assert report.filled == 0.5 and fill.fill.amount == 0.5  # type: ignore[union-attr]


def test_an_acknowledgement_without_an_order_id_is_not_taken_for_an_order() -> None:
    with pytest.raises(ValueError):
        order_reports({"id": None, "status": None, "info": {}}, acknowledgement=True)


def test_okx_stream_fill_fee_is_turned_to_a_charge() -> None:
    """ccxt.pro passes OKX's ``fillFee`` on with OKX's sign (negative: charged)."""
    charged = {
        "id": "5",
        "order": "77",
        "price": 60_000.0,
        "amount": 0.05,
        "timestamp": 1,
        "fee": {"cost": -3.0, "currency": "USDT"},
        "info": {"fillFee": "-3", "fillFeeCcy": "USDT", "tradeId": "5"},
    }
    assert fill_report(charged).fill.commission == 3.0
    rebate = {**charged, "fee": {"cost": 0.5}, "info": {"fillFee": "0.5"}}
    assert fill_report(rebate).fill.commission == -0.5
    rest = {**charged, "fee": {"cost": 3.0, "currency": "USDT"}, "info": {"fee": "-3"}}
    assert fill_report(rest).fill.commission == 3.0, "REST fills: ccxt already turned it"


def test_a_cancel_answer_without_status_leaves_the_end_to_the_stream() -> None:
    answer = {"id": "2091", "clientOrderId": "rt-a-0001", "status": None, "info": {}}
    (report,) = order_reports(answer, acknowledgement=True)
    assert isinstance(report, OrderReport) and not report.status.terminal
