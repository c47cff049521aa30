"""The ``[metrics]`` section of the one config system: the Prometheus ``/metrics`` endpoint.

Off by default. ``enabled = true`` makes ``real-trade run`` serve the run's metrics (see
:mod:`real_trade.monitor.prometheus`) over HTTP on ``host``:``port`` (default
``127.0.0.1:9188``: loopback only; bind ``0.0.0.0`` only behind a firewall or a reverse proxy,
the endpoint has no authentication). ``RT_METRICS__ENABLED=1`` sets it from the environment.
"""

from __future__ import annotations

from typing import ClassVar

from real_trade.config.listen import ListenSection

__all__ = ["DEFAULT_METRICS_PORT", "MetricsConfig"]

DEFAULT_METRICS_PORT = 9188
"""The port ``/metrics`` is served on unless ``[metrics] port`` says otherwise."""


class MetricsConfig(ListenSection):
    """Whether and where the Prometheus endpoint listens: ``enabled``, ``host``, ``port``.

    ``port = 0`` picks a free port (tests; the chosen one is logged and reported by
    :attr:`real_trade.monitor.prometheus.MetricsServer.port`).
    """

    _section_path: ClassVar[str] = "metrics"

    enabled: bool = False
    port: int = DEFAULT_METRICS_PORT
