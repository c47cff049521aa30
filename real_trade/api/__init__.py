"""The control API and web dashboard: a JSON HTTP API over the journal, any process.

``server`` (:class:`ApiServer`, the aiohttp app on an IoLoop thread), ``app`` (the routes),
``openapi`` (the document, from the route table), ``dashboard`` (the page's files), ``reads``
(the journal's views), ``actions`` (pause, resume, cancel, cancel all, kill, reload risk, each
journaled and idempotent, on the mechanisms ``real-trade kill``/``resume`` use), ``push``
(server-sent events from the journal), ``security`` (bind rules, bearer tokens and scopes,
CORS, failed-login limit), ``tokens`` (the token store: hashed, expiring, 0600) and ``models``
(the pydantic bodies).
"""

from __future__ import annotations

from real_trade.api.app import build_app
from real_trade.api.openapi import openapi_document
from real_trade.api.server import ApiServer
from real_trade.api.tokens import (
    FileTokenStore,
    KeyFileTokenStore,
    TokenAuthority,
    TokenStore,
    token_store_for,
)

__all__ = [
    "ApiServer",
    "FileTokenStore",
    "KeyFileTokenStore",
    "TokenAuthority",
    "TokenStore",
    "build_app",
    "openapi_document",
    "token_store_for",
]
