"""``SimExchange``: lifecycle, loopback-only binding, modes, markets and clean shutdown."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import ccxt
import pytest

from real_trade.sim.market_synthetic import SyntheticMarket
from real_trade.sim.server import SimExchange
from tests.support import eventually

pytestmark = pytest.mark.integration


def get_json(url: str) -> object:
    """GET ``url`` and decode its JSON."""
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def test_port_zero_picks_a_free_port_and_stop_releases_it() -> None:
    sim = SimExchange(stepped=True)
    sim.start()
    try:
        assert sim.port > 0 and sim.running
        assert sim.url == f"http://127.0.0.1:{sim.port}"
        assert sim.ws_url == f"ws://127.0.0.1:{sim.port}"
        assert get_json(sim.url + "/api/v3/ping") == {}
        with pytest.raises(RuntimeError):
            sim.start()
    finally:
        sim.stop()
    assert not sim.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", sim.port), timeout=2):
        pass
    sim.stop()  # idempotent


def test_two_simulators_side_by_side() -> None:
    with SimExchange(stepped=True, seed=1) as a, SimExchange(stepped=True, seed=2) as b:
        assert a.port != b.port
        key_a, _ = a.create_account({"USDT": 1})
        key_b, _ = b.create_account({"USDT": 1})
        assert a.core.account_by_key(key_b) is None and b.core.account_by_key(key_a) is None


def test_non_loopback_host_is_refused() -> None:
    with pytest.raises(ValueError, match="loopback"):
        SimExchange(host="0.0.0.0")
    SimExchange(host="localhost")  # accepted without starting


def test_busy_port_fails_to_start_with_a_clear_error() -> None:
    with SimExchange(stepped=True) as first:
        second = SimExchange(port=first.port, stepped=True)
        with pytest.raises(RuntimeError, match="failed to start"):
            second.start()


def test_repr_shows_no_credentials() -> None:
    with SimExchange(stepped=True) as sim:
        key, secret = sim.create_account({"USDT": 5})
        text = repr(sim) + repr(sim.core.account_by_key(key))
        assert secret not in text and sim.url in text


def test_real_time_mode_pumps_the_market_by_itself() -> None:
    with SimExchange(speed=1.0) as sim:
        assert abs(sim.clock.now_ms() - get_json(sim.url + "/api/v3/time")["serverTime"]) < 60_000  # type: ignore[index]
        first = sim.core.recent_trades("BTCUSDT", 1)
        eventually(
            lambda: sim.core.recent_trades("BTCUSDT", 1) != first, 10, message="no new trade"
        )


def test_accelerated_mode_builds_closed_bars() -> None:
    with SimExchange(speed=600.0, seed=4) as sim:
        start = sim.clock.now_ms()
        ex = ccxt.binance(sim.ccxt_config())
        eventually(lambda: sim.clock.now_ms() - start > 3 * 60_000, 10)
        bars = ex.fetch_ohlcv("BTC/USDT", "1m", since=start - start % 60_000, limit=10)
        assert len(bars) >= 3
        assert all(b[5] > 0 for b in bars[:2])  # closed bars built from the core's trades


def test_market_source_object_and_stepped_advance() -> None:
    market = SyntheticMarket(["ETHUSDT"], seed=12, start_ms=1_700_000_040_000)
    with SimExchange(market=market, stepped=True) as sim:
        assert sim.core.symbols() == ["ETHUSDT"]
        assert sim.clock.now_ms() == market.start_ms()
        ticks = sim.advance(10)
        assert ticks > 0 and sim.clock.now_ms() == market.start_ms() + 10_000
        with pytest.raises(ValueError):
            SimExchange(speed=2.0).advance(1)


def test_replayed_candle_file(tmp_path: Path) -> None:
    path = tmp_path / "binanceus_BTCUSDT_1m.csv"
    lines = ["open_time,open,high,low,close,volume"]
    start = 1_700_000_040_000
    for i in range(30):
        o = 100 + i
        lines.append(f"{start + i * 60_000},{o}.00,{o + 2}.00,{o - 1}.00,{o + 1}.00,5.000")
    path.write_text("\n".join(lines) + "\n")
    with SimExchange(market=str(path), stepped=True, start_ms=start + 10 * 60_000) as sim:
        ex = ccxt.binance(sim.ccxt_config())
        history = ex.fetch_ohlcv("BTC/USDT", "1m", since=start, limit=10)
        assert [b[1] for b in history] == [100.0 + i for i in range(10)]
        assert [b[5] for b in history] == [5.0] * 10
        sim.advance(5 * 60)
        played = ex.fetch_ohlcv("BTC/USDT", "1m", since=start + 10 * 60_000, limit=5)
        assert [int(b[0]) for b in played] == [start + (10 + i) * 60_000 for i in range(5)]
        assert all(b[5] > 0 and 108.0 <= b[3] <= b[2] <= 117.0 for b in played)


def test_clean_shutdown_has_no_warnings() -> None:
    code = textwrap.dedent(
        """
        import warnings, gc, ccxt
        warnings.simplefilter("error")
        from real_trade.sim.server import SimExchange
        with SimExchange(speed=1.0) as sim:
            key, secret = sim.create_account({"USDT": 100})
            ex = ccxt.binance(sim.ccxt_config(key, secret))
            ex.fetch_balance()
            sim.faults.ambiguous_next(1, "disconnect")
            try:
                ex.create_order("BTC/USDT", "limit", "buy", 0.001, 10000)
            except ccxt.NetworkError:
                pass
        gc.collect()
        print("clean")
        """
    )
    out = subprocess.run(
        [sys.executable, "-X", "dev", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[3],
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "clean"
    for bad in ("Task was destroyed", "Unclosed", "never awaited", "Traceback", "Error"):
        assert bad not in out.stderr, out.stderr
