"""What every config section that listens on a socket shares: ``host`` and ``port`` checks.

:class:`ListenSection` is the base of ``[metrics]`` and ``[api]``; each names its own default
port.
"""

from __future__ import annotations

from pydantic import field_validator

from real_trade.config.section import ConfigSection

__all__ = ["ListenSection"]


class ListenSection(ConfigSection):
    """A section with ``host`` (default loopback) and ``port`` (0: any free port)."""

    host: str = "127.0.0.1"
    port: int = 0

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must name an address to listen on, such as 127.0.0.1")
        return value

    @field_validator("port")
    @classmethod
    def _check_port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError("must be a TCP port between 1 and 65535 (0: any free port)")
        return value
