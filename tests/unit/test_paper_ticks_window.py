"""The paper market forgets the ticks the engine has played, past a window
(``MAX_KEPT_TICKS``): a live paper session plays every bar while an order rests, ~13 ticks a
bar, and kept them all before. Ticks the engine has not asked for are never forgotten, and
every answer is the one a market that forgets nothing gives."""

from __future__ import annotations

import math

import pytest

from real_trade.execution import paper
from real_trade.execution.paper import BarPathMarket, PaperBar
from real_trade.sim.rules import DEFAULT_RULES

SYMBOL = "BTCUSDT"
START = 1_709_553_600_000
KEEP = 50


def _market() -> BarPathMarket:
    return BarPathMarket({SYMBOL: DEFAULT_RULES[SYMBOL]}, {SYMBOL: 20_000.0}, START)


def _bar(i: int) -> PaperBar:
    open_ = 20_000.0 + 40.0 * math.sin(i / 5.0)
    close = 20_000.0 + 40.0 * math.sin((i + 1) / 5.0)
    high, low = max(open_, close) + 5.0, min(open_, close) - 5.0
    return PaperBar(START + 60_000 * i, open_, high, low, close, 3.0)


def test_played_ticks_are_forgotten_and_every_answer_stays_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(paper, "MAX_KEPT_TICKS", KEEP)
    bounded, everything = _market(), _market()
    everything_keeps = 10**9
    played = START - 1
    for i in range(300):
        bounded.add_bar(SYMBOL, _bar(i))
        monkeypatch.setattr(paper, "MAX_KEPT_TICKS", everything_keeps)
        everything.add_bar(SYMBOL, _bar(i))
        monkeypatch.setattr(paper, "MAX_KEPT_TICKS", KEEP)
        end = START + 60_000 * i + 30_000  # the engine plays up to half the bar
        assert bounded.ticks(SYMBOL, played, end) == everything.ticks(SYMBOL, played, end)
        assert bounded.reference_price(SYMBOL, end) == everything.reference_price(SYMBOL, end)
        played = end
        assert len(bounded._ticks[SYMBOL]) <= 2 * KEEP + 13
    assert len(everything._ticks[SYMBOL]) > 10 * KEEP  # (it did grow without the window)
    assert len(bounded._times[SYMBOL]) == len(bounded._ticks[SYMBOL])
    # before the kept ticks: the price of the last one forgotten, as the full market says
    first_kept = bounded._times[SYMBOL][0]
    assert bounded.reference_price(SYMBOL, first_kept - 1) == everything.reference_price(
        SYMBOL, first_kept - 1
    )


def test_ticks_never_asked_for_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paper, "MAX_KEPT_TICKS", KEEP)
    market = _market()
    total = sum(len(market.add_bar(SYMBOL, _bar(i))) for i in range(100))
    assert total > 2 * KEEP
    assert len(market.ticks(SYMBOL, START - 1, START + 60_000 * 100)) == total
    market.add_bar(SYMBOL, _bar(100))  # asked from the start: nothing played yet to forget
    assert len(market._ticks[SYMBOL]) > total
