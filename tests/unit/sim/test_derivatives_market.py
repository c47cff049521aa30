"""A linear perpetual played by a market source: the simulator's own liquidity trades it, the
mark follows the market, funding reaches a user's position at the 8-hour mark."""

from __future__ import annotations

from decimal import Decimal

from real_trade.sim.clock import SimClock
from real_trade.sim.core import ExchangeCore
from real_trade.sim.derivatives import FundingEvent, MarkPriceEvent, linear_perpetual
from real_trade.sim.market_synthetic import SyntheticMarket
from real_trade.sim.rules import rules_for_market

D = Decimal
HOUR = 3_600_000
T0 = 1_700_006_400_000 + 5 * HOUR  # 05:00 UTC
SYM = "BTCUSDT"


class Bus:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def publish(self, topic: str, event: object) -> None:
        self.events.append((topic, event))


def test_the_market_trades_a_perpetual_and_funding_reaches_positions() -> None:
    market = SyntheticMarket({SYM: 30000}, seed=3, start_ms=T0, tick_ms=30_000, history_days=0.1)
    rules = {s: linear_perpetual(r) for s, r in rules_for_market(market).items()}
    clock = SimClock(start_ms=T0, stepped=True)
    bus = Bus()
    core = ExchangeCore(clock, market=market, bus=bus, rules=rules, seed=3)
    user = core.create_account({"USDT": 10_000})
    core.set_leverage(user, SYM, 5)
    clock.advance(600)
    core.place_order(user, SYM, "buy", "market", quantity="0.1")
    (pos,) = core.positions(user, SYM)
    assert pos.qty == D("0.1") and pos.leverage == 5
    clock.advance(4 * 3600)  # past 08:00
    marks = [e for t, e in bus.events if isinstance(e, MarkPriceEvent)]
    assert len({m.mark_price for m in marks}) > 10  # the mark moves with the market
    assert all(abs(m.mark_price - m.index_price) <= m.index_price * D("0.0006") for m in marks)
    core.positions(user, SYM)
    funding = [e for t, e in bus.events if t == f"sim.funding.{user.account_id}"]
    assert len(funding) == 1 and isinstance(funding[0], FundingEvent)
    assert funding[0].time_ms == T0 + 3 * HOUR
    ledger = core.ledger
    assert sum((p.qty for p in ledger.open_positions(SYM)), D(0)) == 0  # the flow holds the rest
    summary = core.margin_summary(user)
    (pos,) = core.positions(user, SYM)
    assert summary.unrealized_pnl == pos.unrealized_pnl
    assert summary.wallet_balance == user.free("USDT") + user.locked("USDT")
