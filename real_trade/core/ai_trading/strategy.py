"""``AIStrategy``: the seed's AI-enhanced strategy, an ensemble's vote fused with SMA/RSI/Bollinger.

Each bar the strategy appends the bar to its own history (so everything it computes at bar ``t``
uses bars up to ``t`` only), asks the newest fresh model for ``(signal, confidence)`` and fuses
it with the technical signal (:meth:`AIStrategy._combine_signals`): long entries only, on a buy
vote the AI makes with at least ``confidence_threshold`` that the technicals do not contradict
(or, with ``enable_ai=False`` or no fresh model, on the technical signal alone when
``technical_only`` is set); exits on a sell signal, the ``stop_loss`` below
``position_entry_price``, or ``take_profit`` when set.

Every ``training_period`` bars it retrains on the last ``training_window`` bars: in a backtest
in the trading thread (deterministic), on a live feed on the :class:`ModelTrainer`'s worker (the
trading thread never waits; it uses the newest finished model). A model whose last training
bar is more than ``max_model_age`` bars old (default three training periods) gives no signal.
With ``model_dir`` models are saved with their metadata and the newest matching one is loaded
at start. ``predictions`` records ``(bar open ms, signal, confidence, model data end ms)``
for each bar a model answered (the look-ahead check reads it); ``confident_signals`` counts the
votes that reached ``confidence_threshold``.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt
import pandas as pd

from real_trade.core.ai_trading.features import OHLCV
from real_trade.core.ai_trading.predictor import EnsemblePredictor
from real_trade.core.ai_trading.registry import ModelRegistry
from real_trade.core.ai_trading.trainer import ModelTrainer
from real_trade.strategies.base import RealTradeStrategyBase

__all__ = ["AIStrategy"]


class AIStrategy(RealTradeStrategyBase):
    """AI vote + SMA cross / RSI / Bollinger technical signal; see the module doc.

    Params (the seed's first): ``enable_ai`` (True), ``confidence_threshold`` (0.6),
    ``training_period`` (100 bars between retrainings, and before the first), ``training_window``
    (2000 bars trained on), ``max_model_age`` (bars; None = 3 x ``training_period``),
    ``lookback_periods`` ((5, 10, 20)), ``horizon`` (1 bar ahead), ``n_estimators`` (50),
    ``technical_only`` (True: trade technicals when no AI signal), ``size`` (None = size by
    risk with ``calc_position_size``), ``stop_loss`` (0.02), ``take_profit`` (0: off),
    ``fast``/``slow`` (10/30), ``rsi_period`` (14), ``bb_period`` (20),
    ``background_training`` (None: on live feeds only), ``model_dir`` (None), ``bus``,
    ``progress``.
    """

    params = (
        ("enable_ai", True),
        ("confidence_threshold", 0.6),
        ("training_period", 100),
        ("training_window", 2000),
        ("max_model_age", None),
        ("lookback_periods", (5, 10, 20)),
        ("horizon", 1),
        ("n_estimators", 50),
        ("technical_only", True),
        ("size", None),
        ("stop_loss", 0.02),
        ("take_profit", 0.0),
        ("fast", 10),
        ("slow", 30),
        ("rsi_period", 14),
        ("bb_period", 20),
        ("background_training", None),
        ("model_dir", None),
        ("bus", None),
        ("progress", False),
    )

    def __init__(self) -> None:
        self.sma_fast = bt.indicators.SMA(self.data.close, period=self.p.fast)
        self.sma_slow = bt.indicators.SMA(self.data.close, period=self.p.slow)
        self.crossover = bt.indicators.CrossOver(self.sma_fast, self.sma_slow)
        self.rsi = bt.indicators.RSI(self.data.close, period=self.p.rsi_period, safediv=True)
        self.bbands = bt.indicators.BollingerBands(self.data.close, period=self.p.bb_period)
        self.ai_predictor = self._new_predictor()
        self.position_entry_price: float | None = None
        self.days_since_training = 0
        self.predictions: list[tuple[int, int, float, int]] = []
        self.trades_opened = 0
        self.confident_signals = 0
        self._rows: list[tuple[int, float, float, float, float, float]] = []
        self._pending: Any = None
        self.trainer: ModelTrainer | None = None

    @property
    def rSI(self) -> Any:  # noqa: N802 - the seed's spelling
        """The seed's name of :attr:`rsi`."""
        return self.rsi

    @property
    def is_model_trained(self) -> bool:
        """Whether a finished model exists (fresh or not)."""
        return self.trainer is not None and self.trainer.newest is not None

    def _new_predictor(self) -> EnsemblePredictor:
        return EnsemblePredictor(
            self.p.lookback_periods,
            horizon=self.p.horizon,
            n_estimators=self.p.n_estimators,
            progress=self.p.progress,
        )

    def start(self) -> None:
        """Build the trainer: background on live feeds unless ``background_training`` says."""
        background = self.p.background_training
        if background is None:
            background = bool(self.data.islive())
        age = self.p.max_model_age
        if age is None:
            age = 3 * self.p.training_period
        bar_ms = self._bar_ms()
        registry = ModelRegistry(self.p.model_dir) if self.p.model_dir else None
        self.trainer = ModelTrainer(
            self._new_predictor,
            max_age_ms=age * bar_ms,
            background=background,
            registry=registry,
            bus=self.p.bus,
        )

    def _bar_ms(self) -> int:
        comp = max(1, int(getattr(self.data.p, "compression", 1) or 1))
        unit = {bt.TimeFrame.Seconds: 1_000, bt.TimeFrame.Minutes: 60_000}.get(
            self.data.p.timeframe, 86_400_000
        )
        return comp * unit

    def _now_ms(self) -> int:
        return int(pd.Timestamp(self.data.datetime.datetime(0), tz="UTC").value // 1_000_000)

    def history_frame(self, bars: int | None = None) -> pd.DataFrame:
        """The bars seen so far (the last ``bars`` of them) as an OHLCV frame."""
        rows = self._rows[-bars:] if bars else self._rows
        index = pd.DatetimeIndex(pd.to_datetime([r[0] for r in rows], unit="ms", utc=True))
        return pd.DataFrame([r[1:] for r in rows], columns=list(OHLCV), index=index)

    def next(self) -> None:
        """Record the bar, retrain when due, then trade the fused signal."""
        d = self.data
        self._rows.append((self._now_ms(), d.open[0], d.high[0], d.low[0], d.close[0], d.volume[0]))
        self.days_since_training += 1
        if self.p.enable_ai and self.days_since_training >= self.p.training_period:
            self._train_ai_model()
        self._generate_trading_signals()

    def _train_ai_model(self) -> None:
        """Hand the last ``training_window`` bars to the trainer (returns at once when live)."""
        assert self.trainer is not None
        self.days_since_training = 0
        self.trainer.submit(self.history_frame(self.p.training_window))

    def ai_signal(self) -> tuple[int, float]:
        """The fresh model's ``(signal, confidence)`` for this bar, or ``(0, 0.0)``."""
        if not self.p.enable_ai or self.trainer is None:
            return 0, 0.0
        now = self._now_ms()
        model = self.trainer.current(now)
        if model is None:
            return 0, 0.0
        signal, confidence = model.predictor.predict(
            self.history_frame(model.predictor.feature_extractor.warmup)
        )
        if signal:
            self.predictions.append((now, signal, confidence, model.metadata.data_end_ms))
        return signal, confidence

    def _get_technical_signal(self) -> int:
        """1 (buy), -1 (sell) or 0: an SMA cross confirmed by RSI or the Bollinger band."""
        if len(self.bbands.lines.bot) == 0 or len(self) < max(self.p.slow, self.p.bb_period):
            return 0
        close = self.data.close[0]
        if self.crossover[0] > 0 and self.rsi[0] < 70:
            return 1
        if self.rsi[0] < 30 and close <= self.bbands.lines.bot[0]:
            return 1
        if self.crossover[0] < 0 or (self.rsi[0] > 70 and close >= self.bbands.lines.top[0]):
            return -1
        return 0

    def _combine_signals(self, ai_signal: int, ai_confidence: float, tech_signal: int) -> int:
        """Fuse: a confident AI vote wins unless the technicals say the opposite; without one the
        technical signal alone (when ``technical_only``)."""
        if ai_signal and ai_confidence >= self.p.confidence_threshold:
            self.confident_signals += 1
            return 0 if tech_signal == -ai_signal else ai_signal
        return tech_signal if self.p.technical_only else 0

    def _generate_trading_signals(self) -> None:
        """Trade the fused signal, the stop, and close at the last bar."""
        if self._pending is not None:
            return
        signal = self._combine_signals(*self.ai_signal(), self._get_technical_signal())
        if self.position:
            entry = self.position_entry_price or 0.0
            stop = bool(self.p.stop_loss) and self.data.close[0] <= entry * (1 - self.p.stop_loss)
            if signal < 0 or stop or self.check_take_profit():
                self._pending = self.close()
        elif signal > 0 and self.allow_trade():
            size = self.p.size or self.calc_position_size(0.02)
            if size > 0:
                self._pending = self.buy(size=size)

    def notify_order(self, order: Any) -> None:
        """Track the pending order and the entry price of the position."""
        if self._pending is not None and order.ref == self._pending.ref and not order.alive():
            self._pending = None
        if order.status == order.Completed:
            if order.isbuy():
                self.position_entry_price = float(order.executed.price)
                self.trades_opened += 1
            elif not self.position:
                self.position_entry_price = None
        super().notify_order(order)

    def stop(self) -> None:
        """Stop the training worker (after the job in progress)."""
        if self.trainer is not None:
            self.trainer.close()
