"""The seed appendices' scripts, copied as a user copies them, end cleanly.

Each script is the seed's code as written (placeholder keys; a ``notify_data`` that prints the
feed's state is the only line added, so the test knows when a live script is running) in a file
of its own, run as a subprocess against one simulator through ``RT_SIM_URL``. The backtest ends
by itself; the live scripts run until the test sends them SIGINT, as a user presses Ctrl-C. All
must exit 0 without a traceback and without ccxt's or aiohttp's warnings about resources left
open; the live ones say they are stopping gracefully.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from real_trade.sim import SimExchange, SyntheticMarket
from tests.support import assert_no_leak_warnings, eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120.0
PRINT_STATE = """
    def notify_data(self, data, status, *args, **kwargs):
        print("data:", data._getstatusname(status), flush=True)
"""

SEED_000_QUICK_START = """
from real_trade.stores import BinanceStore
from real_trade.brokers import BinanceBroker
from real_trade.feeds import BinanceData
import backtrader as bt

# 创建 Binance 交易引擎
store = BinanceStore.get_instance(
    apikey='YOUR_API_KEY',
    secret='YOUR_SECRET',
    testnet=True,
    market_type='spot'
)
broker = BinanceBroker(store, paper_trading=True)
data = BinanceData.from_timeframe_string("1h", store, symbol="BTC/USDT")

# 定义策略
class MyStrategy(bt.Strategy):
    def next(self):
        if not self.position:
            self.buy()
        else:
            self.sell()
{print_state}
# 运行交易
cerebro = bt.Cerebro()
cerebro.setbroker(broker)
cerebro.adddata(data)
cerebro.addstrategy(MyStrategy)
cerebro.run()
"""

SEED_001_ENGINE = """
from real_trade.binance import create_binance_engine
import backtrader as bt

# 创建 Binance 交易引擎
store, broker, data = create_binance_engine(
    apikey='YOUR_API_KEY',
    secret='YOUR_SECRET',
    symbol='BTC/USDT',
    timeframe='1h',
    testnet=True,
    paper_trading=True,
    backtest=False,
    market_type='spot'
)

# 定义策略
class MyStrategy(bt.Strategy):
    def next(self):
        if not self.position:
            self.buy()
        else:
            self.sell()
{print_state}
# 运行交易
cerebro = bt.Cerebro()
cerebro.setbroker(broker)
cerebro.adddata(data)
cerebro.addstrategy(MyStrategy)
cerebro.run()
"""

SEED_004_BACKTEST = """
import backtrader as bt

# 创建Cerebro引擎
cerebro = bt.Cerebro()

# 创建Binance Store (测试网配置)
store = bt.stores.BinanceStore(
    apikey="",  # 实际使用时填写真实的API密钥
    secret="",  # 实际使用时填写真实的API密钥
    testnet=True,  # 使用测试网
)

# 创建数据feed
data = bt.feeds.BinanceData(
    store,
    symbol="BTC/USDT",
    timeframe=bt.TimeFrame.Days,
    compression=1,
    historical=True,  # 只获取历史数据进行回测
)

# 添加数据到Cerebro
cerebro.adddata(data)

# 设置初始资金和佣金
cerebro.broker.setcash(10000.0)
cerebro.broker.setcommission(commission=0.001)

# 运行回测
cerebro.run()
print("backtest done", flush=True)
"""

SEED_004_LIVE = """
import backtrader as bt

# 创建策略
class MyStrategy(bt.Strategy):
    def __init__(self):
        self.sma = bt.indicators.SimpleMovingAverage(self.data, period=15)

    def next(self):
        if not self.position:
            if self.data.close[0] > self.sma[0]:
                self.buy(size=0.001)
        else:
            if self.data.close[0] < self.sma[0]:
                self.sell(size=0.001)
{print_state}
# 创建Cerebro引擎
cerebro = bt.Cerebro()

# 创建Binance Store (实盘配置)
store = bt.stores.BinanceStore(
    apikey="YOUR_REAL_API_KEY",
    secret="YOUR_REAL_SECRET",
    testnet=False,
)

# 添加数据和策略
data = store.getdata(dataname="BTCUSDT")
cerebro.adddata(data)
cerebro.addstrategy(MyStrategy)

# 设置资金和佣金
cerebro.broker.setcash(10000.0)
cerebro.broker.setcommission(0.001)

# 运行实盘
cerebro.run()
"""

SEED_002_NEW_EXCHANGE = """
import backtrader as bt
from real_trade.common import BaseBroker, BaseData, BaseStore

class NewExchangeStore(BaseStore):
    def _create_exchange(self, **kwargs):
        import ccxt
        config = {
            'apiKey': self.apikey,
            'secret': self.secret,
            'enableRateLimit': True,
        }

        if self.testnet:
            config['urls'] = {'api': ccxt.binance().urls['test']}

        self._exchange = ccxt.binance(config)

class NewExchangeBroker(BaseBroker):
    pass

class NewExchangeData(BaseData):
    pass

def create_newexchange_engine(symbol, timeframe, **kwargs):
    store = NewExchangeStore.get_instance(**kwargs)
    broker = NewExchangeBroker(store, paper_trading=True)
    data = NewExchangeData.from_timeframe_string(timeframe, store, symbol=symbol)
    return store, broker, data

