"""Logging for real_trade: console and rotating-file handlers, JSON lines, secret masking.

``setup_logger()`` configures a logger (``"real_trade"`` by default) once, idempotently: calling
it again replaces the handlers it installed before instead of adding more. Every handler it
creates carries a :class:`SecretMaskingFilter`, which rewrites each record so that no registered
secret (see :func:`register_secret`) and nothing :func:`real_trade.errors.redact` recognises
(``apiKey=...``, ``signature=...``, ``secret=...``) reaches the output: not in the message, not
in its ``%``-arguments, not in an exception traceback, not in ``extra`` fields.

Secrets are registered automatically by :class:`real_trade.config.RealTradeConfig` when a config
holding API keys is created, so a key that went through the config can never be logged.
"""

from __future__ import annotations

import json as _json
import logging
import re
import threading
import urllib.parse
from collections.abc import Mapping
from datetime import datetime, timezone
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, Protocol

from real_trade.errors import redact

__all__ = [
    "DEFAULT_FORMAT",
    "LOG_LEVELS",
    "MASK",
    "MIN_SECRET_LENGTH",
    "ROOT_LOGGER_NAME",
    "JsonLinesFormatter",
    "MaskingFormatter",
    "SecretMaskingFilter",
    "get_logger",
    "mask_secrets",
    "parse_level",
    "register_secret",
    "setup_logger",
]

ROOT_LOGGER_NAME = "real_trade"
DEFAULT_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MASK = "**********"
MIN_SECRET_LENGTH = 6
_DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_HANDLER_MARK = "_real_trade_handler"
_LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}


class _SecretValue(Protocol):
    """Anything shaped like pydantic's ``SecretStr``."""

    def get_secret_value(self) -> str:
        """Return the plain secret."""
        ...


class _SecretRegistry:
    """Thread-safe set of secret strings with a lazily rebuilt matching pattern."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._pattern = None

    def pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            return self._pattern


_REGISTRY = _SecretRegistry()


def register_secret(value: str | _SecretValue | None) -> None:
    """Register a secret so that no log line written through our handlers can show it.

    Accepts a plain string or a ``SecretStr``-like object; ``None`` is ignored, and so are values
    shorter than :data:`MIN_SECRET_LENGTH` characters (masking those would mangle ordinary words).
    The percent-encoded form is registered too, because keys travel in query strings. Safe to
    call from any thread, any number of times.
    """
    if value is None:
        return
    plain = value if isinstance(value, str) else value.get_secret_value()
    plain = plain.strip()
    if len(plain) < MIN_SECRET_LENGTH:
        return
    _REGISTRY.add(plain)
    quoted = urllib.parse.quote(plain, safe="")
    if quoted != plain:
        _REGISTRY.add(quoted)


def mask_secrets(text: str) -> str:
    """Return ``text`` with every registered secret and every redact() pattern masked.

    Registered secrets are replaced by :data:`MASK`; then :func:`real_trade.errors.redact` masks
    credentials recognisable by shape (``apiKey=...``, ``signature=...``, ``secret=...``).
    """
    pattern = _REGISTRY.pattern()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return redact(text)


def parse_level(level: str | int) -> int:
    """Turn a level name (any case, ``WARN`` accepted) or number into a logging level number.

    Raises ``ValueError`` naming the allowed names when the level is unknown or negative.
    """
    if isinstance(level, bool):
        raise ValueError(f"log level must be a name or a number, not {level!r}")
    if isinstance(level, int):
        if level < 0:
            raise ValueError(f"log level must not be negative, got {level}")
        return level
    name = str(level).strip().upper()
    if name.isdigit():
        return int(name)
    name = _LEVEL_ALIASES.get(name, name)
    if name not in LOG_LEVELS:
        raise ValueError(f"unknown log level {level!r}: use one of {', '.join(LOG_LEVELS)}")
    return int(logging.getLevelName(name))


_STANDARD_RECORD_ATTRS = frozenset(
    [*logging.LogRecord("", 0, "", 0, "", (), None).__dict__, "message", "asctime", "taskName"]
)
_EXC_FORMATTER = logging.Formatter()


def _extra_items(record: logging.LogRecord) -> Mapping[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_RECORD_ATTRS}


class SecretMaskingFilter(logging.Filter):
    """A handler filter that masks secrets in a record before any formatter sees it.

    The message is formatted with its arguments, masked, and stored back with the arguments
    cleared, so neither ``record.msg`` nor ``record.args`` carries a secret any more; the exception
    and stack text are rendered and masked the same way, and so are string ``extra`` fields. The
    filter never drops a record and never raises: a record whose arguments do not fit its format
    string is written as the format string followed by its (masked) arguments.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask ``record`` in place and let it through."""
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg} [unformattable log arguments: {record.args!r}]"
        record.msg = mask_secrets(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = _EXC_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info)
        for key, value in _extra_items(record).items():
            if isinstance(value, str):
                setattr(record, key, mask_secrets(value))
        return True


class MaskingFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose final text is masked once more.

    The filter already cleaned message, arguments and traceback; this also covers any other
    attribute a custom format string pulls in.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as usual, then mask secrets in the result."""
        return mask_secrets(super().format(record))


