"""The delivery worker: reads the outbox and sends, paced, deduplicated, digested, retried.

:meth:`DeliveryWorker.step` does one round over the channels at the time of its injected
``clock`` (seconds, monotonic) and ``now_ms`` (wall time, epoch ms); the worker's thread
(:meth:`DeliveryWorker.start`) calls it whenever something is due, and tests call it directly
with fake clocks. Per channel and round:

1. **De-duplication with a cooldown**: a pending alert whose ``dedup_key`` was delivered (or
   kept earlier in the round) on that channel with a creation time less than ``cooldown``
   seconds before its own is marked ``suppressed``.
2. **Digest for bursts**: when more than ``digest_threshold`` alerts wait, the non-critical
   ones go out as one digest message (critical ones, kill switch, breaker, lost orders and the
   dead man, always alone and first).
3. **Rate limit**: at most one message per ``min_interval`` seconds of the channel (Telegram
   ~1 msg/s per chat).
4. **Retry-After and backoff**: a failed send leaves the rows pending and pauses the channel for
   the delay of the house :class:`~real_trade.venues.retry.RetryPolicy` (exponential, jittered,
   never
   shorter than the server's ``retry_after``); retryable failures are retried forever (nothing
   is lost while a channel is down), final ones (a 400, a refused token) ``max_final_attempts``
   times, then the row is marked ``failed`` and logged.

Each round also watches the runner's heartbeat, read at most once per ``poll_interval`` (the
**dead man**: an alert when it is older than ``dead_man_after`` while the runner did not say it
stopped, and a note when it is back)
and, after each UTC midnight, queues the **daily report** of the journal's day. A worker in
*standby* (``real-trade notify``, a separate process) watches the same heartbeat and delivers
only while the runner is not alive: it sends the dead-man alert when the runner's process died,
and what that process left in the outbox. Once an hour, rows delivered more than
``retention_days`` ago are deleted.

Cost: a round reads a channel's pending rows and the cooldown of all their keys (two queries,
one transaction) and marks what it sent (one write through the outbox's held connection). The
thread starts a round when woken by new rows (after letting a burst gather ``coalesce``
seconds), when a channel with rows left becomes due again, and every ``poll_interval`` (rows
written by another process, the watches); it never goes round again at once unless rows are
left that are due.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from real_trade.errors import RealTradeError, RetryableError, redact
from real_trade.notifications.channels import Channel, Message
from real_trade.notifications.config import NotificationsConfig
from real_trade.notifications.events import Alert
from real_trade.notifications.outbox import DIGESTED, FAILED, SENT, SUPPRESSED, Outbox, OutboxRow
from real_trade.persistence.schema import fills, intents, order_events
from real_trade.venues.retry import RetryPolicy

__all__ = ["CRITICAL_KINDS", "DeliveryWorker"]

_log = logging.getLogger("real_trade.notifications")

CRITICAL_KINDS = frozenset({"kill_switch", "breaker", "lost_order", "dead_man"})
"""Kinds never folded into a digest; sent alone and before the others."""

_DAY_MS = 86_400_000


@dataclass
class _ChannelState:
    next_ok: float = 0.0
    failures: int = 0
    sent: int = 0
    waiting: int = 1  # rows left pending after the channel's last round (unknown at start)


class DeliveryWorker:
    """Delivers the outbox to ``channels`` (see the module docstring for the rules).

    ``heartbeat_key`` is the control-state key of the runner heartbeat to watch (None: no dead
    man); ``alert`` enqueues an alert the worker raises itself (dead man, daily report) for
    every channel; ``policy`` the backoff (default: 1 s doubling to ``max_backoff``);
    ``rng`` the jitter's random generator. ``standby`` (the watcher process of
    ``real-trade notify``) delivers only while the watched runner is not alive (no heartbeat,
    a stale one, or one saying it stopped), so it never races the runner's own worker.
    ``strategy`` limits delivery to that run's rows (several runs may share one journal, each
    with its own worker); None delivers every row.
    """

    def __init__(
        self,
        outbox: Outbox,
        channels: Sequence[Channel],
        config: NotificationsConfig,
        *,
        alert: Callable[[Alert], None],
        heartbeat_key: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        max_final_attempts: int = 3,
        poll_interval: float = 1.0,
        standby: bool = False,
        strategy: str | None = None,
        on_result: Callable[[str, str, int], None] | None = None,
        coalesce: float = 0.05,
    ) -> None:
        """Prepare the worker (no thread until :meth:`start`).

        ``on_result(channel, result, alerts)`` hears each outcome: ``sent`` (a message went out,
        carrying ``alerts`` rows), ``failed`` (refused for good) or ``dropped`` (duplicates
        suppressed); the notifier publishes them on the bus as ``notification.<result>``.
        ``coalesce`` is how long the thread lets new rows gather after a wake before a round.
        """
        self.outbox, self.channels, self.config = outbox, list(channels), config
        self._alert, self.heartbeat_key = alert, heartbeat_key
        self.clock, self.now_ms = clock, now_ms
        self.policy = policy or RetryPolicy(
            max_attempts=1_000_000,
            base_delay=1.0,
            max_delay=config.max_backoff,
            max_retry_after=float("inf"),
        )
        self.rng = rng or random.Random()
        self.max_final_attempts = max_final_attempts
        self.poll_interval = poll_interval
        self.coalesce = coalesce
        self.standby = standby
        self.strategy = strategy
        self._on_result = on_result or (lambda _channel, _result, _alerts: None)
        self.states = {c.name: _ChannelState() for c in self.channels}
        self.dead_man_raised = False
        self._report_day: int | None = None
        self._beat_read_at = float("-inf")  # clock() of the last heartbeat read
        self._alive = False
        self._pruned_ms = -(2**62)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one round -----------------------------------------------------------------------
    def step(self) -> int:
        """One round over every channel (and the watches); return the messages sent."""
        now = self.clock()
        if now - self._beat_read_at >= self.poll_interval:
            self._beat_read_at = now
            self._alive = self._watch_heartbeat()
        alive = self._alive
        self._daily_report()
        self._prune()
        if self.standby and alive:
            return 0  # the runner's own worker delivers while it lives
        return sum(self._step_channel(channel) for channel in self.channels)

    def _step_channel(self, channel: Channel) -> int:
        state = self.states[channel.name]
        now = self.clock()
        if now < state.next_ok:
            return 0
        limit = 500
        read, last_kept = self.outbox.due(channel.name, limit=limit, strategy=self.strategy)
        rows = self._dedupe(channel.name, read, last_kept)
        state.waiting = len(rows)
        if not rows:
            return 0
        chosen = self._next_batch(rows)
        message = _message(chosen)
        try:
            channel.send(message)
        except RealTradeError as exc:
            self._failed(channel, state, chosen, exc, now)
            return 0
        except Exception as exc:  # a bug in a channel must not stop delivery of the others
            self._failed(channel, state, chosen, RealTradeError(redact(repr(exc))), now)
            return 0
        state.waiting = len(rows) - len(chosen) + (len(read) >= limit)
        self.outbox.mark(
            [r.id for r in chosen], DIGESTED if len(chosen) > 1 else SENT, self.now_ms()
        )
        state.failures, state.sent = 0, state.sent + 1
        state.next_ok = now + channel.min_interval
        self._on_result(channel.name, "sent", len(chosen))
        return 1

    def _dedupe(
        self, channel: str, rows: list[OutboxRow], last_kept: dict[str, int]
    ) -> list[OutboxRow]:
        window = self.config.cooldown * 1000
        if window <= 0 or not rows:
            return rows
        kept: list[OutboxRow] = []
        last = dict(last_kept)
        dropped: list[int] = []
        for row in rows:
            before = last.get(row.dedup_key)
            if before is not None and row.created_ms - before < window:
                dropped.append(row.id)
                continue
            last[row.dedup_key] = row.created_ms
            kept.append(row)
        self.outbox.mark(dropped, SUPPRESSED, self.now_ms())
        if dropped:
            self._on_result(channel, "dropped", len(dropped))
        return kept

    def _next_batch(self, rows: list[OutboxRow]) -> list[OutboxRow]:
        critical = [r for r in rows if r.kind in CRITICAL_KINDS]
        if len(rows) <= self.config.digest_threshold:
            return [critical[0] if critical else rows[0]]
        if critical:
            return [critical[0]]
        return rows[:100]

    def _failed(
        self,
        channel: Channel,
        state: _ChannelState,
        rows: list[OutboxRow],
        exc: RealTradeError,
        now: float,
    ) -> None:
        state.failures += 1
        text = redact(f"{type(exc).__name__}: {exc}")
        ids = [r.id for r in rows]
        if not isinstance(exc, RetryableError) and rows[0].attempts + 1 >= self.max_final_attempts:
            _log.error(
                "notification channel %s refused %d alert(s) for good: %s",
                channel.name,
                len(ids),
                text,
            )
            self.outbox.mark(ids, FAILED, error=text)
            state.next_ok = now + channel.min_interval
            self._on_result(channel.name, "failed", len(ids))
            return
        self.outbox.note_failure(ids, text)
        delay = self.policy.delay_for(state.failures, exc, self.rng)
        state.next_ok = now + max(delay, channel.min_interval)
        _log.warning(
            "notification channel %s failed (attempt %d), next try in %.1f s: %s",
            channel.name,
            state.failures,
            delay,
            text,
        )

    # -- watches -------------------------------------------------------------------------
    def _watch_heartbeat(self) -> bool:
        """Raise or clear the dead-man alert; return whether the watched runner is alive."""
        if self.heartbeat_key is None:
            return False
        beat = self.outbox.state(self.heartbeat_key)
        if not isinstance(beat, dict) or not isinstance(beat.get("time_ms"), int):
            return False
        who = str(beat.get("strategy") or "the runner")
        age_s = (self.now_ms() - beat["time_ms"]) / 1000
        limit = self.config.dead_man_after
        stopped = beat.get("state") == "stopped"
        alive = not stopped and (limit <= 0 or age_s <= limit)
        if limit <= 0:
            return alive
        stale = age_s > limit and not stopped
        if stale and not self.dead_man_raised:
            self.dead_man_raised = True
            self._alert(
                Alert(
                    "dead_man",
                    f"DEAD MAN: {who} has been silent for {age_s:.0f} s",
                    f"no heartbeat from {who} (pid {beat.get('pid')}) for {age_s:.0f} s; the bot "
                    "may be hung or dead. Check the process and `real-trade status`.",
                    f"dead_man:{who}:{beat['time_ms']}",
                    "",
                )
            )
        elif not stale and self.dead_man_raised:
            self.dead_man_raised = False
            self._alert(
                Alert(
                    "dead_man",
                    f"{who} is alive again",
                    "the heartbeat is back",
                    f"alive:{who}:{beat['time_ms']}",
                    "",
                )
            )
        return alive

    def _daily_report(self) -> None:
        if not self.config.daily_report:
            return
        day = self.now_ms() // _DAY_MS
        if self._report_day is None:
            self._report_day = day
            return
        if day == self._report_day:
            return
        start, end = self._report_day * _DAY_MS, day * _DAY_MS
        self._report_day = day
        self._alert(_daily_summary(self.outbox, start, end))

    def _prune(self) -> None:
        now = self.now_ms()
        if now - self._pruned_ms < 3_600_000:
            return
        self._pruned_ms = now
        gone = self.outbox.prune(now - int(self.config.retention_days * _DAY_MS))
        if gone:
            _log.info("notification outbox: %d delivered row(s) past retention deleted", gone)

    # -- the thread ----------------------------------------------------------------------
    def wake(self) -> None:
        """Tell the thread new rows are waiting."""
        self._wake.set()

    def start(self) -> None:
        """Deliver on a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="real_trade-notify", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            sent = 0
            try:
                sent = self.step()
            except Exception as exc:  # the database away for a moment: try again later
                _log.error("notification delivery round failed: %s", redact(repr(exc)))
            now = self.clock()
            left = [s for s in self.states.values() if s.waiting]
            if sent and any(s.next_ok <= now for s in left):
                continue  # rows left that are due at once (a burst the rate limit allows)
            due = [s.next_ok - now for s in left if s.next_ok > now]
            wait = min([self.poll_interval, *due]) if due else self.poll_interval
            if self._wake.wait(max(0.01, wait)):
                # woken by new rows: let a burst gather for a moment, so one round (a few
                # queries, one message or digest) serves it instead of a round per event
                self._stop.wait(self.coalesce)
            self._wake.clear()

    def stop(self, grace: float = 5.0) -> None:
        """Stop the thread; first try for up to ``grace`` s to send what is due."""
        deadline = time.monotonic() + grace
        while (
            time.monotonic() < deadline
            and self._thread is not None
            and any(
                self.outbox.pending(c.name, 1, self.strategy) and self.states[c.name].failures == 0
                for c in self.channels
            )
        ):
            self._wake.set()
            time.sleep(0.05)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(grace + 5.0)
            self._thread = None


