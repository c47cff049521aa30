"""What the control API reads: the journal (any process, no keys, no network) and the config.

:class:`JournalView` answers every read endpoint from one open
:class:`~real_trade.persistence.Journal`: the runners sharing it (their heartbeats), the
trading state, the latest account snapshots, orders, fills, round trips, the equity curve, the
report figures, the log tail and the config with its secrets masked. Its methods are blocking;
the HTTP layer runs them on a worker thread.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from real_trade.api import models as m
from real_trade.persistence.records import AccountSnapshot, FillRow

__all__ = ["ALIVE_WITHIN_S", "MAX_PAGE", "JournalView", "fill_model"]

ALIVE_WITHIN_S = 20.0
"""A runner whose heartbeat is younger than this (and not 'stopped') is alive."""
MAX_PAGE = 500
"""The most rows one page returns."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class JournalView:
    """The read side of the control API over ``journal`` for the account of ``config``."""

    def __init__(self, journal: Any, config: Any) -> None:
        """Read ``journal``; ``config`` is the account's RealTradeConfig (mode, venue, log)."""
        self.journal = journal
        self.config = config

    # -- runners ------------------------------------------------------------------------
    def strategies(self) -> list[str]:
        """The runners that wrote a heartbeat to the journal, plus the config's own name."""
        from real_trade.engine.control import HEARTBEAT_KEY

        names = [
            key.split(":", 1)[1]
            for key in self.journal.states(f"{HEARTBEAT_KEY}:")
            if ":" in key and key.split(":", 1)[1]
        ]
        own = self.config.run.name
        if own and own not in names:
            names.append(own)
        return sorted(names)

    def runner(self, strategy: str) -> m.RunnerStatus:
        """One runner's heartbeat and health."""
        from real_trade.engine.control import heartbeat_key
        from real_trade.monitor.health import journal_health

        beat = self.journal.get_state(heartbeat_key(strategy))
        beat = beat if isinstance(beat, dict) else {}
        health = journal_health(self.journal, strategy, alive_within_s=ALIVE_WITHIN_S)
        checks = {c.name: c for c in health.checks}
        own = beat.get("health") if isinstance(beat.get("health"), dict) else {}
        for name, value in (own or {}).items():
            if name not in checks and isinstance(value, list) and len(value) == 2:
                checks[name] = _check(name, str(value[0]), str(value[1]))
        age_s = (_now_ms() - int(beat.get("time_ms") or 0)) / 1000
        alive = bool(beat.get("time_ms")) and beat.get("state") != "stopped"
        return m.RunnerStatus(
            strategy=strategy,
            alive=alive and age_s <= ALIVE_WITHIN_S,
            state=beat.get("runner") or beat.get("state"),
            pid=beat.get("pid"),
            mode=beat.get("mode"),
            exchange=beat.get("exchange"),
            symbols=list(beat.get("symbols") or []),
            heartbeat_ms=beat.get("time_ms"),
            health=health.status,
            checks=[
                m.HealthCheck(name=c.name, status=c.status, detail=c.detail)
                for c in checks.values()
            ],
            breaker=_detail(checks.get("breaker")),
            feeds=_detail(checks.get("feeds")),
        )

    def status(self) -> m.Status:
        """Mode, venue, trading state, a pending kill, and every runner."""
        from real_trade.engine.control import KILL_DONE_KEY, KILL_REQUEST_KEY
        from real_trade.risk.trading_state import TradingStateStore

        trading = TradingStateStore(self.journal).raw()
        trading = trading if isinstance(trading, dict) else {}
        request = self.journal.get_state(KILL_REQUEST_KEY)
        pending = (
            isinstance(request, dict)
            and bool(request.get("id"))
            and self.journal.get_state(KILL_DONE_KEY) != request["id"]
        )
        return m.Status(
            mode=self.config.trading_mode,
            venue=self.config.exchange,
            market_type=self.config.market_type,
            trading_state=str(trading.get("state") or "active"),
            trading_reason=str(trading.get("reason") or ""),
            trading_since_ms=trading.get("time_ms"),
            kill_pending=pending,
            runners=[self.runner(s) for s in self.strategies()],
            now_ms=_now_ms(),
        )

    # -- the account ---------------------------------------------------------------------
    def _snapshots(self, strategy: str | None) -> list[AccountSnapshot]:
        names = [strategy] if strategy else self.strategies()
        found = [self.journal.latest_snapshot(strategy=n) for n in names]
        snaps = [s for s in found if s is not None]
        if not snaps and not strategy:
            latest = self.journal.latest_snapshot()
            snaps = [latest] if latest is not None else []
        return snaps

    def balances(self, strategy: str | None = None) -> list[m.Balance]:
        """The balances of each runner's latest account snapshot."""
        return [
            m.Balance(
                strategy=s.strategy, asset=asset, free=free, locked=locked, total=free + locked
            )
            for s in self._snapshots(strategy)
            for asset, (free, locked) in sorted(s.balances.items())
        ]

    def positions(self, strategy: str | None = None) -> list[m.Position]:
        """Open positions with an entry price (average cost of the fills that built them), a
        mark (the snapshot's value of the position, or the last fill) and unrealized P&L."""
        out: list[m.Position] = []
        for snap in self._snapshots(strategy):
            held = {sym: size for sym, size in snap.positions.items() if size}
            for symbol, size in sorted(held.items()):
                fills = self.journal.fills(strategy=snap.strategy, symbol=symbol)
                entry = _average_entry(fills, size)
                mark = (snap.equity - snap.cash) / size if len(held) == 1 else None
                if mark is None and fills:
                    mark = fills[-1].price
                pnl = None if entry is None or mark is None else (mark - entry) * size
                out.append(
                    m.Position(
                        strategy=snap.strategy,
                        symbol=symbol,
                        size=size,
                        entry_price=entry,
                        mark_price=mark,
                        unrealized_pnl=pnl,
                    )
                )
        return out

    def orders(
        self,
        strategy: str | None = None,
        open_only: bool = False,
        offset: int = 0,
        limit: int = 100,
    ) -> m.Page:
        """Orders, newest first (only the open ones with ``open_only``)."""
        now = _now_ms()
        rows = [
            o
            for o in self.journal.orders(strategy=strategy or None, open_only=open_only)
            if o.client_order_id
        ]
        items = [
            m.Order(
                strategy=o.strategy,
                client_order_id=o.client_order_id,
                symbol=o.symbol,
                side=o.side,
                kind=o.kind,
                amount=o.amount,
                price=o.price,
                filled=o.filled,
                state=o.state,
                time_ms=o.time_ms,
                age_s=max(0.0, (now - o.time_ms) / 1000),
                is_open=o.is_open,
            ).model_dump()
            for o in reversed(rows)
        ]
        return _page(items, offset, limit)

    def fills(self, strategy: str | None = None, offset: int = 0, limit: int = 100) -> m.Page:
        """Fills, newest first."""
        rows = self.journal.fills(strategy=strategy or None)
        items = [fill_model(f).model_dump() for f in reversed(rows)]
        return _page(items, offset, limit)

    def fills_since(self, time_ms: int) -> list[FillRow]:
        """Fills executed at or after ``time_ms``, oldest first (the push channel's source)."""
        return list(self.journal.fills(time_ms))

    def trades(self, strategy: str | None = None, offset: int = 0, limit: int = 100) -> m.Page:
        """Round trips, newest first."""
        rows = self.journal.trades(strategy=strategy or None)
        items = [
            m.Trade(
                strategy=t.strategy,
                symbol=t.symbol,
                side=t.side,
                amount=t.amount,
                entry_price=t.entry_price,
                exit_price=t.exit_price,
                pnl=t.pnl,
                entry_ms=t.entry_ms,
                exit_ms=t.exit_ms,
            ).model_dump()
            for t in reversed(rows)
        ]
        return _page(items, offset, limit)

    def equity(self, strategy: str | None = None, points: int = 1000) -> list[m.EquityPoint]:
        """The equity curve per runner (at most ``points`` each, evenly thinned) with drawdown."""
        rows = self.journal.equity(strategy=strategy or None)
        by: dict[str, list[Any]] = {}
        for row in rows:
            by.setdefault(row.strategy, []).append(row)
        out: list[m.EquityPoint] = []
        for name, series in sorted(by.items()):
            step = max(1, len(series) // max(1, points))
            chosen = series[::step]
            if chosen[-1] is not series[-1]:
                chosen.append(series[-1])
            peak = float("-inf")
            for row in chosen:
                peak = max(peak, row.equity)
                down = 0.0 if peak <= 0 else (peak - row.equity) / peak
                out.append(
                    m.EquityPoint(
                        strategy=name, time_ms=row.time_ms, equity=row.equity, drawdown=down
                    )
                )
        return out

    def report(self, strategy: str | None = None) -> Any:
        """The whole-journal :class:`~real_trade.monitor.report.ReportData` (ValueError when
        the journal has no equity yet)."""
        from real_trade.monitor.report import build_report

        return build_report(
            self.journal,
            None,
            None,
            title="real_trade report" + (f" ({strategy})" if strategy else ""),
            initial_cash=self.config.initial_cash,
            strategy=strategy or None,
        )

    def metrics(self, strategy: str | None = None) -> m.Metrics:
        """The report's figures (empty before the first equity point)."""
        from real_trade.monitor.report import report_to_dict

        try:
            data = report_to_dict(self.report(strategy))
        except ValueError:
            return m.Metrics(figures={})
        figures = dict(data.get("summary") or {})
        figures.update(data.get("figures") or {})
        return m.Metrics(figures=figures)

    def events(self, after_id: int, since_ms: int) -> list[Any]:
        """Journal events newer than ``after_id`` (looked up from ``since_ms``), oldest first."""
        return [e for e in self.journal.events(None, since_ms) if e.id > after_id]

    def log_tail(self, lines: int = 200) -> m.LogTail:
        """The last ``lines`` lines of the config's log file, secrets masked."""
        from real_trade.utils.logger import mask_secrets

        name = self.config.logging.file
        if not name:
            return m.LogTail(file=None, lines=[])
        path = Path(name).expanduser()
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                tail = deque(handle, maxlen=max(1, min(lines, 5000)))
        except FileNotFoundError:
            return m.LogTail(file=str(path), lines=[])
        return m.LogTail(file=str(path), lines=[mask_secrets(t.rstrip("\n")) for t in tail])

    def config_masked(self) -> dict[str, Any]:
        """The config as a dict: secrets are the mask, the journal URL's password too, and so
        is any value under a secret-sounding key (a webhook's ``Authorization`` header) or
        holding a registered secret."""
        out: dict[str, Any] = _masked(self.config.to_dict())
        return out


_SECRET_KEY = re.compile(
    r"(secret|token|password|passphrase|authorization|api_?key|cookie)", re.IGNORECASE
)


def _masked(value: Any, key: str = "") -> Any:
    from real_trade.utils.logger import MASK, mask_secrets

    if isinstance(value, dict):
        return {k: _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, key) for v in value]
    if isinstance(value, str):
        return MASK if value and _SECRET_KEY.search(key) else mask_secrets(value)
    return value


