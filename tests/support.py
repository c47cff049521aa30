"""Helpers shared by the test suite: polling instead of sleeping, and service availability."""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

import pytest

T = TypeVar("T")

__all__ = [
    "LEAK_WARNINGS",
    "assert_no_leak_warnings",
    "eventually",
    "eventually_async",
    "require_service",
    "services_required",
]

LEAK_WARNINGS = (
    "requires to release all resources",  # ccxt: an async exchange never closed
    "Unclosed client session",  # aiohttp
    "Unclosed connector",  # aiohttp
    "Task was destroyed but it is pending",  # asyncio: a task left on a closed loop
)
"""What a process that left a ccxt client, an aiohttp session or a task open prints at exit."""


def eventually(
    condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.01, message: str = ""
) -> T:
    """Poll ``condition`` until it returns a truthy value and return that value.

    Raises AssertionError (with ``message`` and the last value) when ``timeout`` seconds pass
    first. Tests use this instead of fixed sleeps, so they are as fast as the system allows.
    """
    deadline = time.monotonic() + timeout
    value = condition()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"condition not met within {timeout}s: {message} (last: {value!r})"
            )
        time.sleep(interval)
        value = condition()
    return value


@overload
async def eventually_async(
    condition: Callable[[], Awaitable[T]],
    timeout: float = ...,
    interval: float = ...,
    message: str = ...,
) -> T: ...


@overload
async def eventually_async(
    condition: Callable[[], T],
    timeout: float = ...,
    interval: float = ...,
    message: str = ...,
) -> T: ...


async def eventually_async(
    condition: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.01,
    message: str = "",
) -> Any:
    """The async twin of :func:`eventually`, for test bodies that run on an event loop.

    ``condition`` is a plain or an async callable (awaited on each call, so it may itself wait
    for the next websocket message); polls it every ``interval`` seconds until it returns a
    truthy value and returns that value. The deadline also cuts a call in progress; on expiry it
    raises AssertionError with ``message`` and the last value.
    """
    last: object = None
    try:
        async with asyncio.timeout(timeout) as deadline:
            while True:
                value = condition()
                if inspect.isawaitable(value):
                    value = await value
                if value:
                    return value
                last = value
                await asyncio.sleep(interval)
    except TimeoutError:
        if not deadline.expired():
            raise  # a timeout of the condition itself, not ours
        raise AssertionError(
            f"condition not met within {timeout}s: {message} (last: {last!r})"
        ) from None


def services_required() -> bool:
    """True when RT_REQUIRE_SERVICES=1: a missing PostgreSQL or Redis then fails the test."""
    return os.environ.get("RT_REQUIRE_SERVICES", "") not in ("", "0", "false", "False")


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or fail, when services are required) unless ``host:port`` accepts connections."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        reason = f"{name} not reachable at {host}:{port} ({exc})"
        if services_required():
            pytest.fail(f"{reason}; RT_REQUIRE_SERVICES=1 demands it")
        pytest.skip(f"{reason}; set it up or unset the test's need for it")


def assert_no_leak_warnings(text: str, what: str = "the process") -> None:
    """Fail when ``text``, a process's output, shows a resource left open (LEAK_WARNINGS)."""
    found = [warning for warning in LEAK_WARNINGS if warning in text]
    assert not found, f"{what} left resources open ({', '.join(found)}):\n{text[-3000:]}"
