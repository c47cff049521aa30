"""``MetricsServer``: the HTTP ``/metrics`` endpoint of one exporter's registry.

prometheus_client's own WSGI server on a daemon thread, serving only the exporter's registry
(never the process-wide default one). :func:`start_metrics` is what ``real-trade run`` calls
when ``[metrics] enabled = true``: it builds the exporter, attaches it to the run's bus and
starts the server, and a port that cannot be bound is a :class:`~real_trade.errors.ConfigError`
naming ``metrics.port``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from prometheus_client import start_http_server

from real_trade.bus import EventBus
from real_trade.config.metrics import MetricsConfig
from real_trade.errors import ConfigError
from real_trade.monitor.prometheus.exporter import MetricsExporter

__all__ = ["MetricsServer", "start_metrics"]

_log = logging.getLogger("real_trade.monitor.prometheus")


class MetricsServer:
    """Serves ``exporter``'s registry on ``http://host:port/metrics`` until :meth:`stop`."""

    def __init__(self, exporter: MetricsExporter, host: str = "127.0.0.1", port: int = 0) -> None:
        """Bind and start serving at once (``port=0``: any free port, see :attr:`port`)."""
        self.exporter = exporter
        self.host = host
        try:
            server, thread = start_http_server(port, addr=host, registry=exporter.registry)
        except OSError as exc:
            fix = "set [metrics] port to a free port (or stop what listens there)"
            raise ConfigError(
                f"config field 'metrics.port': cannot serve /metrics on {host}:{port}: "
                f"{exc.strerror or exc}. Fix: {fix}.",
                field="metrics.port",
                fix=fix,
            ) from None
        self._server: Any = server
        self._thread: threading.Thread = thread
        self.port: int = int(server.server_port)

    @property
    def url(self) -> str:
        """The endpoint's URL (``http://127.0.0.1:9188/metrics``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        """Stop serving and release the port; harmless twice."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            self._thread.join(5.0)

    def __repr__(self) -> str:
        state = "stopped" if self._server is None else "serving"
        return f"MetricsServer({self.url}, {state})"


def start_metrics(
    config: MetricsConfig, bus: EventBus, exporter: MetricsExporter | None = None, **info: str
) -> MetricsServer:
    """Attach ``exporter`` (a new one built with ``info``: ``timeframe``, ``bot``, ``exchange``,
    ``mode``) to ``bus`` and serve it on ``config.host``:``config.port``."""
    if exporter is None:
        exporter = MetricsExporter(
            timeframe=info.get("timeframe", "1m"),
            bot=info.get("bot", ""),
            exchange=info.get("exchange", ""),
            mode=info.get("mode", ""),
        )
    exporter.attach(bus)
    try:
        server = MetricsServer(exporter, config.host, config.port)
    except BaseException:
        exporter.detach()
        raise
    _log.info("metrics: serving %s", server.url)
    return server
