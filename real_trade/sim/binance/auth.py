"""Binance's request authentication: HMAC-SHA256 signatures and the timestamp/recvWindow rule.

A signed request carries ``timestamp`` (ms), optionally ``recvWindow`` (ms, default 5000, at
most 60000) and ``signature``: the hex HMAC-SHA256, keyed by the secret, of the query string
concatenated with the request body (without the ``signature`` parameter itself). The server
accepts it when ``timestamp < server_time + 1000`` and ``server_time - timestamp <=
recvWindow``; otherwise it answers -1021 with one of Binance's two messages.
"""

from __future__ import annotations

import hmac
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING
from urllib.parse import unquote

from real_trade.sim.binance.errors import (
    BinanceApiError,
    bad_api_key_format,
    illegal_chars,
    invalid_api_key,
    mandatory_missing,
)
from real_trade.sim.plumbing.signing import hmac_hex

if TYPE_CHECKING:
    from real_trade.sim.accounts import Account
    from real_trade.sim.plumbing.context import FaceContext

__all__ = [
    "API_KEY_RE",
    "DEFAULT_RECV_WINDOW_MS",
    "MAX_RECV_WINDOW_MS",
    "authenticate",
    "check_request_time",
    "check_timestamp",
    "sign",
    "verify_signature",
]

DEFAULT_RECV_WINDOW_MS = 5000
"""The recvWindow Binance assumes when a signed request sends none."""
MAX_RECV_WINDOW_MS = 60_000
"""The largest recvWindow Binance accepts."""
_AHEAD_MS = 1000
API_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
"""The API keys the simulator accepts: Binance's are 64 letters and digits; ``_`` and ``-`` are
allowed too, so the seeds' placeholders (``YOUR_API_KEY``) work as written."""

_MSG_AHEAD = "Timestamp for this request was 1000ms ahead of the server's time."
_MSG_OUTSIDE = "Timestamp for this request is outside of the recvWindow."
_MSG_BAD_SIGNATURE = "Signature for this request is not valid."
_MSG_BAD_RECV_WINDOW = "recvWindow must be less than 60000"


sign = hmac_hex
"""The lowercase hex HMAC-SHA256 of a payload keyed by a secret."""


def verify_signature(secret: str, payload: str, signature: str) -> None:
    """Raise -1022 unless ``signature`` is the HMAC-SHA256 of ``payload`` under ``secret``.

    The comparison is constant-time and case-insensitive (Binance accepts upper-case hex).
    """
    expected = sign(secret, payload)
    if not hmac.compare_digest(expected, signature.lower()):
        raise BinanceApiError(-1022, _MSG_BAD_SIGNATURE)


def check_timestamp(timestamp: int, recv_window: int | None, server_time_ms: int) -> None:
    """Apply Binance's timing rule to a signed request, raising -1021 (or -1131) on failure.

    ``recv_window`` ``None`` means the default 5000 ms; a value that is not positive or
    exceeds 60000 is -1131. A ``timestamp`` 1000 ms or more ahead of ``server_time_ms`` is
    "... 1000ms ahead of the server's time."; one older than the window is "... outside of the
    recvWindow.".
    """
    window = DEFAULT_RECV_WINDOW_MS if recv_window is None else recv_window
    if window <= 0 or window > MAX_RECV_WINDOW_MS:
        raise BinanceApiError(-1131, _MSG_BAD_RECV_WINDOW)
    if timestamp >= server_time_ms + _AHEAD_MS:
        raise BinanceApiError(-1021, _MSG_AHEAD)
    if server_time_ms - timestamp > window:
        raise BinanceApiError(-1021, _MSG_OUTSIDE)


def check_request_time(ctx: FaceContext, timestamp: int, recv_window: int | None) -> None:
    """Apply :func:`check_timestamp` in the simulator's two time frames; -1021 when both fail.

    The simulator's market time (what ``/api/v3/time`` reports) may differ from the wall clock:
    a stepped clock stands still, an accelerated one runs ahead, a replay plays another year.
    Clients sign with their own clock, synchronised to ``/api/v3/time`` or not, so a timestamp
    is accepted when it is valid against the server's time or against the wall clock, both
    shifted by the fault plan's clock skew. The error raised is the one of the nearer frame.
    """
    server = ctx.server_time_ms()
    try:
        check_timestamp(timestamp, recv_window, server)
    except BinanceApiError as market_err:
        if market_err.code != -1021:
            raise
        wall = ctx.wall_time_ms()
        try:
            check_timestamp(timestamp, recv_window, wall)
        except BinanceApiError as wall_err:
            nearer = wall_err if abs(timestamp - wall) <= abs(timestamp - server) else market_err
            raise nearer from None


def _strip_signature(raw: str) -> tuple[str, str | None]:
    """Return ``raw`` without its ``signature=`` parameter, and the signature (if any)."""
    if "signature=" not in raw:
        return raw, None
    kept: list[str] = []
    signature: str | None = None
    for part in raw.split("&"):
        if part.startswith("signature="):
            signature = unquote(part[10:])
        else:
            kept.append(part)
    return "&".join(kept), signature


def _recv_window(params: Mapping[str, str]) -> int | None:
    raw = params.get("recvWindow")
    if raw is None or raw == "":
        return None
    if raw.isdigit():
        return int(raw)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise illegal_chars("recvWindow", "^[0-9]{1,20}(\\.[0-9]{1,3})?$") from None
    if not value.is_finite():
        raise illegal_chars("recvWindow", "^[0-9]{1,20}(\\.[0-9]{1,3})?$")
    return math.ceil(value)


def authenticate(
    ctx: FaceContext,
    api_key: str,
    params: Mapping[str, str],
    query_raw: str,
    body_raw: str,
    *,
    signed: bool = True,
) -> Account:
    """Authenticate a REST request and return its account, or raise Binance's error.

    ``api_key`` is the ``X-MBX-APIKEY`` header (-2014 when missing or malformed, -2015 when
    unknown). For ``signed`` requests the ``signature`` (in the raw query string or body) must
    be the HMAC-SHA256 of the raw query string concatenated with the raw body, both without
    the signature parameter (-1022), and ``timestamp``/``recvWindow`` must pass
    :func:`check_timestamp` against the server's time (-1021, -1131); missing ones are -1102.
    """
    if not API_KEY_RE.match(api_key):
        raise bad_api_key_format()
    account = ctx.core.account_by_key(api_key)
    if account is None:
        raise invalid_api_key()
    if not signed:
        return account
    query_payload, sig_q = _strip_signature(query_raw)
    body_payload, sig_b = _strip_signature(body_raw)
    signature = sig_q if sig_q is not None else sig_b
    if not signature:
        raise mandatory_missing("signature")
    ts_raw = params.get("timestamp")
    if not ts_raw:
        raise mandatory_missing("timestamp")
    try:
        timestamp = int(ts_raw)
    except ValueError:
        raise illegal_chars("timestamp", "^[0-9]{1,20}$") from None
    verify_signature(account.secret, query_payload + body_payload, signature)
    check_request_time(ctx, timestamp, _recv_window(params))
    return account
