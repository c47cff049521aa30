"""Seeds 000/001's ``GlobalConfig``: from the environment, from a JSON file, by hand.

The seed's three ways of making a configuration, as written: ``GlobalConfig.from_env("RT_")``
(``RT_SYMBOL``, ``RT_TIMEFRAME``, ``RT_INITIAL_CASH``, ...), ``GlobalConfig.from_json(
"config.json")`` and ``GlobalConfig(exchange=..., apikey=..., ...)``. Each is printed with its
secrets masked. Beyond the seed, the script shows that a bad value is refused with an error
naming the field, and runs a short SMA-cross backtest on the environment's configuration
through ``create_engine``.

``config.json`` is read from the current directory; when there is none, the script writes a
sample one in a temporary directory and reads that. Offline: without RT_SIM_URL it starts the
exchange simulator in this process (one printed line says so).

    RT_TIMEFRAME=4h RT_INITIAL_CASH=5000 python examples/global_config.py
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import _harness
import backtrader as bt

from real_trade.common.engine_factory import create_engine
from real_trade.errors import ConfigError
from real_trade.strategies import SmaCross
from real_trade.utils.config import GlobalConfig

SAMPLE_CONFIG = {
    "exchange": "binance",
    "testnet": True,
    "symbol": "BTC/USDT",
    "timeframe": "4h",
    "paper_trading": True,
    "initial_cash": 5000.0,
    "commission": 0.00075,
}


@contextlib.contextmanager
def config_json_here() -> Iterator[Path]:
    """Yield the directory holding ``config.json``: the current one, else a temporary sample."""
    if Path("config.json").is_file():
        yield Path.cwd()
        return
    previous = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="real_trade_config_") as folder:
        Path(folder, "config.json").write_text(json.dumps(SAMPLE_CONFIG, indent=2))
        print(f"no config.json here: wrote a sample to {folder}/config.json")
        os.chdir(folder)
        try:
            yield Path(folder)
        finally:
            os.chdir(previous)


def describe(source: str, config: GlobalConfig) -> None:
    """Print the fields the seed shows, secrets masked as the config itself masks them."""
    shown = config.to_dict()
    print(
        f"{source}: {config.trading_mode} trading on {config.exchange}"
        f"{' testnet' if config.testnet else ''}, {config.symbol} {config.timeframe}, "
        f"cash {config.initial_cash:,.2f}, commission {config.commission:.4%}, "
        f"apikey {shown['apikey']}, secret {shown['secret']}"
    )


def main() -> int:
    """Load the three configurations, show a refused one, backtest the environment's one."""
    args = _harness.parse_args(__doc__, live=False)
    _harness.ensure_simulator(args.speed, history_days=10)

    # ---- seeds 000/001, GlobalConfig, as written ----
    # 从环境变量加载配置 (from the environment)
    config = GlobalConfig.from_env("RT_")
    describe("from_env", config)
    env_config = config

    # 从JSON文件加载配置 (from a JSON file)
    with config_json_here():
        config = GlobalConfig.from_json("config.json")
    describe("from_json", config)

    # 手动创建配置 (by hand)
    config = GlobalConfig(
        exchange="binance",
        apikey="your_api_key",
        secret="your_secret",
        testnet=True,
        symbol="BTC/USDT",
        timeframe="1h",
        paper_trading=True,
        initial_cash=10000.0,
        commission=0.001,
    )
    describe("by hand", config)
    print(f"repr: {config!r}")

    # ---- beyond the seed: bad values are refused, naming the field and the fix ----
    try:
        GlobalConfig(timeframe="2x")
    except ConfigError as exc:
        print(f"refused (field {exc.field!r}): {exc}")

    # ---- beyond the seed: a backtest driven by the environment's configuration ----
    _store, broker, data = create_engine(
        env_config.exchange,
        env_config.apikey,
        env_config.secret,
        symbol=env_config.symbol,
        timeframe=env_config.timeframe,
        testnet=env_config.testnet,
        paper_trading=env_config.paper_trading,
        backtest=True,
        market_type=env_config.market_type,
    )
    broker.setcash(env_config.initial_cash)
    broker.setcommission(commission=env_config.commission)
    cerebro = bt.Cerebro()
    cerebro.setbroker(broker)
    cerebro.adddata(data)
    cerebro.addstrategy(SmaCross, fast=5, slow=20, size=0.01)
    _harness.watch(cerebro)
    cerebro.run()
    print(f"Final portfolio value: {cerebro.broker.getvalue():.2f}")
    return _harness.exit_code(cerebro)


if __name__ == "__main__":
    sys.exit(main())
