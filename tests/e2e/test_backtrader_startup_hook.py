"""Seed 004 as written: ``import backtrader as bt`` alone gives ``bt.stores.BinanceStore`` & co.

The package ships ``real_trade_backtrader_hook.pth``; Python runs it at start and it installs
``_real_trade_backtrader_hook``. Each case runs in a fresh interpreter that processes the
repository's ``.pth`` as site-packages would (``site.addsitedir``), so it tests the shipped file
whatever this environment has installed; the last case checks the installed environment itself
when it was installed from this checkout (``pip install -e ".[dev]"``, as CI does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from real_trade.sim import SimExchange, SyntheticMarket

ROOT = Path(__file__).resolve().parents[2]
PTH = "real_trade_backtrader_hook.pth"

# What a user's script does, after site-packages (here: a copy of the shipped .pth) is processed.
_SEED_004 = """
import site, sys
before = set(sys.modules)
site.addsitedir({site_dir!r})
loaded = set(sys.modules) - before - {{'_real_trade_backtrader_hook'}}
assert not loaded, f'the startup hook imported {{sorted(loaded)}}'
assert 'backtrader' not in sys.modules and 'real_trade' not in sys.modules

import backtrader as bt

assert 'ccxt' not in sys.modules, 'importing backtrader imported ccxt'
store = bt.stores.BinanceStore(apikey="", secret="", testnet=True)
data = store.getdata(dataname="BTCUSDT")
broker = bt.brokers.BinanceBroker(store)
feed = bt.feeds.BinanceData(store, symbol="BTC/USDT", timeframe=bt.TimeFrame.Days,
                            compression=1, historical=True)
import real_trade.brokers, real_trade.feeds, real_trade.stores
assert type(store) is real_trade.stores.BinanceStore
assert isinstance(data, real_trade.feeds.BinanceData) and data.p.symbol == 'BTC/USDT'
assert type(broker) is real_trade.brokers.BinanceBroker
assert type(feed) is real_trade.feeds.BinanceData
assert bt.feeds.PandasData.__module__.startswith('backtrader')
store.stop()
print('ok')
"""

_SWITCHED_OFF = """
import site, sys
site.addsitedir({site_dir!r})
import backtrader as bt
try:
    bt.stores.BinanceStore
except AttributeError:
    pass
else:
    raise AssertionError('RT_NO_BT_HOOK=1 left the hook on')
assert 'real_trade' not in sys.modules
import real_trade  # the explicit way still works
assert bt.stores.BinanceStore.__module__.startswith('real_trade')
print('ok')
"""

_BROKEN_REAL_TRADE = """
import site, sys
site.addsitedir({site_dir!r})
import backtrader as bt
assert bt.Cerebro is not None
try:
    bt.stores.BinanceStore
except AttributeError:
    print('ok')
"""


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding a copy of the shipped ``.pth``, processed like site-packages."""
    directory = tmp_path_factory.mktemp("site")
    shutil.copy(ROOT / PTH, directory / PTH)
    return directory


@pytest.fixture(scope="module")
def sim() -> Iterator[SimExchange]:
    """A small simulator for ``store.getdata`` (it loads the venue's markets)."""
    market = SyntheticMarket(("BTCUSDT",), seed=4, history_days=1, tick_ms=5000)
    with SimExchange(market=market, seed=4) as exchange:
        yield exchange


def _run(code: str, env_extra: dict[str, str], pythonpath: list[Path] | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RT_")}
    paths = [str(p) for p in (pythonpath or [ROOT])]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*paths, env.get("PYTHONPATH")]))
    env.update(env_extra)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=str(ROOT.parent),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_seed_004_names_resolve_with_only_import_backtrader(
    site_dir: Path, sim: SimExchange
) -> None:
    out = _run(_SEED_004.format(site_dir=str(site_dir)), {"RT_SIM_URL": sim.url})
    assert out.strip().endswith("ok")


def test_RT_NO_BT_HOOK_switches_the_startup_hook_off(site_dir: Path) -> None:
    out = _run(_SWITCHED_OFF.format(site_dir=str(site_dir)), {"RT_NO_BT_HOOK": "1"})
    assert out.strip() == "ok"


def test_backtrader_still_imports_when_real_trade_cannot(site_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "real_trade"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('broken on purpose')\n")
    shutil.copy(ROOT / "_real_trade_backtrader_hook.py", tmp_path)
    out = _run(_BROKEN_REAL_TRADE.format(site_dir=str(site_dir)), {}, pythonpath=[tmp_path])
    assert out.strip() == "ok"


def _installed_from_this_checkout() -> metadata.Distribution | None:
    # The installed one has a direct_url.json; an egg-info the build left in the checkout has not.
    for dist in metadata.distributions(name="real_trade"):
        direct_url = dist.read_text("direct_url.json")
        if direct_url and json.loads(direct_url).get("url", "").rstrip("/") == ROOT.as_uri():
            return dist
    return None


def test_the_installed_package_ships_the_startup_hook() -> None:
    dist = _installed_from_this_checkout()
    if dist is None:
        pytest.skip("real_trade is not installed from this checkout (pip install -e .)")
    shipped = {str(f) for f in dist.files or []}
    assert PTH in shipped, (
        f"the installed real_trade has no {PTH}: reinstall it (pip install -e '.[dev]')"
    )
    code = (
        "import sys, backtrader as bt\n"
        "assert 'ccxt' not in sys.modules\n"
        "assert bt.stores.BinanceStore.__module__.startswith('real_trade')\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RT_")}
    env.pop("PYTHONPATH", None)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"
