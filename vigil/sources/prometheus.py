"""A Prometheus-compatible query API as a source: range queries turned into series and samples.

Each configured query is its own *partition*: the pull job keeps one watermark per query, so
a query that fails (or is added later) does not hold back or rewind the others. Times are
aligned to the step, so overlapping re-pulls ask for the same evaluation timestamps and the
store's ``INSERT OR IGNORE`` drops what it already has.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from vigil.labels import series_key
from vigil.settings import PrometheusEndpoint, PrometheusQuery
from vigil.sources.base import CATALOG_COLUMNS, SAMPLE_COLUMNS, PullResult
from vigil.sources.promql_client import PromQLClient, RetryPolicy, SourceError

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_QUERIES", "PrometheusPullResult", "PrometheusSource", "SourceError"]

# Prometheus refuses range queries of more than 11,000 points per series.
MAX_POINTS = 10_000

_REAL_FS = 'fstype!~"tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|fuse.*"'
_NET_DEVICES = 'device!~"lo|veth.*|docker.*|br-.*|virbr.*|cali.*|flannel.*|cni.*"'


def _net_rate(counter: str) -> str:
    return f"sum by (instance, job) (rate({counter}{{{_NET_DEVICES}}}[5m]))"


DEFAULT_QUERIES: tuple[PrometheusQuery, ...] = (
    PrometheusQuery(query="up"),
    PrometheusQuery(
        query='1 - avg by (instance, job) (rate(node_cpu_seconds_total{mode="idle"}[5m]))',
        rename="node_cpu_utilisation_ratio",
    ),
    PrometheusQuery(
        query="1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
        rename="node_memory_used_ratio",
    ),
    PrometheusQuery(
        query=(
            f"1 - max by (instance, job, mountpoint) (node_filesystem_avail_bytes{{{_REAL_FS}}}"
            f" / (node_filesystem_size_bytes{{{_REAL_FS}}} > 0))"
        ),
        rename="node_filesystem_used_ratio",
    ),
    PrometheusQuery(
        query=_net_rate("node_network_receive_bytes_total"),
        rename="node_network_receive_bytes_per_second",
    ),
    PrometheusQuery(
        query=_net_rate("node_network_transmit_bytes_total"),
        rename="node_network_transmit_bytes_per_second",
    ),
    PrometheusQuery(query="node_load1", rename="node_load1"),
)

_UNIT_SUFFIXES = (
    ("_bytes_per_second", "bytes/s"),
    ("_ratio", "ratio"),
    ("_bytes", "bytes"),
    ("_seconds", "seconds"),
    ("_total", "count"),
    ("_load1", "count"),
    ("_load5", "count"),
    ("_load15", "count"),
)
_NAME_OK = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


@dataclass
class PrometheusPullResult(PullResult):
    """A pull's data plus what went wrong without stopping it (caps, dropped points...)."""

    warnings: list[str] = field(default_factory=list)


def unit_of(metric: str) -> str:
    """A unit guessed from Prometheus naming conventions (``_bytes``, ``_ratio``...)."""
    if metric == "up":
        return "bool"
    return next((unit for suffix, unit in _UNIT_SUFFIXES if metric.endswith(suffix)), "")


def metric_name(text: str) -> str:
    """``text`` as a valid metric name: used for renames and for expressions without a name."""
    if _NAME_OK.match(text):
        return text
    name = re.sub(r"[^a-zA-Z0-9_:]+", "_", text).strip("_") or "query"
    if not re.match(r"[a-zA-Z_:]", name):
        name = f"q_{name}"
    if len(name) > 100:  # keep keys readable; the hash keeps long expressions apart
        name = f"{name[:90]}_{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return name


def partition_key(query: PrometheusQuery) -> str:
    """The watermark key of a query: its text, and its rename when it has one."""
    return query.query if query.rename is None else f"{query.rename} = {query.query}"


