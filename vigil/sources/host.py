"""The machine Vigil runs on, read with psutil: part of the embedded default.

psutil has no history, so each pull records one sample per metric at the current step.
Network throughput is a rate, so the source keeps the previous counter reading.
"""

from __future__ import annotations

import os
import socket
import time

import pandas as pd
import psutil

from vigil.labels import series_key
from vigil.sources.base import PullResult

_METRICS = {
    "node_cpu_utilisation_ratio": "ratio",
    "node_memory_used_ratio": "ratio",
    "node_filesystem_used_ratio": "ratio",
    "node_network_receive_bytes_per_second": "bytes/s",
    "node_network_transmit_bytes_per_second": "bytes/s",
    "node_load1": "count",
}


class HostSource:
    """CPU, memory, disk, network and load of this host."""

    name = "host"

    def __init__(self, step_seconds: int = 60, disk_path: str = "/") -> None:
        self.step_seconds = step_seconds
        self.disk_path = disk_path
        self.instance = socket.gethostname()
        self._last_net: tuple[float, int, int] | None = None
        psutil.cpu_percent(interval=None)  # prime: the first reading is meaningless

    def _labels(self) -> dict[str, str]:
        return {"instance": self.instance, "job": "host", "service": "vigil-host"}

    def _network_rates(self) -> tuple[float, float]:
        counters = psutil.net_io_counters()
        now = time.monotonic()
        previous, self._last_net = self._last_net, (now, counters.bytes_recv, counters.bytes_sent)
        if previous is None or now <= previous[0]:
            return float("nan"), float("nan")
        elapsed = now - previous[0]
        return (
            max(counters.bytes_recv - previous[1], 0) / elapsed,
            max(counters.bytes_sent - previous[2], 0) / elapsed,
        )

    def read(self) -> dict[str, float]:
        """Current values of every host metric (NaN where unknown)."""
        rx, tx = self._network_rates()
        return {
            "node_cpu_utilisation_ratio": psutil.cpu_percent(interval=None) / 100.0,
            "node_memory_used_ratio": psutil.virtual_memory().percent / 100.0,
            "node_filesystem_used_ratio": psutil.disk_usage(self.disk_path).percent / 100.0,
            "node_network_receive_bytes_per_second": rx,
            "node_network_transmit_bytes_per_second": tx,
            "node_load1": os.getloadavg()[0],
        }

    def catalog(self) -> pd.DataFrame:
        labels = self._labels()
        return pd.DataFrame(
            {
                "series_key": [series_key(m, labels) for m in _METRICS],
                "metric": list(_METRICS),
                "labels": [labels] * len(_METRICS),
                "unit": list(_METRICS.values()),
                "service": labels["service"],
                "host": self.instance,
            }
        )

    def backfill_start(self, now: pd.Timestamp) -> pd.Timestamp:
        return now

    def pull(self, start: pd.Timestamp, end: pd.Timestamp) -> PullResult:
        """One sample per metric at the latest step boundary before ``end``."""
        ts = (end - pd.Timedelta(microseconds=1)).floor(f"{self.step_seconds}s")
        values = self.read()
        labels = self._labels()
        samples = pd.DataFrame(
            {
                "series_key": [series_key(m, labels) for m in values],
                "ts": pd.Timestamp(ts),
                "value": list(values.values()),
            }
        ).dropna(subset=["value"])
        return PullResult(samples=samples, catalog=self.catalog())
