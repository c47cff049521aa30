"""The ``[metrics]`` section of the one config system: the Prometheus ``/metrics`` endpoint.

Off by default. ``enabled = true`` makes ``real-trade run`` serve the run's metrics (see
:mod:`real_trade.monitor.prometheus`) over HTTP on ``host``:``port`` (default
``127.0.0.1:9188``: loopback only; bind ``0.0.0.0`` only behind a firewall or a reverse proxy,
the endpoint has no authentication). ``RT_METRICS__ENABLED=1`` sets it from the environment.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import field_validator

from real_trade.config.section import ConfigSection

__all__ = ["DEFAULT_METRICS_PORT", "MetricsConfig"]

DEFAULT_METRICS_PORT = 9188
"""The port ``/metrics`` is served on unless ``[metrics] port`` says otherwise."""


class MetricsConfig(ConfigSection):
    """Whether and where the Prometheus endpoint listens: ``enabled``, ``host``, ``port``.

    ``port = 0`` picks a free port (tests; the chosen one is logged and reported by
    :attr:`real_trade.monitor.prometheus.MetricsServer.port`).
    """

    _section_path: ClassVar[str] = "metrics"

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = DEFAULT_METRICS_PORT

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