def _check(name: str, status: str, detail: str) -> Any:
    from real_trade.monitor.health import HealthCheck

    known = status if status in ("ok", "warn", "fail") else "unknown"
    return HealthCheck(name, known, detail)  # type: ignore[arg-type]


def _detail(check: Any) -> str | None:
    return None if check is None else f"{check.status}: {check.detail}"


def fill_model(f: FillRow) -> m.Fill:
    """A journal fill row as the API shows it."""
    return m.Fill(
        strategy=f.strategy,
        client_order_id=f.client_order_id,
        symbol=f.symbol,
        side=f.side,
        trade_id=f.trade_id,
        price=f.price,
        amount=f.amount,
        fee_in_quote=f.fee_in_quote,
        time_ms=f.time_ms,
    )


def _page(items: list[dict[str, Any]], offset: int, limit: int) -> m.Page:
    offset, limit = max(0, offset), max(1, min(limit, MAX_PAGE))
    return m.Page(
        total=len(items), offset=offset, limit=limit, items=items[offset : offset + limit]
    )


def _average_entry(fills: Sequence[FillRow], size: float) -> float | None:
    """The average cost of the open position ``size``, from its fills (FIFO lots)."""
    lots: deque[list[float]] = deque()  # [signed amount, price]
    for f in fills:
        signed = f.amount if f.side == "buy" else -f.amount
        while signed and lots and (lots[0][0] > 0) != (signed > 0):
            take = min(abs(signed), abs(lots[0][0]))
            lots[0][0] += take if lots[0][0] < 0 else -take
            signed += -take if signed > 0 else take
            if abs(lots[0][0]) < 1e-12:
                lots.popleft()
        if abs(signed) > 1e-12:
            lots.append([signed, f.price])
    held = sum(lot[0] for lot in lots)
    if not lots or abs(held) < 1e-12 or (held > 0) != (size > 0):
        return None
    return sum(lot[0] * lot[1] for lot in lots) / held
