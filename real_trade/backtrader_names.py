"""backtrader-native names: ``bt.stores.BinanceStore``, ``bt.feeds.BinanceData`` and friends.

Seed 004 shows real_trade's classes under backtrader's own namespaces. ``import real_trade``
makes those names resolve without importing backtrader, ccxt or pandas itself: when backtrader
is already imported, its ``stores``/``brokers``/``feeds`` modules get a module-level
``__getattr__`` (PEP 562) that imports the real class on first use; when backtrader is imported
later, a one-shot import hook does the same right after backtrader finishes loading. Names
backtrader defines itself are never shadowed.

Installing the package also ships a startup hook (``real_trade_backtrader_hook.pth`` running
``_real_trade_backtrader_hook``) so that ``import backtrader as bt`` alone is enough, as seed
004 writes it; ``RT_NO_BT_HOOK=1`` switches that hook off (``import real_trade`` still works).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

__all__ = ["BACKTRADER_NAMES", "find_backtrader_spec", "install"]

#: backtrader sub-namespace -> {name: real_trade module that defines it}
BACKTRADER_NAMES: dict[str, dict[str, str]] = {
    "stores": {
        "BaseStore": "real_trade.stores",
        "BinanceStore": "real_trade.stores",
        "BybitStore": "real_trade.stores",
        "OKXStore": "real_trade.stores",
        "CCXTStore": "real_trade.stores",
    },
    "brokers": {
        "BaseBroker": "real_trade.brokers",
        "BinanceBroker": "real_trade.brokers",
        "BybitBroker": "real_trade.brokers",
        "OKXBroker": "real_trade.brokers",
        "CCXTBroker": "real_trade.brokers",
    },
    "feeds": {
        "BaseData": "real_trade.feeds",
        "BinanceData": "real_trade.feeds",
        "BybitData": "real_trade.feeds",
        "OKXData": "real_trade.feeds",
        "CCXTData": "real_trade.feeds",
    },
}

_lock = threading.Lock()
_hook: _BacktraderImportHook | None = None


def _lazy_getattr(namespace: str, fallback: Callable[[str], Any] | None) -> Callable[[str], Any]:
    names = BACKTRADER_NAMES[namespace]

    def resolve(name: str) -> Any:
        module_path = names.get(name)
        if module_path is None:
            if fallback is not None:
                return fallback(name)
            raise AttributeError(f"module 'backtrader.{namespace}' has no attribute {name!r}")
        value = getattr(importlib.import_module(module_path), name)
        return value

    resolve.__real_trade__ = True  # type: ignore[attr-defined]
    return resolve


def _patch(backtrader: ModuleType) -> None:
    for namespace in BACKTRADER_NAMES:
        module = getattr(backtrader, namespace, None)
        if module is None:
            module = importlib.import_module(f"backtrader.{namespace}")
        current = module.__dict__.get("__getattr__")
        if getattr(current, "__real_trade__", False):
            continue
        module.__getattr__ = _lazy_getattr(namespace, current)  # type: ignore[method-assign]


class _PatchingLoader(importlib.abc.Loader):
    """Wraps backtrader's own loader and patches the module once it has executed."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        _patch(module)


class _BacktraderImportHook(importlib.abc.MetaPathFinder):
    """A one-shot finder: when ``backtrader`` is imported, patch it right after it loads."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "backtrader":
            return None
        return find_backtrader_spec(path, target)


def find_backtrader_spec(
    path: Sequence[str] | None = None, target: ModuleType | None = None
) -> importlib.machinery.ModuleSpec | None:
    """Find ``backtrader``'s spec with a loader that registers the names once it has loaded.

    Asks the other finders on ``sys.meta_path`` (the one-shot hook is removed first); used by
    the finder here and by the startup hook ``_real_trade_backtrader_hook`` installed with the
    package. ``None`` when backtrader is not installed.
    """
    _remove_hook()
    spec = None
    for finder in list(sys.meta_path):
        find = getattr(finder, "find_spec", None)
        if find is not None:
            spec = find("backtrader", path, target)
            if spec is not None:
                break
    if spec is None or spec.loader is None:
        return spec
    spec.loader = _PatchingLoader(spec.loader)
    return spec


def _remove_hook() -> None:
    global _hook
    with _lock:
        if _hook is not None and _hook in sys.meta_path:
            sys.meta_path.remove(_hook)
        _hook = None


def install() -> None:
    """Make the backtrader-native names resolve, now or when backtrader gets imported.

    Idempotent and cheap: imports nothing heavy itself.
    """
    global _hook
    backtrader = sys.modules.get("backtrader")
    if backtrader is not None and hasattr(backtrader, "feeds"):
        _patch(backtrader)
        return
    with _lock:
        if _hook is None:
            _hook = _BacktraderImportHook()
            sys.meta_path.insert(0, _hook)
