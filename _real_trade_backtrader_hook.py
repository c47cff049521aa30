"""Startup hook: ``import backtrader as bt`` alone makes ``bt.stores.BinanceStore`` & co. work.

Seed 004 writes real_trade's classes as backtrader's own (``bt.stores.BinanceStore``,
``bt.feeds.BinanceData``, ``bt.brokers.BinanceBroker``) with no ``import real_trade``. Installing
real_trade (``pip install .`` or ``pip install -e .``) puts ``real_trade_backtrader_hook.pth`` in
site-packages; Python runs its one line at every start, which calls :func:`install` here.

:func:`install` only puts a tiny finder at the front of ``sys.meta_path``: it imports nothing but
``os`` and ``sys`` (both loaded before ``site`` runs) and never imports backtrader, ccxt or
real_trade. The first time ``backtrader`` itself is imported, the finder removes itself and hands
over to :mod:`real_trade.backtrader_names`, which registers the names lazily once backtrader has
loaded. Any other import is untouched; a broken real_trade never breaks ``import backtrader``.

Set ``RT_NO_BT_HOOK=1`` (or ``true``/``yes``/``on``) to switch the hook off; ``import real_trade``
still registers the names then.
"""

import os
import sys

# Neither typing nor __future__ is imported: every import here costs startup time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = ["ENV_VAR", "install", "is_disabled", "uninstall"]

#: Environment variable that switches the startup hook off.
ENV_VAR = "RT_NO_BT_HOOK"


def is_disabled() -> bool:
    """Whether ``RT_NO_BT_HOOK`` asks for the hook to stay off (1, true, yes, on)."""
    return os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")


class _BacktraderFinder:
    """Meta-path finder that answers only for ``backtrader``, once."""

    def find_spec(
        self,
        fullname: str,
        path: "Sequence[str] | None" = None,
        target: "ModuleType | None" = None,
    ) -> "ModuleSpec | None":
        """For ``backtrader``: its spec with real_trade's names registered after it loads."""
        if fullname != "backtrader":
            return None
        uninstall()
        try:
            from real_trade.backtrader_names import find_backtrader_spec
        except Exception:  # real_trade unusable: backtrader must still import as usual
            return _plain_spec(fullname, path, target)
        return find_backtrader_spec(path, target)

    def __repr__(self) -> str:
        return "<real_trade backtrader-names startup hook>"


def _plain_spec(
    fullname: str, path: "Sequence[str] | None", target: "ModuleType | None"
) -> "ModuleSpec | None":
    # The import system iterates sys.meta_path live; having removed ourselves we ask the
    # others here, so that no finder is skipped.
    for finder in list(sys.meta_path):
        find = getattr(finder, "find_spec", None)
        if find is not None:
            spec = find(fullname, path, target)
            if spec is not None:
                return spec
    return None


_finder: "_BacktraderFinder | None" = None


def install() -> None:
    """Put the finder first on ``sys.meta_path`` unless switched off or backtrader is loaded."""
    global _finder
    if _finder is not None or is_disabled() or "backtrader" in sys.modules:
        return
    _finder = _BacktraderFinder()
    sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    """Take the finder off ``sys.meta_path`` (idempotent)."""
    global _finder
    if _finder is not None and _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    _finder = None
