"""Delivery channels: Telegram, a generic JSON webhook, e-mail (SMTP) and Apprise.

Each channel has a ``name``, a ``min_interval`` (seconds between two messages: its rate limit)
and a blocking :meth:`Channel.send` called only by the delivery worker's thread. Failures are
raised in the house tree (:mod:`real_trade.errors`): a 429 is a
:class:`~real_trade.errors.RateLimitError` carrying the server's ``retry_after``; a network
failure or a 5xx a :class:`~real_trade.errors.NetworkError` /
:class:`~real_trade.errors.ExchangeUnavailableError` (retried with backoff); a refused token an
:class:`~real_trade.errors.AuthenticationError` and any other 4xx a
:class:`~real_trade.errors.FinalError`. Error texts are masked (:func:`real_trade.errors.redact`),
so a bot token in a URL never reaches a log line.

Apprise (``pip install apprise``) is imported only when an ``apprise`` URL is configured.
"""

from __future__ import annotations

import email.message
import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from real_trade.errors import (
    AuthenticationError,
    ConfigError,
    ExchangeUnavailableError,
    FinalError,
    NetworkError,
    RateLimitError,
    RealTradeError,
    redact,
)
from real_trade.notifications.config import (
    EmailChannelConfig,
    NotificationsConfig,
    TelegramChannelConfig,
    WebhookChannelConfig,
)

__all__ = [
    "AppriseChannel",
    "Channel",
    "EmailChannel",
    "Message",
    "TelegramChannel",
    "WebhookChannel",
    "build_channels",
]


@dataclass(frozen=True)
class Message:
    """What a channel sends: ``title``, ``body``, the event ``kind``(s), ``silent`` (no sound),
    ``count`` (alerts folded into it: more than one for a digest) and the ``strategy``."""

    title: str
    body: str
    kind: str
    silent: bool = False
    count: int = 1
    strategy: str = ""

    @property
    def text(self) -> str:
        """Title and body as one plain text."""
        return f"{self.title}\n{self.body}" if self.body else self.title


class Channel(Protocol):
    """A place alerts go; ``send`` blocks and raises a :class:`RealTradeError` on failure."""

    name: str
    min_interval: float

    def send(self, message: Message) -> None:
        """Deliver one message or raise."""
        ...


def _retry_after(headers: Any, body: Any) -> float | None:
    params = body.get("parameters") if isinstance(body, dict) else None
    if isinstance(params, dict) and isinstance(params.get("retry_after"), int | float):
        return float(params["retry_after"])
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _http_error(where: str, status: int, headers: Any, raw: bytes) -> RealTradeError:
    try:
        body: Any = json.loads(raw.decode("utf-8", "replace")) if raw else None
    except ValueError:
        body = None
    detail = body.get("description") if isinstance(body, dict) else None
    text = redact(f"{where} answered HTTP {status}" + (f": {detail}" if detail else ""))
    if status == 429:
        return RateLimitError(text, retry_after=_retry_after(headers, body))
    if status >= 500:
        return ExchangeUnavailableError(text, retry_after=_retry_after(headers, body))
    if status in (401, 403):
        return AuthenticationError(text)
    return FinalError(text)


