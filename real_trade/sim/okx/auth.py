"""OKX v5's request signing: the ``OK-ACCESS-*`` headers, the passphrase and the time window.

``OK-ACCESS-SIGN`` is the base64 HMAC-SHA256, under the account's secret, of
``timestamp + METHOD + request_path(+?query) + body``, where the timestamp is the
``OK-ACCESS-TIMESTAMP`` header (ISO 8601 with milliseconds and ``Z``). The passphrase
(``OK-ACCESS-PASSPHRASE``) is the face's (one for every key: the core's accounts have none).
A request more than 30 s away from the server's time (market or wall clock, both plus the
fault plan's skew, as the Bybit face) is refused. Refusals: 50111 (unknown key), 50105
(passphrase), 50113 (signature), 50102 (timestamp); ccxt raises ``AuthenticationError`` for the
first three and ``InvalidNonce`` for the last.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime

from real_trade.sim.accounts import Account
from real_trade.sim.okx.errors import OkxApiError
from real_trade.sim.plumbing.context import FaceContext
from real_trade.sim.plumbing.signing import hmac_base64

__all__ = ["DEFAULT_PASSPHRASE", "SKEW_LIMIT_MS", "authenticate", "parse_iso_ms", "sign"]

DEFAULT_PASSPHRASE = "sim-passphrase"  # noqa: S105 - the simulator's public default
"""The passphrase of every key unless the face is given another."""

SKEW_LIMIT_MS = 30_000
"""How far a request's timestamp may be from the server's time."""


sign = hmac_base64
"""Base64 HMAC-SHA256 of a text under a secret."""


def parse_iso_ms(text: str) -> int:
    """Milliseconds of an ISO-8601 timestamp such as ``2024-01-01T00:00:00.000Z``."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def in_window(ctx: FaceContext, ts_ms: int) -> bool:
    """Whether ``ts_ms`` is within :data:`SKEW_LIMIT_MS` of the market or the wall clock."""
    wall = ctx.wall_time_ms()
    return any(abs(ts_ms - now) <= SKEW_LIMIT_MS for now in (ctx.server_time_ms(), wall))


def authenticate(
    ctx: FaceContext, headers: Mapping[str, str], prehash_tail: str, passphrase: str
) -> Account:
    """The account a signed request belongs to; :class:`OkxApiError` when refused.

    ``prehash_tail`` is ``METHOD + path(+?query) + body``.
    """
    key = headers.get("OK-ACCESS-KEY", "")
    account = ctx.core.account_by_key(key) if key else None
    if account is None:
        raise OkxApiError(50111, "Invalid OK-ACCESS-KEY", 401)
    if not hmac.compare_digest(headers.get("OK-ACCESS-PASSPHRASE", ""), passphrase):
        raise OkxApiError(50105, "Invalid OK-ACCESS-PASSPHRASE", 401)
    ts_raw = headers.get("OK-ACCESS-TIMESTAMP", "")
    try:
        ts = parse_iso_ms(ts_raw)
    except ValueError:
        raise OkxApiError(50112, "Invalid OK-ACCESS-TIMESTAMP", 401) from None
    if not in_window(ctx, ts):
        raise OkxApiError(50102, "Timestamp request expired", 401)
    expected = sign(account.secret, ts_raw + prehash_tail)
    if not hmac.compare_digest(expected, headers.get("OK-ACCESS-SIGN", "")):
        raise OkxApiError(50113, "Invalid Sign", 401)
    return account
