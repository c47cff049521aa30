"""Prometheus metrics of a run: the ``realtrade_*`` families, fed by the bus, served on HTTP.

:class:`MetricsExporter` subscribes to the run's bus (nothing on the trading path calls it) and
keeps the counters, gauges and histograms of :class:`RunMetrics` in a registry of its own;
:class:`MetricsServer` serves that registry on ``/metrics``; :func:`start_metrics` does both for
``real-trade run`` when the config's ``[metrics]`` section is enabled. :data:`METRIC_NAMES` is
every sample name the endpoint can expose. See ``docs/metrics.md``.
"""

from real_trade.monitor.prometheus.exporter import MetricsExporter
from real_trade.monitor.prometheus.families import METRIC_NAMES, RunMetrics
from real_trade.monitor.prometheus.server import MetricsServer, start_metrics

__all__ = ["METRIC_NAMES", "MetricsExporter", "MetricsServer", "RunMetrics", "start_metrics"]
