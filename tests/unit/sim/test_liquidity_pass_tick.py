"""``SymbolLiquidity.pass_tick`` leaves the ladder as ``play`` leaves it after the flow's trade.

The paper fast path records the open tick's flow trade instead of matching it (nothing of the
user rests, so the flow meets only the hit level). The book must then be what the played tick
leaves: the same levels and quantities, and the hit level taken as traded, so that the next
re-quote replaces it (a fresh order, behind any user order placed at its price since).
"""

from __future__ import annotations

from decimal import Decimal

from real_trade.execution import PaperBar, PaperExecution
from real_trade.sim.liquidity import SymbolLiquidity
from real_trade.sim.market import MarketTick
from real_trade.sim.types import Side

START = 1_677_628_800_000
PRICE = Decimal("23000.00")


def _ladder() -> SymbolLiquidity:
    exe = PaperExecution(["BTC/USDT"], fast_path=False)
    exe.play({"BTC/USDT": PaperBar(START, 23_000.0, 23_000.0, 23_000.0, 23_000.0, 0.0)}, print)
    assert exe.core is not None
    liquidity = exe.core.liquidity("BTCUSDT")
    assert liquidity is not None
    return liquidity


def _book(liquidity: SymbolLiquidity) -> tuple[object, object]:
    return liquidity.engine.book.depth(20)


def test_pass_tick_leaves_the_book_of_the_played_tick_and_the_hit_level_spent() -> None:
    played, passed = _ladder(), _ladder()
    spread = max(1, 2 * played.shape.half_spread_ticks) * played.shape.tick_size
    sell = MarketTick(START + 60_000, PRICE, Decimal("0.5"), Side.SELL)  # hits the bid at PRICE
    played.play(sell)
    assert passed.pass_tick(sell) == Decimal("0.5")
    assert _book(played) == _book(passed)
    hit_levels = [lq.engine.book.bids.level(PRICE) for lq in (played, passed)]
    before = [level.first().order_id for level in hit_levels if level is not None]
    assert len(before) == 2
    # a buy a spread above: PRICE is the top bid again, an untraded level of the usual size
    buy = MarketTick(START + 61_000, PRICE + spread, Decimal("0.2"), Side.BUY)
    played.play(buy)
    passed.play(buy)
    assert _book(played) == _book(passed)
    for lq, old in zip((played, passed), before, strict=True):
        level = lq.engine.book.bids.level(PRICE)
        assert level is not None
        assert level.first().order_id > old, "the traded (or spent) level was placed again"


def test_pass_tick_quotes_a_tick_without_volume() -> None:
    played, passed = _ladder(), _ladder()
    quote = MarketTick(START + 60_000, PRICE + Decimal("3"), Decimal(0), Side.BUY)
    played.play(quote)
    assert passed.pass_tick(quote) == 0
    assert _book(played) == _book(passed)


def test_tops_only_quotes_the_full_ladders_best_levels_and_restores_the_rest() -> None:
    full, tops = _ladder(), _ladder()
    tops.tops_only = True
    tick = tops.shape.tick_size
    moves = [(0, Side.SELL), (7, Side.BUY), (-3, Side.SELL), (-3, Side.BUY), (40, Side.BUY)]
    for i, (ticks, side) in enumerate(moves):
        played = MarketTick(START + 60_000 + i, PRICE + ticks * tick, Decimal("0.3"), side)
        full.play(played)
        tops.play(played)
        full_bids, full_asks = _book(full)
        tops_bids, tops_asks = _book(tops)
        assert (tops_bids, tops_asks) == (full_bids[:1], full_asks[:1])
    tops.tops_only = False
    last = MarketTick(START + 61_000, PRICE, Decimal("0.1"), Side.SELL)
    full.play(last)
    tops.play(last)
    assert _book(tops) == _book(full)