def _post_json(
    where: str, url: str, payload: dict[str, Any], headers: dict[str, str], timeout: float
) -> Any:
    data = json.dumps(payload).encode()
    if not url.startswith(("http://", "https://")):
        raise FinalError(f"{where}: only http(s) URLs are allowed")
    request = urllib.request.Request(  # noqa: S310  (the scheme is checked just above)
        url, data=data, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise _http_error(where, exc.code, exc.headers, exc.read()) from None
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NetworkError(redact(f"{where} unreachable: {reason}")) from None
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class TelegramChannel:
    """Telegram Bot API ``sendMessage`` to one chat (``disable_notification`` when silent)."""

    name = "telegram"

    def __init__(self, config: TelegramChannelConfig) -> None:
        """Send as the bot of ``config.bot_token`` to ``config.chat_id``."""
        self.config = config
        self.min_interval = config.min_interval

    def __repr__(self) -> str:
        """The chat and base URL; never the token."""
        return (
            f"TelegramChannel(chat_id={self.config.chat_id!r}, base_url={self.config.base_url!r})"
        )

    def send(self, message: Message) -> None:
        """POST ``sendMessage``; a 429 raises RateLimitError with Telegram's ``retry_after``."""
        token = self.config.bot_token.get_secret_value()
        url = f"{self.config.base_url.rstrip('/')}/bot{token}/sendMessage"
        payload = {
            "chat_id": self.config.chat_id,
            "text": message.text[:4096],
            "disable_notification": message.silent,
            "disable_web_page_preview": True,
        }
        answer = _post_json("Telegram", url, payload, {}, self.config.timeout)
        if isinstance(answer, dict) and answer.get("ok") is False:
            raise FinalError(redact(f"Telegram refused the message: {answer.get('description')}"))


class WebhookChannel:
    """A JSON POST per alert: ``{"title", "body", "kind", "silent", "count", "strategy",
    "text"}`` to the configured URL (a 429/5xx is retried, honouring ``Retry-After``)."""

    name = "webhook"

    def __init__(self, config: WebhookChannelConfig) -> None:
        """POST to ``config.url`` with ``config.headers``."""
        self.config = config
        self.min_interval = config.min_interval

    def __repr__(self) -> str:
        """Never the URL (it often carries a token)."""
        return "WebhookChannel(url='**********')"

    def send(self, message: Message) -> None:
        """POST the message as JSON."""
        payload = {
            "title": message.title,
            "body": message.body,
            "text": message.text,
            "kind": message.kind,
            "silent": message.silent,
            "count": message.count,
            "strategy": message.strategy,
        }
        _post_json(
            "the webhook",
            self.config.url.get_secret_value(),
            payload,
            dict(self.config.headers),
            self.config.timeout,
        )


class EmailChannel:
    """One e-mail per message over SMTP (STARTTLS or SSL when configured, login when given)."""

    name = "email"

    def __init__(self, config: EmailChannelConfig) -> None:
        """Send through ``config.host:config.port`` from ``config.sender``."""
        self.config = config
        self.min_interval = config.min_interval

    def __repr__(self) -> str:
        """Server and recipients; never the password."""
        return f"EmailChannel(host={self.config.host!r}, recipients={self.config.recipients!r})"

    def send(self, message: Message) -> None:
        """Send one mail; refused credentials raise AuthenticationError, the rest NetworkError."""
        c = self.config
        mail = email.message.EmailMessage()
        mail["Subject"] = f"[real_trade] {message.title}"[:200]
        mail["From"] = c.sender
        mail["To"] = ", ".join(c.recipients)
        mail.set_content(message.text)
        try:
            factory = smtplib.SMTP_SSL if c.ssl else smtplib.SMTP
            with factory(c.host, c.port, timeout=c.timeout) as smtp:
                if c.starttls and not c.ssl and smtp.has_extn("starttls"):
                    smtp.starttls()
                if c.username and c.password is not None:
                    smtp.login(c.username, c.password.get_secret_value())
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise AuthenticationError(redact(f"SMTP login refused: {exc.smtp_code}")) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise FinalError(redact(f"SMTP refused the recipients: {exc}")) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise NetworkError(redact(f"SMTP {c.host}:{c.port} failed: {exc}")) from None


class AppriseChannel:
    """The long tail (Discord, Slack, Matrix, Pushover, ntfy, ... ~100 services) through
    Apprise URLs; needs ``pip install apprise``, imported when the channel is built."""

    name = "apprise"

    def __init__(self, urls: list[str], min_interval: float = 1.0) -> None:
        """Notify every Apprise URL of ``urls``."""
        try:
            import apprise
        except ImportError:
            raise ConfigError(
                "notifications.apprise is set but the apprise package is not installed",
                field="notifications.apprise",
                fix="pip install apprise (or remove notifications.apprise)",
            ) from None
        self._apprise = apprise.Apprise()
        for url in urls:
            if not self._apprise.add(url):
                raise ConfigError(
                    "notifications.apprise holds a URL Apprise does not understand",
                    field="notifications.apprise",
                    fix="check the URL against https://github.com/caronc/apprise/wiki",
                )
        self.min_interval = min_interval

    def __repr__(self) -> str:
        """Never the URLs."""
        return f"AppriseChannel(urls={len(self._apprise)})"

    def send(self, message: Message) -> None:
        """Notify all URLs; Apprise reports only success or failure, retried as a network one."""
        if not self._apprise.notify(body=message.body or message.title, title=message.title):
            raise NetworkError("Apprise could not deliver to every URL")


def build_channels(config: NotificationsConfig) -> list[Channel]:
    """The channels a config sets up, in :attr:`NotificationsConfig.channel_names` order."""
    channels: list[Channel] = []
    if config.telegram is not None:
        channels.append(TelegramChannel(config.telegram))
    if config.webhook is not None:
        channels.append(WebhookChannel(config.webhook))
    if config.email is not None:
        channels.append(EmailChannel(config.email))
    if config.apprise:
        channels.append(AppriseChannel([u.get_secret_value() for u in config.apprise]))
    return channels