class PrometheusSource:
    """Pulls an endpoint's queries (or :data:`DEFAULT_QUERIES`) with ``query_range``."""

    def __init__(
        self,
        endpoint: PrometheusEndpoint,
        name: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.name = name or endpoint.name
        self.step_seconds = endpoint.step_seconds
        self.chunk = pd.Timedelta(seconds=endpoint.step_seconds * MAX_POINTS)
        self.client = PromQLClient(endpoint, retry)
        queries = endpoint.queries or DEFAULT_QUERIES
        self.queries = {partition_key(q): q for q in queries}

    def partitions(self) -> list[str]:
        return list(self.queries)

    def backfill_start(self, now: pd.Timestamp) -> pd.Timestamp:
        return now - pd.Timedelta(days=self.endpoint.lookback_days)

    def pull(self, start: pd.Timestamp, end: pd.Timestamp) -> PrometheusPullResult:
        """Every query over [start, end); the first failing query raises."""
        parts = [self.pull_partition(key, start, end) for key in self.queries]
        return PrometheusPullResult(
            samples=pd.concat([p.samples for p in parts], ignore_index=True),
            catalog=pd.concat([p.catalog for p in parts], ignore_index=True),
            warnings=list(chain.from_iterable(p.warnings for p in parts)),
        )

    def pull_partition(
        self, key: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> PrometheusPullResult:
        """One query over [start, end) at the endpoint's step, in requests the API accepts."""
        query = self.queries[key]
        step = pd.Timedelta(seconds=self.step_seconds)
        first = pd.Timestamp(start).as_unit("ns").ceil(step)
        last = (pd.Timestamp(end).as_unit("ns") - pd.Timedelta(nanoseconds=1)).floor(step)
        parts: list[PrometheusPullResult] = []
        while first <= last:
            upto = min(first + step * (MAX_POINTS - 1), last)
            with _gc_paused():
                answer = self.client.query_range(query.query, first, upto, self.step_seconds)
                parts.append(
                    to_frames(answer.result, query, self.endpoint.max_series_per_query, first, upto)
                )
            parts[-1].warnings[:0] = [f"query {query.query!r}: {w}" for w in answer.warnings]
            first = upto + step
        if not parts:
            return PrometheusPullResult(_empty(SAMPLE_COLUMNS), _empty(CATALOG_COLUMNS))
        warnings = list(chain.from_iterable(p.warnings for p in parts))
        for text in warnings:
            log.warning("%s: %s", self.name, text)
        return PrometheusPullResult(
            samples=pd.concat([p.samples for p in parts], ignore_index=True),
            catalog=pd.concat([p.catalog for p in parts], ignore_index=True).drop_duplicates(
                "series_key"
            ),
            warnings=warnings,
        )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Decoding a large answer makes millions of small objects; the cyclic collector would
    rescan them over and over (a third of a big pull's time) though none can form a cycle."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="datetime64[ns]" if c == "ts" else object) for c in columns}
    )


def _identify(series: dict[str, Any], query: PrometheusQuery) -> tuple[str, str, dict[str, str]]:
    labels = {k: str(v) for k, v in (series.get("metric") or {}).items()}
    name = labels.pop("__name__", None)
    metric = metric_name(query.rename or name or query.query)
    return series_key(metric, labels), metric, labels


def to_frames(
    result: list[dict[str, Any]],
    query: PrometheusQuery,
    max_series: int,
    first: pd.Timestamp,
    last: pd.Timestamp,
) -> PrometheusPullResult:
    """A query_range ``result`` matrix as samples and catalog rows, vectorised over points.

    Series beyond ``max_series`` are cut (the first by series key are kept, so the cut is the
    same on every pull); NaN and ±Inf points and points outside [first, last] are dropped.
    Both are reported as warnings rather than errors: the rest of the data is good.
    """
    warnings: list[str] = []
    named = sorted(((*_identify(s, query), s.get("values") or []) for s in result), key=_by_key)
    if len(named) > max_series:
        warnings.append(
            f"query {query.query!r} returned {len(named)} series, capped at {max_series}"
        )
        named = named[:max_series]
    counts = np.fromiter((len(n[3]) for n in named), dtype=np.int64, count=len(named))
    points = list(chain.from_iterable(n[3] for n in named))
    seconds = np.fromiter((p[0] for p in points), dtype=np.float64, count=len(points))
    values = np.array([p[1] for p in points], dtype=np.float64)
    ts = (np.rint(seconds * 1e3).astype(np.int64) * 1_000_000).view("datetime64[ns]")
    keys = np.repeat(np.array([n[0] for n in named], dtype=object), counts)
    finite = np.isfinite(values)
    inside = (ts >= first.to_datetime64()) & (ts <= last.to_datetime64())
    if (dropped := int((~finite & inside).sum())) > 0:
        warnings.append(f"query {query.query!r}: dropped {dropped} NaN/Inf points")
    keep = finite & inside
    samples = pd.DataFrame({"series_key": keys[keep], "ts": ts[keep], "value": values[keep]})
    if len({n[0] for n in named}) < len(named):  # a rename merged series of several names
        samples = samples.drop_duplicates(["series_key", "ts"], ignore_index=True)
    catalog = pd.DataFrame(
        {
            "series_key": [n[0] for n in named],
            "metric": [n[1] for n in named],
            "labels": [n[2] for n in named],
            "unit": [unit_of(n[1]) for n in named],
            "service": [n[2].get("service") or n[2].get("job") for n in named],
            "host": [n[2].get("instance") for n in named],
        },
        columns=list(CATALOG_COLUMNS),
    ).drop_duplicates("series_key")
    return PrometheusPullResult(samples, catalog, warnings=warnings)


def _by_key(item: tuple[str, str, dict[str, str], list[Any]]) -> str:
    return item[0]
