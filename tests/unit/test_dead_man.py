"""Which runs arm the exchange-side dead-man switch, with which call, and what a failure does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from real_trade.config import RealTradeConfig
from real_trade.errors import ConfigError
from real_trade.venues.dead_man import DEAD_MAN_VENUES, DeadManSwitch, dead_man_for


def _config(exchange: str = "binance", market_type: str = "future", **run: Any) -> Any:
    return RealTradeConfig(
        exchange=exchange,
        market_type=market_type,
        paper_trading=False,
        testnet=True,
        apikey="k",
        secret="s",
        passphrase="p",
        run=run,
    )


def test_on_by_default_for_perpetuals_off_for_spot_and_paper() -> None:
    venue, timeout = dead_man_for(_config()) or (None, None)
    assert venue is DEAD_MAN_VENUES[("binance", "future")] and timeout == 60
    assert dead_man_for(_config(market_type="spot")) is None
    assert dead_man_for(_config(dead_man_switch=False)) is None
    paper = RealTradeConfig(exchange="binance", market_type="future", paper_trading=True)
    assert dead_man_for(paper) is None
    assert dead_man_for(_config("bybit")) is None  # DCP is enabled per account: only when asked


def test_asked_for_where_the_venue_has_none_or_out_of_range_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="spot") as spot:
        dead_man_for(_config(market_type="spot", dead_man_switch=True))
    assert spot.value.field == "run.dead_man_switch"
    with pytest.raises(ConfigError, match="linear perpetuals only"):
        dead_man_for(_config("bybit", market_type="spot", dead_man_switch=True))
    bybit = dead_man_for(_config("bybit", dead_man_switch=True, dead_man_timeout_s=3))
    assert bybit is not None and bybit[0] is DEAD_MAN_VENUES[("bybit", "future")]
    with pytest.raises(ConfigError, match=r"3\.\.300"):
        dead_man_for(_config("bybit", dead_man_switch=True, dead_man_timeout_s=301))
    with pytest.raises(ConfigError, match=r"10\.\.120") as okx:
        dead_man_for(_config("okx", dead_man_timeout_s=5))
    assert okx.value.field == "run.dead_man_timeout_s"
    with pytest.raises(Exception, match="dead_man_timeout_s"):
        _config(dead_man_timeout_s=0)


class _Exchange:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    async def fapiPrivatePostCountdownCancelAll(self, params: dict[str, Any]) -> None:
        self._record("binance", params)

    async def privatePostTradeCancelAllAfter(self, params: dict[str, Any]) -> None:
        self._record("okx", params)

    def market(self, symbol: str) -> dict[str, Any]:
        return {"id": symbol.split("/")[0] + "-USDT-SWAP"}

    def _record(self, name: str, params: dict[str, Any]) -> None:
        if self.fail:
            raise ConnectionError("venue unreachable")
        self.calls.append((name, params))


class _Client:
    def __init__(self, exchange: _Exchange) -> None:
        self.exchange = exchange

    def symbol_of(self, symbol: str) -> str:
        return symbol

    def run(self, coro: Any) -> Any:
        return asyncio.run(coro)


def test_arm_and_disarm_send_each_venue_s_call() -> None:
    ex = _Exchange()
    binance = DeadManSwitch(
        _Client(ex), DEAD_MAN_VENUES[("binance", "future")], ["A/USDT:USDT", "B/USDT:USDT"], 2.5
    )
    assert binance.arm() and binance.armed and binance.beats == 1
    assert binance.disarm() and not binance.armed
    okx = DeadManSwitch(_Client(ex), DEAD_MAN_VENUES[("okx", "swap")], ["A/USDT:USDT"], 30)
    okx.arm()
    assert ex.calls == [
        ("binance", {"symbol": "A-USDT-SWAP", "countdownTime": 2500}),
        ("binance", {"symbol": "B-USDT-SWAP", "countdownTime": 2500}),
        ("binance", {"symbol": "A-USDT-SWAP", "countdownTime": 0}),
        ("binance", {"symbol": "B-USDT-SWAP", "countdownTime": 0}),
        ("okx", {"timeOut": "30"}),
    ]


def test_a_failed_beat_is_counted_and_logged_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    switch = DeadManSwitch(
        _Client(_Exchange(fail=True)), DEAD_MAN_VENUES[("okx", "swap")], ["A/USDT:USDT"], 30
    )
    assert switch.arm() is False and switch.failures == 1 and not switch.armed
    assert "venue unreachable" in caplog.text
