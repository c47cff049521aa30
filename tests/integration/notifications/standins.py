"""Local stand-ins the notification tests talk to: a Telegram Bot API server, a webhook
receiver (both aiohttp on loopback, each on its own thread and event loop) and an SMTP server
(aiosmtpd). Each records what it received; the Telegram one can answer 429 with
``retry_after`` or be "down" (502) on demand, and the webhook one can be stopped and started
again on the same port."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller

__all__ = ["SmtpStandIn", "TelegramStandIn", "WebhookStandIn", "free_port"]

TOKEN = "123456:TEST-token-never-logged"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _HttpStandIn:
    """An aiohttp app served on 127.0.0.1 from a background thread."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[dict[str, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:  # pragma: no cover - overridden
        raise NotImplementedError

    def start(self) -> Any:
        ready = threading.Event()
        loop = self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            self._runner = web.AppRunner(self.app(), access_log=None)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(serve())
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(10), "stand-in did not start"
        return self

    def stop(self) -> None:
        loop, runner = self._loop, self._runner
        if loop is None or runner is None:
            return
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        self._loop = self._runner = None


class TelegramStandIn(_HttpStandIn):
    """``POST /bot<token>/sendMessage`` as the Bot API answers it; ``rate_limit(n, after)``
    makes the next ``n`` calls answer 429 with ``retry_after``; ``down`` answers 502."""

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.down = False
        self.attempts = 0
        self._limited = 0
        self._retry_after = 0

    def rate_limit(self, times: int, retry_after: int) -> None:
        self._limited, self._retry_after = times, retry_after

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/sendMessage", self._send)
        return app

    async def _send(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        if self.down:
            return web.Response(status=502, text="Bad Gateway")
        if self._limited > 0:
            self._limited -= 1
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {self._retry_after}",
                    "parameters": {"retry_after": self._retry_after},
                },
                status=429,
            )
        body = await request.json()
        self.received.append(body)
        return web.json_response({"ok": True, "result": {"message_id": len(self.received)}})

    @property
    def texts(self) -> list[str]:
        return [str(m["text"]) for m in self.received]


class WebhookStandIn(_HttpStandIn):
    """Records every JSON body POSTed to ``/hook``; ``rate_limit(n, after)`` makes the next
    ``n`` posts answer 429 with a ``Retry-After: after`` header."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__(port)
        self.attempts = 0
        self._limited = 0
        self._retry_after = 0

    def rate_limit(self, times: int, retry_after: int) -> None:
        self._limited, self._retry_after = times, retry_after

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        return app

    async def _hook(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self._limited > 0:
            self._limited -= 1
            return web.Response(status=429, headers={"Retry-After": str(self._retry_after)})
        self.received.append(json.loads(await request.text()))
        return web.json_response({"ok": True})

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hook"


@dataclass
class _Mailbox:
    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


class SmtpStandIn:
    """An aiosmtpd server on loopback keeping every mail it accepts."""

    def __init__(self) -> None:
        self.mailbox = _Mailbox()
        self.port = free_port()
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpStandIn:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.mailbox.messages]