def _masked_jsonable(value: Any) -> Any:
    if isinstance(value, str):
        return mask_secrets(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _masked_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked_jsonable(v) for v in value]
    return mask_secrets(str(value))


class JsonLinesFormatter(logging.Formatter):
    """Formats each record as one JSON object on one line.

    Keys: ``ts`` (ISO 8601, UTC, milliseconds), ``level``, ``logger``, ``message``, every ``extra``
    field given to the logging call, ``exc_info`` (the traceback as text) and ``stack_info`` when
    present. Values that JSON cannot hold are written as their ``str()``; every string is masked.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as a single JSON line."""
        ts = datetime.fromtimestamp(record.created, tz=timezone.utc)
        payload: dict[str, Any] = {
            "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _extra_items(record).items():
            if key not in payload:
                payload[key] = value
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc_info"] = record.exc_text
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return _json.dumps(_masked_jsonable(payload), ensure_ascii=False)


_SETUP_LOCK = threading.Lock()
_CONFIGURED_NAMES: set[str] = set()  # every name setup_logger() configured, for get_logger()


def setup_logger(
    name: str = ROOT_LOGGER_NAME,
    level: str | int = "INFO",
    log_file: str | Path | None = None,
    fmt: str | None = None,
    *,
    json: bool = False,
    max_bytes: int = _DEFAULT_MAX_BYTES,
    backup_count: int = 5,
    console: bool = True,
) -> logging.Logger:
    """Configure and return the logger ``name``: console output, optional rotating file.

    ``level`` is a name (``"DEBUG"``, ``"info"``, ...) or a number. With ``log_file`` a
    ``RotatingFileHandler`` (``max_bytes`` per file, ``backup_count`` old files kept) writes UTF-8
    to that path, creating parent directories. ``fmt`` is a ``logging`` format string (the seed's
    ``"%(asctime)s - %(name)s - %(levelname)s - %(message)s"`` by default); ``json=True`` writes
    JSON lines instead. ``console=False`` leaves out the stderr handler. Every handler created here
    masks secrets. Idempotent: a second call replaces the handlers the first one installed
    (handlers added by other code are kept), so handlers are never duplicated.
    """
    numeric_level = parse_level(level)
    if max_bytes < 0:
        raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
    if backup_count < 0:
        raise ValueError(f"backup_count must be >= 0, got {backup_count}")
    formatter: logging.Formatter = (
        JsonLinesFormatter() if json else MaskingFormatter(fmt or DEFAULT_FORMAT)
    )
    logger = logging.getLogger(name)
    with _SETUP_LOCK:
        for handler in list(logger.handlers):
            if getattr(handler, _HANDLER_MARK, False):
                logger.removeHandler(handler)
                handler.close()
        handlers: list[logging.Handler] = []
        if console:
            handlers.append(logging.StreamHandler())
        if log_file is not None:
            path = Path(log_file).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(
                RotatingFileHandler(
                    path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
                )
            )
        for handler in handlers:
            handler.setFormatter(formatter)
            handler.addFilter(SecretMaskingFilter())
            setattr(handler, _HANDLER_MARK, True)
            logger.addHandler(handler)
        logger.setLevel(numeric_level)
        _CONFIGURED_NAMES.add(name)
    return logger


def get_logger(name: str) -> logging.Logger:
    """Return the logger :func:`setup_logger` configured as ``name``, else one under ``real_trade``.

    After ``setup_logger("my_app", ...)``, ``get_logger("my_app")`` is that very logger, with
    its handlers. Any other name lives inside the ``real_trade`` hierarchy: ``"broker"`` gives
    ``real_trade.broker``; a name that already is ``real_trade`` or starts with ``real_trade.``
    is used as it is. Records from these loggers reach the handlers that :func:`setup_logger`
    installed on ``real_trade`` and are masked there. (A ``get_logger(name)`` made before
    ``setup_logger(name)`` already returned the ``real_trade`` one: set up first.)
    """
    with _SETUP_LOCK:
        configured = name in _CONFIGURED_NAMES
    if configured or name == ROOT_LOGGER_NAME or name.startswith(ROOT_LOGGER_NAME + "."):
        return logging.getLogger(name)
    return logging.getLogger(f"{ROOT_LOGGER_NAME}.{name.lstrip('.')}" if name else ROOT_LOGGER_NAME)
