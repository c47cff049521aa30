"""The ccxt ``exceptions`` setting that makes a client of the simulator map errors as on the venue.

ccxt's ``binance`` (and ``binanceusdm``) keeps one error table per market family (``spot``,
``linear``, ``inverse``, ``option``, ``portfolioMargin``) besides its common one, and picks the
family's table by the request URL's host (``binance.get_exceptions_by_url``: ``https://api.``,
``https://fapi.``, ``https://dapi.`` + its ``hostname``, and the testnet and demo hosts). The
simulator is ``http://127.0.0.1:<port>/...``: no family matches, only the common table applies,
and codes the common table lacks (USD-M's -2019, -2022, -4164, -4116, -4120) arrive as a bare
``ExchangeError``, while codes a family overrides (spot's -1004, -1108) get the common class.

:func:`ccxt_exceptions_for` returns the family's tables as a ccxt ``exceptions`` setting; ccxt
deep-extends a config's ``exceptions`` into the class's own, so the family's entries override the
common ones exactly as the URL lookup, which ccxt consults first, does on the real hosts. The
family is the client's: its ``defaultType`` (``spot``/``margin`` -> ``spot``, ``future``/
``swap`` -> ``linear``, ``delivery`` -> ``inverse``), the family of the markets it loads and the
requests it trades with (a rare call to another family's path, such as a futures client's
``sapi`` currencies, is mapped with the client's family, not that path's). The families' ``broad``
tables (message fragments) are empty in ccxt today; were one not, a message matching a common
fragment too would pick the common class first, where the real host picks the family's. One
known difference remains: ccxt.pro's WebSocket API answers (``create_order_ws`` and kin) pass
the ``wss://`` URL, which matches no family on the real host either, so there they get the
common table only, and here the family's too; of the codes the simulator sends, that changes
-1008, -1099, -1131, -1135, -2022, -4048 and -4061 (ccxt's spot table overrides them).

Bybit needs nothing: ccxt's ``bybit`` uses one table whatever the host (its URL only words one
message), so ``{}`` is returned for it, as for any venue the simulator does not speak.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["ccxt_exceptions_for"]

# ccxt ``defaultType`` -> the family ccxt's binance picks by host for that client's requests.
_BINANCE_FAMILIES: dict[str, str] = {
    "spot": "spot",
    "margin": "spot",
    "future": "linear",
    "swap": "linear",
    "delivery": "inverse",
    "option": "option",
}


@functools.cache
def _binance_family_tables(family: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """ccxt's ``exact`` and ``broad`` tables of one Binance market family (read once)."""
    import ccxt

    tables = ccxt.binance().exceptions.get(family) or {}
    return dict(tables.get("exact") or {}), dict(tables.get("broad") or {})


def ccxt_exceptions_for(venue: str = "binance", default_type: str = "spot") -> dict[str, Any]:
    """The ccxt ``exceptions`` config for a ``venue`` client of the simulator (see the module).

    ``venue`` is the ccxt id the simulator speaks (``"binance"``, ``"bybit"``), ``default_type``
    the client's ccxt ``defaultType``. Put the result under ``"exceptions"`` in the ccxt config
    (an empty dict changes nothing). A fresh dict each call: ccxt may keep it.
    """
    if venue != "binance":
        return {}
    family = _BINANCE_FAMILIES.get(default_type, "spot")
    exact, broad = _binance_family_tables(family)
    return {"exact": dict(exact), "broad": dict(broad)}
