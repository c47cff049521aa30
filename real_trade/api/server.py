"""``ApiServer``: the control API and dashboard of one account, served on an IoLoop thread.

``real-trade serve CONFIG.toml`` runs one in the foreground; ``real-trade run`` starts one beside
the runner when the config's ``[api] enabled = true``. The server opens its own handle on the
config's journal (it is another reader and writer, like ``real-trade kill``), checks where it
may listen (:func:`~real_trade.api.security.check_bind`), and issues the first token when the
token store has none (:attr:`ApiServer.first_token`, shown once by the caller).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiohttp import web

from real_trade.api.actions import ActionDesk
from real_trade.api.app import build_app
from real_trade.api.reads import JournalView
from real_trade.api.security import check_bind
from real_trade.api.tokens import IssuedToken, TokenAuthority, TokenStore, token_store_for
from real_trade.errors import ConfigError
from real_trade.utils.tls import server_tls_context
from real_trade.venues.ioloop import IoLoop

__all__ = ["ApiServer", "serve_beside_run"]


class ApiServer:
    """Serves the control API for ``config`` (a RealTradeConfig) until :meth:`stop`.

    ``config_path`` is where risk limits are reloaded from; ``journal`` an open Journal to
    use (default: one opened on ``config.journal.url``, closed by :meth:`stop`); ``store`` the
    token store (default: what :func:`~real_trade.api.tokens.token_store_for` picks);
    ``issue_first``: create the first token when the store has none (the caller shows it once).
    """

    def __init__(
        self,
        config: Any,
        *,
        config_path: str | None = None,
        journal: Any = None,
        store: TokenStore | None = None,
        issue_first: bool = True,
    ) -> None:
        """Check the bind address and prepare; nothing listens until :meth:`start`."""
        api = config.api
        check_bind(api.host, tls=api.tls, allow_remote=api.allow_remote)
        self.config = config
        self._own_journal = journal is None
        if journal is None:
            from real_trade.persistence import Journal

            journal = Journal(config.journal.url)
        self.journal = journal
        self.authority = TokenAuthority(
            store if store is not None else token_store_for(config),
            ttl_s=api.token_ttl_hours * 3600,
        )
        self.first_token: IssuedToken | None = self.authority.first_token() if issue_first else None
        view = JournalView(journal, config)
        self.app = build_app(
            view,
            ActionDesk(view, config_path),
            self.authority,
            cors_origins=list(api.cors_origins),
            max_body_bytes=api.max_body_bytes,
            failed_logins_per_minute=api.failed_logins_per_minute,
        )
        self._loop = IoLoop("control-api")
        self._runner: web.AppRunner | None = None
        self.port: int = api.port

    @property
    def url(self) -> str:
        """Where the dashboard is (``http://127.0.0.1:8787/``)."""
        host = self.config.api.host
        host = f"[{host}]" if ":" in host else host
        scheme = "https" if self.config.api.tls else "http"
        return f"{scheme}://{host}:{self.port}/"

    def start(self) -> ApiServer:
        """Listen (``port = 0``: any free port, then :attr:`port`); ConfigError when it cannot."""
        loop = self._loop.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), loop)
        try:
            future.result(30.0)
        except OSError as exc:
            self.stop()
            api = self.config.api
            fix = "set [api] port to a free port (or stop what listens there)"
            raise ConfigError(
                f"config field 'api.port': cannot listen on {api.host}:{api.port}: "
                f"{exc.strerror or exc}. Fix: {fix}.",
                field="api.port",
                fix=fix,
            ) from None
        return self

    async def _listen(self) -> None:
        api = self.config.api
        context = None
        if api.tls:
            context = server_tls_context((str(api.tls_cert), str(api.tls_key)))
        runner = self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, api.host, api.port, ssl_context=context)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    def stop(self) -> None:
        """Stop listening, end the push streams, close the journal if opened here."""
        runner, self._runner = self._runner, None
        loop = self._loop.loop
        if runner is not None and loop is not None:
            future = asyncio.run_coroutine_threadsafe(runner.cleanup(), loop)
            with contextlib.suppress(Exception):  # the loop is going away anyway
                future.result(10.0)
        self._loop.stop()
        if self._own_journal:
            self._own_journal = False
            self.journal.close()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ApiServer({self.url}, {'serving' if self._runner else 'stopped'})"


def serve_beside_run(
    config: Any, config_path: str | None, say: Callable[[str], None]
) -> ApiServer | None:
    """Start the control API for a run when its config's ``[api] enabled``; None otherwise.

    A run's output often ends in a log, so no token is printed here: with none stored, it says
    how to make one (``real-trade serve CONFIG --issue-token trade``).
    """
    if not config.api.enabled:
        return None
    server = ApiServer(config, config_path=config_path, issue_first=False).start()
    say(f"control API and dashboard on {server.url}")
    if not any(not r.expired(server.authority.now_ms()) for r in server.authority.records()):
        say("no API token yet: make one with `real-trade serve CONFIG.toml --issue-token trade`")
    return server