def _message(rows: list[OutboxRow]) -> Message:
    silent = all(r.level == "silent" for r in rows)
    if len(rows) == 1:
        r = rows[0]
        return Message(r.title, r.body, r.kind, silent, 1, r.strategy)
    kinds = sorted({r.kind for r in rows})
    lines = [f"- {r.title}" for r in rows]
    return Message(
        f"{len(rows)} alerts ({', '.join(kinds)})",
        "\n".join(lines),
        "digest",
        silent,
        len(rows),
        rows[0].strategy,
    )


def _daily_summary(outbox: Outbox, start_ms: int, end_ms: int) -> Alert:
    day = time.strftime("%Y-%m-%d", time.gmtime(start_ms / 1000))

    def count(table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
        q = (
            sa.select(sa.func.count())
            .select_from(table)
            .where(table.c.time_ms >= start_ms, table.c.time_ms < end_ms, *where)
        )
        return int(outbox.scalar(q) or 0)

    orders, trades = count(intents), count(fills)
    rejected = count(order_events, order_events.c.state.in_(("REJECTED", "MARGIN")))
    fees = outbox.scalar(
        sa.select(sa.func.sum(fills.c.fee_in_quote)).where(
            fills.c.time_ms >= start_ms, fills.c.time_ms < end_ms
        )
    )
    body = (
        f"{day} (UTC): {orders} order(s) sent, {trades} fill(s), {rejected} rejected, "
        f"fees {float(fees or 0):g} (quote)"
    )
    return Alert("daily_report", f"Daily report {day}", body, f"daily:{day}")
