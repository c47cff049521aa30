"""The look-ahead check: change every bar after ``t``; what the strategy said up to ``t`` must not
change.

:func:`check_lookahead` runs a strategy of the :class:`AIStrategy` kind (anything that records
``predictions`` as ``(bar open ms, signal, confidence, model data end ms)``) twice: on the
frame, and on the frame with every bar after the cut replaced by a different random walk. In
backtest mode training is synchronous, so the two runs' predictions up to the cut must be equal
one for one. In live mode the feed is a live feed (bar by bar, training on the worker thread);
each bar waits until the worker is idle, as if bars came slower than training, and the
predictions up to the cut are compared by (bar, model), so the check does not depend on timing.
``real-trade ai-check`` runs it from the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from real_trade.core.ai_trading.frames import frame_feed

__all__ = ["LookaheadReport", "check_lookahead", "perturb_after"]


@dataclass(frozen=True, slots=True)
class LookaheadReport:
    """The check's outcome: predictions compared up to the cut, and those that differed."""

    mode: str
    cut_ms: int
    compared: int
    mismatches: list[tuple[Any, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when something was compared and nothing differed."""
        return self.compared > 0 and not self.mismatches


def perturb_after(frame: pd.DataFrame, cut: int, seed: int = 1) -> pd.DataFrame:
    """``frame`` with every bar after position ``cut`` replaced by another valid random walk."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    n = len(frame) - cut - 1
    if n <= 0:
        return out
    start = float(frame["close"].iloc[cut])
    close = start * np.exp(np.cumsum(rng.normal(0.0, 0.004, n)))
    open_ = np.concatenate([[start], close[:-1]])
    spread = np.abs(rng.normal(0.0, 0.002, n)) * close
    tail = out.index[cut + 1 :]
    out.loc[tail, "open"] = open_
    out.loc[tail, "close"] = close
    out.loc[tail, "high"] = np.maximum(open_, close) + spread
    out.loc[tail, "low"] = np.minimum(open_, close) - spread
    out.loc[tail, "volume"] = rng.uniform(0.1, 50.0, n)
    return out


def _live_feed(frame: pd.DataFrame, gate: dict[str, Any]) -> Any:
    import backtrader as bt

    class _LiveFrame(bt.feed.DataBase):
        """A live feed over a frame: one bar per load, after the trainer is idle."""

        def __init__(self) -> None:
            super().__init__()
            self._rows = frame.tz_convert(None).itertuples()

        def islive(self) -> bool:
            return True

        def _load(self) -> bool:
            strategy = gate.get("strategy")
            if strategy is not None and strategy.trainer is not None:
                strategy.trainer.wait_idle(timeout=300)
            row = next(self._rows, None)
            if row is None:
                return False
            self.lines.datetime[0] = bt.date2num(row.Index.to_pydatetime())
            for name in ("open", "high", "low", "close", "volume"):
                getattr(self.lines, name)[0] = float(getattr(row, name))
            return True

    feed: Any = _LiveFrame
    return feed(timeframe=bt.TimeFrame.Minutes, compression=1)


def _run(
    strategy_cls: type, frame: pd.DataFrame, params: Mapping[str, Any], live: bool
) -> list[tuple[int, int, float, int]]:
    import backtrader as bt

    gate: dict[str, Any] = {}

    class _Probe(strategy_cls):
        def start(self) -> None:
            super().start()
            gate["strategy"] = self

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(_live_feed(frame, gate) if live else frame_feed(frame))
    cerebro.broker.setcash(1_000_000.0)
    cerebro.addstrategy(_Probe, background_training=live, **params)
    strategy = cerebro.run()[0]
    return list(strategy.predictions)


def check_lookahead(
    frame: pd.DataFrame,
    strategy_cls: type | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    cut: int | None = None,
    live: bool = False,
    seed: int = 1,
) -> LookaheadReport:
    """Run ``strategy_cls`` (default :class:`AIStrategy`) on ``frame`` and on ``frame`` changed
    after bar ``cut`` (default: two thirds in); compare the predictions up to the cut."""
    if strategy_cls is None:
        from real_trade.core.ai_trading.strategy import AIStrategy

        strategy_cls = AIStrategy
    cut = len(frame) * 2 // 3 if cut is None else cut
    cut_ms = int(frame.index[cut].value // 1_000_000)
    args = dict(params or {})
    original = _run(strategy_cls, frame, args, live)
    changed = _run(strategy_cls, perturb_after(frame, cut, seed), args, live)
    before = [p for p in original if p[0] <= cut_ms]
    after = [p for p in changed if p[0] <= cut_ms]
    mismatches: list[tuple[Any, Any]] = []
    if live:
        keyed_a = {(p[0], p[3]): p for p in before}
        keyed_b = {(p[0], p[3]): p for p in after}
        common = sorted(set(keyed_a) & set(keyed_b))
        mismatches = [(keyed_a[k], keyed_b[k]) for k in common if keyed_a[k] != keyed_b[k]]
        compared = len(common)
    else:
        compared = max(len(before), len(after))
        mismatches = [(a, b) for a, b in zip(before, after, strict=False) if a != b]
        if len(before) != len(after):
            mismatches.append((len(before), len(after)))
    return LookaheadReport("live" if live else "backtest", cut_ms, compared, mismatches)
