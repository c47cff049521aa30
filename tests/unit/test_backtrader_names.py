"""After ``import real_trade`` backtrader's namespaces know real_trade's classes (seed 004).

Each case runs in a fresh interpreter, because the point is what happens at import time, in
either import order, and that nothing heavy is imported until a name is used.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

_CHECK = """
import sys
{imports}
assert 'ccxt' not in sys.modules, 'registration imported ccxt eagerly'
from real_trade import stores, brokers, feeds
assert bt.stores.BinanceStore is stores.BinanceStore
assert bt.brokers.BinanceBroker is brokers.BinanceBroker
assert bt.feeds.BinanceData is feeds.BinanceData
assert bt.stores.OKXStore is stores.OKXStore and bt.feeds.BybitData is feeds.BybitData
assert bt.feeds.PandasData.__module__.startswith('backtrader')   # backtrader's own names intact
try:
    bt.stores.NoSuchStore
except AttributeError as exc:
    assert 'NoSuchStore' in str(exc)
else:
    raise AssertionError('unknown names must still raise AttributeError')
print('ok')
"""


@pytest.mark.parametrize(
    "imports",
    [
        "import real_trade\nimport backtrader as bt",
        "import backtrader as bt\nimport real_trade",
    ],
    ids=["real_trade-first", "backtrader-first"],
)
def test_backtrader_namespaces_resolve_real_trade_classes(imports: str) -> None:
    code = _CHECK.format(imports=imports)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
