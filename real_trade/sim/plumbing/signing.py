"""The HMAC-SHA256 request signatures the faces check, spelt as each venue sends them.

Binance and Bybit sign with the lowercase hex digest (:func:`hmac_hex`), OKX with its base64
(:func:`hmac_base64`); what is signed (which headers, query, body, timestamp) is each face's
own (its ``auth.py``). The clock a timestamp is checked against is
:meth:`~real_trade.sim.plumbing.context.FaceContext.server_time_ms` or
:meth:`~real_trade.sim.plumbing.context.FaceContext.wall_time_ms`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["hmac_base64", "hmac_hex"]


def _digest(secret: str, text: str) -> bytes:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()


def hmac_hex(secret: str, text: str) -> str:
    """The lowercase hex HMAC-SHA256 of ``text`` keyed by ``secret``."""
    return _digest(secret, text).hex()


def hmac_base64(secret: str, text: str) -> str:
    """The base64 HMAC-SHA256 of ``text`` keyed by ``secret``."""
    return base64.b64encode(_digest(secret, text)).decode()
