"""A control API served over a SQLite journal in a temporary directory, and a tiny client."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from real_trade.api.server import ApiServer
from real_trade.api.tokens import FileTokenStore, TokenAuthority
from real_trade.config import RealTradeConfig
from real_trade.execution.events import FillEvent, OrderUpdate
from real_trade.execution.orders import OrderState
from real_trade.persistence import Journal
from real_trade.persistence.records import AccountSnapshot, OrderIntent

__all__ = ["Api", "Reply", "authority", "serve", "write_account"]


@dataclass
class Reply:
    """One HTTP answer: status, headers and the decoded JSON body (or the text)."""

    status: int
    headers: dict[str, str]
    body: Any


class Api:
    """Calls one server; ``token`` is sent as a bearer token unless None."""

    def __init__(self, server: ApiServer, token: str | None) -> None:
        self.server = server
        self.base = server.url.rstrip("/")
        self.token = token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: str | bool | None = True,
    ) -> Reply:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        sent = {"Content-Type": "application/json"} if data is not None else {}
        bearer = self.token if token is True else token
        if bearer:
            sent["Authorization"] = f"Bearer {bearer}"
        sent.update(headers or {})
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, got, text = answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as exc:
            status, got, text = exc.code, dict(exc.headers), exc.read()
        try:
            decoded: Any = json.loads(text)
        except ValueError:
            decoded = text.decode("utf-8", "replace")
        return Reply(status, got, decoded)


def write_account(journal: Journal, strategy: str = "sma") -> None:
    """An open buy order, a fill of 0.1 BTC at 100, and a snapshot holding it at 110 (times
    a few seconds ago, as a live run writes them)."""
    t = time.time_ns() // 1_000_000 - 5_000
    journal.record_intent(
        OrderIntent("rt-sma-1", strategy, 1, "BTC/USDT", "buy", "Limit", 0.5, 90.0, time_ms=t)
    )
    journal.record_intent(
        OrderIntent("rt-sma-2", strategy, 2, "BTC/USDT", "buy", "Market", 0.1, time_ms=t + 1)
    )
    journal.record_fill(
        FillEvent(
            2,
            "rt-sma-2",
            "x2",
            "BTC/USDT",
            "buy",
            "t1",
            100.0,
            0.1,
            0.0,
            None,
            t + 2,
            position_change=0.1,
            fee_in_quote=0.01,
            strategy=strategy,
        )
    )
    journal.record_update(
        OrderUpdate(
            2,
            "rt-sma-2",
            "x2",
            "BTC/USDT",
            "buy",
            "Market",
            OrderState.COMPLETED,
            0.1,
            0.1,
            100.0,
            None,
            None,
            None,
            t + 2,
            strategy=strategy,
        )
    )
    journal.record_snapshot(
        AccountSnapshot(
            strategy,
            t + 3,
            cash=990.0,
            equity=1001.0,
            balances={"USDT": (990.0, 0.0), "BTC": (0.1, 0.0)},
            positions={"BTC/USDT": 0.1},
        )
    )
    journal.flush(5.0)


@contextmanager
def serve(tmp_path: Path, **api: Any) -> Iterator[tuple[ApiServer, str]]:
    """A server for a paper account (journal and token file in ``tmp_path``) and its first
    (trade) token."""
    settings = {"port": 0, "token_file": str(tmp_path / "tokens.json"), **api}
    config = RealTradeConfig(
        journal={"url": f"sqlite:///{tmp_path / 'journal.db'}"},
        run={"name": "sma"},
        api=settings,
    )
    with ApiServer(config, config_path=None) as server:
        assert server.first_token is not None
        yield server, server.first_token.token


def authority(tmp_path: Path) -> TokenAuthority:
    """A second authority on the same token file (to issue more tokens)."""
    return TokenAuthority(FileTokenStore(tmp_path / "tokens.json"))
