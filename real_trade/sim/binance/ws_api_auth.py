"""Authentication of WebSocket API requests: Binance's signature payload and timing rule.

A signed WebSocket API request carries ``apiKey``, ``timestamp`` (ms, or µs), optionally
``recvWindow``, and ``signature``: the HMAC-SHA256, keyed by the secret, of every other
parameter sorted by name and written ``key=value&...`` (booleans as ``true``/``false``, as the
clients print them). A session that logged on (``session.logon``) may leave out ``apiKey`` and
``signature``; ``timestamp`` is still checked. Errors are the REST ones: -1102 missing
parameter, -2015 unknown key, -1022 bad signature, -1021 stale or future timestamp.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation
from typing import Any

from real_trade.sim.accounts import Account
from real_trade.sim.binance.auth import check_request_time, verify_signature
from real_trade.sim.binance.errors import illegal_chars, invalid_api_key, mandatory_missing
from real_trade.sim.plumbing.context import FaceContext

__all__ = ["authenticate_request", "param_str", "signature_payload"]

_TS_LEGAL = "^[0-9]{1,20}$"


def param_str(value: Any) -> str:
    """A JSON parameter value as the signature payload (and the REST handlers) spell it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def signature_payload(params: dict[str, Any]) -> str:
    """The text a WebSocket API signature covers: params but ``signature``, sorted, ``k=v&..``."""
    return "&".join(f"{k}={param_str(v)}" for k, v in sorted(params.items()) if k != "signature")


def authenticate_request(
    ctx: FaceContext,
    params: dict[str, Any],
    session_account: Account | None,
    *,
    explicit: bool,
    signed: bool = True,
) -> Account:
    """Return the account a request acts for, or raise Binance's error.

    The request's own ``apiKey`` (+ ``signature`` when ``signed``) wins; without them the
    session's logged-on account is used, unless ``explicit`` (``session.logon`` and
    ``userDataStream.subscribe.signature`` always sign).
    """
    core = ctx.core
    if not explicit and "apiKey" not in params and "signature" not in params:
        if session_account is None:
            raise mandatory_missing("apiKey")
        if core.account_by_key(session_account.api_key) is None:
            raise invalid_api_key()
        if signed:
            _check_time(ctx, params, _timestamp(params))
        return session_account
    api_key = params.get("apiKey")
    if not isinstance(api_key, str) or not api_key:
        raise mandatory_missing("apiKey")
    account = core.account_by_key(api_key)
    if account is None:
        raise invalid_api_key()
    if not signed:
        return account
    signature = params.get("signature")
    if not isinstance(signature, str) or not signature:
        raise mandatory_missing("signature")
    timestamp = _timestamp(params)
    verify_signature(account.secret, signature_payload(params), signature)
    _check_time(ctx, params, timestamp)
    return account


def _timestamp(params: dict[str, Any]) -> int:
    raw = params.get("timestamp")
    if raw is None or raw == "":
        raise mandatory_missing("timestamp")
    try:
        ts = int(str(raw))
    except ValueError:
        raise illegal_chars("timestamp", _TS_LEGAL) from None
    return ts // 1000 if ts >= 10**14 else ts  # microseconds are accepted too


def _check_time(ctx: FaceContext, params: dict[str, Any], timestamp: int) -> None:
    window: int | None = None
    raw = params.get("recvWindow")
    if raw is not None:
        try:
            window = math.ceil(Decimal(str(raw)))
        except (InvalidOperation, ValueError, OverflowError):
            raise illegal_chars("recvWindow", "^[0-9]{1,20}(\\.[0-9]{1,3})?$") from None
    check_request_time(ctx, timestamp, window)
