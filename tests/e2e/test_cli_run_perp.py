"""``real-trade run CONFIG.toml`` on the perpetual ``BTC/USDT:USDT``, as an operator runs it.

The config names a contract symbol and a ``[derivatives]`` section; the simulator serves the
Binance USDⓈ-M face. Paper: a buy then a sell. Testnet: a short then its reduce-only cover, with
leverage and margin mode set on the simulated account and the journal's last snapshot equal to
the simulator's futures wallet.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from real_trade.sim import SimExchange
from tests.e2e.test_cli_run import run_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def sim() -> Iterator[SimExchange]:
    with SimExchange(speed=240.0, seed=21, faces=["binance", "binance_futures"]) as exchange:
        yield exchange


def write_config(
    tmp_path: Path, sim: SimExchange, strategy: str, key: tuple[str, str] | None = None
) -> Path:
    """A run of ``strategy`` on BTC/USDT:USDT, 3x isolated; testnet when ``key`` is given."""
    keys = f'apikey = "{key[0]}"\nsecret = "{key[1]}"\n' if key else ""
    text = f"""
exchange = "binance"
symbol = "BTC/USDT:USDT"
timeframe = "1m"
paper_trading = {"false" if key else "true"}
testnet = {"true" if key else "false"}
sim_url = "{sim.url}"
{keys}
[run]
strategy = "tests.e2e.cli_strategies:{strategy}"
name = "perp-cli"
history_bars = 8

[run.params]
size = 0.01

[derivatives]
leverage = 3

[derivatives.symbols."BTC/USDT:USDT"]
margin_mode = "isolated"

[journal]
url = "sqlite:///{tmp_path / "journal.db"}"

[logging]
level = "WARNING"
"""
    path = tmp_path / "perp.toml"
    path.write_text(text, encoding="utf-8")
    return path


def last_snapshot(tmp_path: Path) -> tuple[float, str]:
    with sqlite3.connect(tmp_path / "journal.db") as db:
        cash, positions = db.execute(
            "select cash, positions from snapshots order by id desc limit 1"
        ).fetchone()
    return float(cash), str(positions)


def test_paper_run_on_the_perpetual_buys_then_sells(sim: SimExchange, tmp_path: Path) -> None:
    out = run_cli(str(write_config(tmp_path, sim, "FlipOnLiveBars")), "--max-bars", "4")
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert "venue      binance (simulator" in out.stdout and ", future" in out.stdout
    assert "contract   BTC/USDT:USDT: 3x, isolated" in out.stdout
    assert "] fill  #1 BUY 0.01 BTC/USDT:USDT" in out.stdout
    assert "] fill  #2 SELL 0.01 BTC/USDT:USDT" in out.stdout
    assert "Traceback" not in text


def test_testnet_run_goes_short_and_covers_reduce_only(sim: SimExchange, tmp_path: Path) -> None:
    key = sim.create_account({}, futures_balances={"USDT": 10_000.0})
    out = run_cli(str(write_config(tmp_path, sim, "ShortThenCover", key)), "--max-bars", "4")
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert "mode       TESTNET" in out.stdout
    assert "] fill  #1 SELL 0.01 BTC/USDT:USDT" in out.stdout
    core = sim.futures_core
    account = core.account_by_key(key[0])
    assert account is not None
    settings = core.contract_settings(account, "BTCUSDT")
    assert (settings.leverage, settings.margin_mode.value) == (3, "isolated")
    orders = core.all_orders(account, "BTCUSDT")
    assert orders[0].side.value == "sell" and not orders[0].reduce_only
    assert any(o.reduce_only and o.side.value == "buy" for o in orders), "close() reduce-only"
    views = core.positions(account, "BTCUSDT")
    held = float(views[0].qty) if views else 0.0
    cash, positions = last_snapshot(tmp_path)
    assert cash == pytest.approx(float(core.margin_summary(account, "USDT").wallet_balance))
    assert json.loads(positions)["BTC/USDT:USDT"] == pytest.approx(held)
    assert key[1] not in text