class MyStrategy(bt.Strategy):
    def next(self):
        if not self.position:
            self.buy(size=0.001)
        else:
            self.sell(size=0.001)
{print_state}
store, broker, data = create_newexchange_engine(
    "BTC/USDT", "1h", apikey="YOUR_API_KEY", secret="YOUR_SECRET", testnet=True
)
cerebro = bt.Cerebro()
cerebro.setbroker(broker)
cerebro.adddata(data)
cerebro.addstrategy(MyStrategy)
cerebro.run()
"""

LIVE_SCRIPTS = {
    "seed000_quick_start": SEED_000_QUICK_START,
    "seed001_create_engine": SEED_001_ENGINE,
    "seed004_live": SEED_004_LIVE,
    "seed002_new_exchange": SEED_002_NEW_EXCHANGE,
}


@dataclass
class Script:
    """One seed script running as a subprocess, its output collected by a reader thread."""

    name: str
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @classmethod
    def start(cls, name: str, code: str, folder: Path, sim_url: str) -> Script:
        """Write ``code`` to ``folder/name.py`` and run it with ``RT_SIM_URL`` set."""
        path = folder / f"{name}.py"
        path.write_text(code.replace("{print_state}", PRINT_STATE), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("RT_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["RT_SIM_URL"] = sim_url
        proc = subprocess.Popen(
            [sys.executable, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=folder,
        )
        script = cls(name, proc)
        assert proc.stdout is not None
        script.reader = threading.Thread(
            target=lambda: script.lines.extend(iter(proc.stdout.readline, "")),  # type: ignore[union-attr]
            daemon=True,
        )
        script.reader.start()
        return script

    @property
    def text(self) -> str:
        """Everything the script printed so far."""
        return "".join(self.lines)

    def finish(self) -> str:
        """Wait for the exit (killing it after the timeout) and return the whole output."""
        try:
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        assert self.reader is not None
        self.reader.join(10)
        return self.text


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """BTC/USDT with 20 days of history (seed 004's SMA(15) on daily bars), at 60x."""
    market = SyntheticMarket(("BTCUSDT",), seed=5, history_days=20, tick_ms=2000)
    with SimExchange(market=market, speed=60.0, seed=5) as exchange:
        yield exchange


def test_seed_scripts_end_cleanly_and_ctrl_c_stops_the_live_ones(
    sim: SimExchange, tmp_path: Path
) -> None:
    backtest = Script.start("seed004_backtest", SEED_004_BACKTEST, tmp_path, sim.url)
    live = [Script.start(n, code, tmp_path, sim.url) for n, code in LIVE_SCRIPTS.items()]
    try:
        for script in live:
            eventually(
                lambda s=script: "data: " in s.text or s.proc.poll() is not None,  # type: ignore[misc]
                TIMEOUT,
                message=f"{script.name} runs its live feed",
            )
            assert script.proc.poll() is None, f"{script.name} ended:\n{script.text[-3000:]}"
            script.proc.send_signal(signal.SIGINT)
        outputs = {s.name: s.finish() for s in [backtest, *live]}
    finally:
        for script in [backtest, *live]:
            if script.proc.poll() is None:
                script.proc.kill()
                script.proc.wait()
    for script in [backtest, *live]:
        text = outputs[script.name]
        assert script.proc.returncode == 0, (
            f"{script.name} exited {script.proc.returncode}:\n{text}"
        )
        assert "Traceback" not in text, f"{script.name}:\n{text[-3000:]}"
        assert_no_leak_warnings(text, script.name)
    assert "backtest done" in outputs["seed004_backtest"]
    for script in live:
        assert "SIGINT received: stopping gracefully" in outputs[script.name], script.name


def test_a_live_feed_turns_the_first_ctrl_c_into_a_graceful_stop_and_restores_the_handler(
    sim: SimExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    import backtrader as bt

    from real_trade.brokers import BinanceBroker
    from real_trade.feeds import BinanceData
    from real_trade.stores import BinanceStore

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("this test runner changed the SIGINT handler")
    monkeypatch.delenv("RT_SIM_URL", raising=False)

    class CtrlCOnFirstBar(bt.Strategy):
        def __init__(self) -> None:
            self.bars = 0
            self.stopped = False

        def next(self) -> None:
            self.bars += 1
            if self.bars == 1:
                signal.raise_signal(signal.SIGINT)  # as the user pressing Ctrl-C

        def stop(self) -> None:
            self.stopped = True

    store = BinanceStore(sim_url=sim.url)
    try:
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.setbroker(BinanceBroker(store, paper_trading=True))
        cerebro.adddata(BinanceData.from_timeframe_string("1h", store, symbol="BTC/USDT"))
        cerebro.addstrategy(CtrlCOnFirstBar)
        try:
            (strategy,) = cerebro.run()
        except KeyboardInterrupt:
            pytest.fail("Ctrl-C interrupted cerebro.run() instead of stopping it gracefully")
    finally:
        store.stop()
    assert strategy.bars >= 1 and strategy.stopped, "the run ended through the strategy's stop"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "handler restored"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_after_a_run_that_raised_ctrl_c_interrupts_again(
    sim: SimExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    import backtrader as bt

    from real_trade.feeds import BinanceData
    from real_trade.stores import BinanceStore

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("this test runner changed the SIGINT handler")
    monkeypatch.delenv("RT_SIM_URL", raising=False)

    class Crashes(bt.Strategy):
        def next(self) -> None:
            raise ZeroDivisionError("the strategy's own bug")

    store = BinanceStore(sim_url=sim.url)
    try:
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(BinanceData.from_timeframe_string("1h", store, symbol="BTC/USDT"))
        cerebro.addstrategy(Crashes)
        with pytest.raises(ZeroDivisionError):
            cerebro.run()  # the feed is never stopped: its handler stays installed
        with pytest.raises(KeyboardInterrupt):  # ... but hands Ctrl-C back to Python's own
            signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        store.stop()
