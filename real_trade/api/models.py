"""The control API's request and response bodies (pydantic v2); the OpenAPI document is built
from these (:mod:`real_trade.api.openapi`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ActionBody",
    "ActionResult",
    "Balance",
    "CancelBody",
    "EquityPoint",
    "ErrorBody",
    "Fill",
    "HealthCheck",
    "KillBody",
    "LogTail",
    "Metrics",
    "Order",
    "Page",
    "Position",
    "ReportList",
    "RunnerStatus",
    "Status",
    "Trade",
]

Mode = Literal["paper", "testnet", "live"]


class _Body(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class ActionBody(_Body):
    """Every action: the mode the caller believes it acts on (refused when the account's
    differs), why (journaled), the runner (``strategy``; empty: every runner) and an optional
    action id (the ``Idempotency-Key`` header is the other way to name it)."""

    mode: Mode
    reason: str = Field(min_length=1, max_length=500)
    strategy: str = Field(default="", max_length=100)
    action_id: str | None = Field(default=None, min_length=8, max_length=100)


class KillBody(ActionBody):
    """Kill: cancel every open order, close every position when ``flatten``, then HALT."""

    flatten: bool = False


class CancelBody(ActionBody):
    """Cancel one open order, named by its client order id."""

    client_order_id: str = Field(min_length=1, max_length=100)


class ActionResult(BaseModel):
    """What an action did: its id, whether it is a replay of an earlier call with the same id,
    and what happened (``detail``) with the journal's row of it."""

    action_id: str
    action: str
    accepted: bool
    replayed: bool = False
    detail: str
    who: str
    mode: Mode


class ErrorBody(BaseModel):
    """Every refusal: an HTTP status with a one-line reason."""

    error: str
    status: int


class HealthCheck(BaseModel):
    """One health check of a runner (heartbeat, feeds, streams, trading state, breaker...)."""

    name: str
    status: str
    detail: str


class RunnerStatus(BaseModel):
    """One runner sharing the journal: its heartbeat and health."""

    strategy: str
    alive: bool
    state: str | None
    pid: int | None
    mode: str | None
    exchange: str | None
    symbols: list[str]
    heartbeat_ms: int | None
    health: str
    checks: list[HealthCheck]
    breaker: str | None
    feeds: str | None


class Status(BaseModel):
    """The account's status: mode, venue, trading state, kill request, runners."""

    mode: Mode
    venue: str
    market_type: str
    trading_state: str
    trading_reason: str
    trading_since_ms: int | None
    kill_pending: bool
    runners: list[RunnerStatus]
    now_ms: int


class Balance(BaseModel):
    """One asset of the latest account snapshot."""

    strategy: str
    asset: str
    free: float
    locked: float
    total: float


class Position(BaseModel):
    """One position of the latest snapshot, valued at the last fill price seen."""

    strategy: str
    symbol: str
    size: float
    entry_price: float | None
    mark_price: float | None
    unrealized_pnl: float | None


class Order(BaseModel):
    """An order with its latest journaled state."""

    strategy: str
    client_order_id: str
    symbol: str
    side: str
    kind: str
    amount: float
    price: float | None
    filled: float
    state: str | None
    time_ms: int
    age_s: float
    is_open: bool


class Fill(BaseModel):
    """One execution."""

    strategy: str
    client_order_id: str
    symbol: str
    side: str
    trade_id: str
    price: float
    amount: float
    fee_in_quote: float
    time_ms: int


class Trade(BaseModel):
    """One round trip (FIFO)."""

    strategy: str
    symbol: str
    side: str
    amount: float
    entry_price: float
    exit_price: float
    pnl: float
    entry_ms: int
    exit_ms: int


class Page(BaseModel):
    """A page of rows, newest first: ``total`` rows, ``offset``/``limit`` of this page."""

    total: int
    offset: int
    limit: int
    items: list[dict[str, Any]]


class EquityPoint(BaseModel):
    """One point of the equity curve with its drawdown from the running peak."""

    strategy: str
    time_ms: int
    equity: float
    drawdown: float


class Metrics(BaseModel):
    """The run's figures (:mod:`real_trade.monitor.metrics`)."""

    figures: dict[str, Any]


class ReportList(BaseModel):
    """The reports the API can render (``/api/reports/{name}``)."""

    reports: list[str]


class LogTail(BaseModel):
    """The last lines of the run's log file (secrets masked)."""

    file: str | None
    lines: list[str]
