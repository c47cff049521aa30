"""Bybit v5's request signing: the ``X-BAPI-*`` headers and the receive window.

``X-BAPI-SIGN`` is the hex HMAC-SHA256, under the account's secret, of
``timestamp + api_key + recv_window + payload``, where the payload is the raw query string of a
GET and the JSON body of a POST. The request is accepted when
``server_time - recv_window <= timestamp < server_time + 1000``, where the server time is the
market clock or the wall clock (both plus the fault plan's skew): clients sign with the wall
clock, which a stepped or accelerated simulator's market clock is not (as the Binance face).
Refusals: 10003 (unknown API key), 10004 (bad signature), 10002 (timestamp outside the
window); ccxt raises ``AuthenticationError``, ``AuthenticationError`` and ``InvalidNonce``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from real_trade.sim.accounts import Account
from real_trade.sim.bybit.errors import BybitApiError
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.signing import hmac_hex

__all__ = ["DEFAULT_RECV_WINDOW_MS", "authenticate", "sign"]

DEFAULT_RECV_WINDOW_MS = 5000
"""The receive window when ``X-BAPI-RECV-WINDOW`` is absent (Bybit's default)."""


sign = hmac_hex
"""Hex HMAC-SHA256 of a text under a secret."""


def authenticate(ctx: FaceContext, headers: Mapping[str, str], payload: str) -> Account:
    """The account a signed v5 request belongs to; :class:`BybitApiError` when refused."""
    key = headers.get("X-BAPI-API-KEY", "")
    account = ctx.core.account_by_key(key) if key else None
    if account is None:
        raise BybitApiError(10003, "API key is invalid.", 401)
    ts_raw = headers.get("X-BAPI-TIMESTAMP", "")
    window_raw = headers.get("X-BAPI-RECV-WINDOW", str(DEFAULT_RECV_WINDOW_MS))
    try:
        ts, window = int(ts_raw), int(window_raw)
    except ValueError:
        raise BybitApiError(10001, "params error: X-BAPI-TIMESTAMP or recv_window") from None
    server = ctx.server_time_ms()
    wall = ctx.wall_time_ms()
    if not any(now - window <= ts < now + 1000 for now in (server, wall)):
        raise BybitApiError(
            10002,
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{ts}],server_timestamp[{server}],recv_window[{window}]",
        )
    expected = sign(account.secret, f"{ts_raw}{key}{window_raw}{payload}")
    if not hmac.compare_digest(expected, headers.get("X-BAPI-SIGN", "")):
        raise BybitApiError(10004, "error sign! please check your signature generation algorithm.")
    return account
