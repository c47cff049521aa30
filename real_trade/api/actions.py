"""The control API's actions, each on the mechanism the command line already uses.

Pause and resume write the journal's trading state (REDUCING: no new entries; ACTIVE), which
every runner follows through its :class:`~real_trade.session.control.JournalControl`; kill
writes the journal's kill request (as ``real-trade kill`` does) for the runner's kill switch;
cancel, cancel all and reload risk are ``control.command`` events that the same poll hands to
the runner (:mod:`real_trade.engine.commands`). There is no second kill path.

Every action is refused when the caller's ``mode`` is not the account's (or a live runner
trades another mode), is journaled as an ``api.action`` event with who asked and why, and is
idempotent: its id (the ``Idempotency-Key`` header, else the body's ``action_id``, else a new
one) and its result are kept in the journal (``api_action:<id>``), so a repeat returns the
first result (``replayed``) and a reused id with another request is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from typing import Any

from real_trade.api import models as m
from real_trade.api.reads import JournalView

__all__ = ["ACTION_NAMES", "ActionDesk", "ActionRefusedError"]

ACTION_NAMES = ("pause", "resume", "cancel", "cancel_all", "kill", "reload_risk")
"""The actions, as named in ``/api/actions/{name}``."""
_STATE_PREFIX = "api_action:"


class ActionRefusedError(Exception):
    """An action refused before anything was done: an HTTP status and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        """Refuse with HTTP ``status`` for ``reason``."""
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ActionDesk:
    """Carries out the control API's actions on ``view``'s journal (module docstring).

    ``config_path`` is the config file the risk limits are reloaded from (None: reload is
    refused).
    """

    def __init__(self, view: JournalView, config_path: str | None) -> None:
        """Act on the journal of ``view`` for its config's account."""
        self.view = view
        self.journal = view.journal
        self.config = view.config
        self.config_path = config_path
        self._lock = threading.Lock()
        self._done: dict[str, dict[str, Any]] = {}

    def perform(
        self, action: str, body: m.ActionBody, who: str, idempotency_key: str | None
    ) -> m.ActionResult:
        """Carry out ``action`` once per action id; ActionRefusedError says why not."""
        action_id = idempotency_key or body.action_id or uuid.uuid4().hex
        if not 8 <= len(action_id) <= 100 or not action_id.isprintable():
            raise ActionRefusedError(400, "the action id must be 8 to 100 printable characters")
        fields = body.model_dump(exclude={"action_id"})
        fingerprint = hashlib.sha256(
            json.dumps([action, fields], sort_keys=True).encode()
        ).hexdigest()
        with self._lock:  # one action at a time in this process: no double kill
            earlier = self._done.get(action_id) or self.journal.get_state(_STATE_PREFIX + action_id)
            if isinstance(earlier, dict) and earlier.get("result"):
                if earlier.get("fingerprint") != fingerprint:
                    raise ActionRefusedError(
                        409, f"action id {action_id} was used for a different request"
                    )
                return m.ActionResult(**{**earlier["result"], "replayed": True})
            self._check_mode(body)
            targets = self._targets(body)
            detail = self._do(action, body, action_id, targets)
            result = m.ActionResult(
                action_id=action_id,
                action=action,
                accepted=True,
                detail=detail,
                who=who,
                mode=body.mode,
            )
            record = {"fingerprint": fingerprint, "result": result.model_dump()}
            self._done[action_id] = record
            self.journal.record_event(
                "api.action",
                {
                    "id": action_id,
                    "action": action,
                    "who": who,
                    "reason": body.reason,
                    "args": fields,
                    "detail": detail,
                    "pid": os.getpid(),
                },
                strategy=body.strategy or None,
            )
            self.journal.set_state(_STATE_PREFIX + action_id, record)
            self.journal.flush(5.0)
            return result

    # -- checks --------------------------------------------------------------------------
    def _check_mode(self, body: m.ActionBody) -> None:
        mode = self.config.trading_mode
        if body.mode != mode:
            raise ActionRefusedError(
                409, f"mode mismatch: this account trades {mode.upper()}, not {body.mode.upper()}"
            )
        for runner in self.view.status().runners:
            if runner.alive and runner.mode and runner.mode != mode:
                raise ActionRefusedError(
                    409,
                    f"mode mismatch: runner {runner.strategy} trades {runner.mode.upper()} on "
                    f"this journal, the config says {mode.upper()}",
                )

    def _targets(self, body: m.ActionBody) -> list[str]:
        known = self.view.strategies()
        if body.strategy and body.strategy not in known:
            raise ActionRefusedError(404, f"no runner named {body.strategy!r} in this journal")
        return [body.strategy] if body.strategy else known

    # -- the actions ---------------------------------------------------------------------
    def _do(self, action: str, body: m.ActionBody, action_id: str, targets: list[str]) -> str:
        from real_trade.risk.state import TradingState
        from real_trade.risk.trading_state import TradingStateStore

        store = TradingStateStore(self.journal)
        if action == "pause":
            store.write(TradingState.REDUCING, f"paused: {body.reason}")
            return "new entries paused (REDUCING): runners follow at their next journal check"
        if action == "resume":
            previous = store.read()
            store.write(TradingState.ACTIVE, f"resumed: {body.reason}")
            self.journal.record_event(
                "killswitch.resumed",
                {
                    "previous_state": previous.state.value if previous else None,
                    "reason": body.reason,
                    "pid": os.getpid(),
                },
            )
            return "trading ACTIVE: runners follow at their next journal check"
        if action == "kill":
            return self._kill(body, action_id)
        if action == "cancel":
            return self._cancel(body, action_id)
        if action == "cancel_all":
            sent = [self._command(action_id, "cancel_all", {}, t, body) for t in targets]
            return f"cancel all sent to {len(sent)} runner(s): {', '.join(targets) or 'none'}"
        if action == "reload_risk":
            return self._reload_risk(body, action_id, targets)
        raise ActionRefusedError(404, f"no action {action!r}")

    def _kill(self, body: m.ActionBody, action_id: str) -> str:
        from real_trade.engine.control import KILL_REQUEST_KEY
        from real_trade.risk.state import TradingState
        from real_trade.risk.trading_state import TradingStateStore

        flatten = bool(getattr(body, "flatten", False))
        reason = f"control API: {body.reason}"
        request = {
            "id": action_id,
            "flatten": flatten,
            "reason": reason,
            "strategy": body.strategy,
            "all": not body.strategy,
            "time_ms": time.time_ns() // 1_000_000,
        }
        self.journal.record_event(
            "killswitch.requested", {**request, "mode": body.mode, "pid": os.getpid()}
        )
        self.journal.set_state(KILL_REQUEST_KEY, request)
        if any(r.alive for r in self.view.status().runners):
            return f"kill request {action_id} (flatten={flatten}) handed to the runner"
        if self.config.trading_mode != "paper":
            return self._kill_at_venue(flatten, reason)
        TradingStateStore(self.journal).write(TradingState.HALTED, reason)
        return (
            "no runner alive: trading HALTED in the journal (a paper account lives inside its "
            "runner: nothing open to cancel; a restarted runner starts halted)"
        )

    def _kill_at_venue(self, flatten: bool, reason: str) -> str:
        """No runner alive on a testnet or live account: the kill switch acts at the venue, as
        ``real-trade kill`` does."""
        from real_trade.cli.commands.kill import kill_at_venue
        from real_trade.utils.logger import mask_secrets

        config = self.config
        symbols = list(dict.fromkeys([config.symbol, *config.run.symbols]))
        try:
            report = kill_at_venue(config, self.journal, flatten, reason, symbols)
        except Exception as exc:  # unreachable venue, refused keys: said, never raised
            error = mask_secrets(f"{type(exc).__name__}: {exc}")
            return (
                f"no runner alive: trading HALTED, but the venue account was not cleaned: {error}"
            )
        return f"no runner alive: at the venue: {report.summary()}"

    def _cancel(self, body: m.ActionBody, action_id: str) -> str:
        wanted = str(getattr(body, "client_order_id", ""))
        found = [
            o
            for o in self.journal.orders(strategy=body.strategy or None, open_only=True)
            if o.client_order_id == wanted
        ]
        if not found:
            raise ActionRefusedError(404, f"no open order {wanted!r} in this journal")
        order = found[-1]
        args = {"client_order_id": wanted, "local_id": order.local_id}
        self._command(action_id, "cancel", args, order.strategy, body)
        return f"cancel of {wanted} sent to runner {order.strategy}"

    def _reload_risk(self, body: m.ActionBody, action_id: str, targets: list[str]) -> str:
        from real_trade.config import RealTradeConfig
        from real_trade.errors import ConfigError

        if not self.config_path:
            raise ActionRefusedError(409, "no config file to reload the risk limits from")
        try:
            risk = RealTradeConfig.load(self.config_path).risk
        except ConfigError as exc:
            raise ActionRefusedError(422, f"the config file does not load: {exc}") from exc
        args = {"risk": risk.model_dump(mode="json")}
        for target in targets:
            self._command(action_id, "reload_risk", args, target, body)
        return f"risk limits of {self.config_path} sent to {', '.join(targets) or 'no runner'}"

    def _command(
        self, action_id: str, action: str, args: dict[str, Any], target: str, body: m.ActionBody
    ) -> str:
        from real_trade.session.control import COMMAND_KIND

        ident = f"{action_id}:{target}"
        self.journal.record_event(
            COMMAND_KIND,
            {"id": ident, "action": action, "args": args, "reason": body.reason},
            strategy=target or None,
        )
        return ident
