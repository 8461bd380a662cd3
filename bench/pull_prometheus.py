"""How fast Vigil pulls from a real Prometheus: 1,000 series x 6 h at 15 s into a fresh store.

The history is real TSDB data: an OpenMetrics file written here is turned into blocks by
``promtool tsdb create-blocks-from openmetrics`` (shipped with Prometheus), and a local
Prometheus serves them. Only the pull is timed (query, parse, ingest); setting up the data
is reported separately. Run with ``python -m bench.pull_prometheus``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from jobs.pull import pull_source
from tests.sources.promserver import PrometheusServer
from vigil.clock import utc_now
from vigil.settings import PrometheusEndpoint, PrometheusQuery
from vigil.sources.prometheus import PrometheusSource
from vigil.store import Store

METRIC = "bench_requests_per_second"


def write_openmetrics(path: Path, series: int, hours: float, step: int, end: float) -> int:
    """A daily-ish sine plus noise per series; returns the number of samples written."""
    points = round(hours * 3600 / step) + 1
    times = end - step * np.arange(points)[::-1]
    rng = np.random.default_rng(7)
    stamps = [f"{t:.0f}" for t in times]
    with path.open("w") as out:
        out.write(f"# HELP {METRIC} Synthetic request rate.\n# TYPE {METRIC} gauge\n")
        for index in range(series):
            base = 50 + 40 * np.sin(times / 7200 + index) + rng.normal(0, 2, len(times))
            labels = f'{{instance="host-{index:04d}:9100",job="bench",service="svc-{index % 20}"}}'
            out.writelines(
                f"{METRIC}{labels} {v:.3f} {s}\n" for v, s in zip(base, stamps, strict=True)
            )
        out.write("# EOF\n")
    return series * len(times)


def build_tsdb(workdir: Path, series: int, hours: float, step: int, end: float) -> int:
    source = workdir / "history.om"
    written = write_openmetrics(source, series, hours, step, end)
    storage = workdir / "tsdb"
    subprocess.run(
        [
            shutil.which("promtool") or "promtool",
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--quiet",
            str(source),
            str(storage),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    source.unlink()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--step", type=int, default=15)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {platform.processor() or ''}".strip(),
        f"cores={os.cpu_count()}",
        f"python={platform.python_version()}",
    )
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        work = Path(tmp)
        now = utc_now().floor(f"{args.step}s")
        end = now.value / 1e9 - args.step  # the last point is surely inside the window
        started = time.perf_counter()
        written = build_tsdb(work, args.series, args.hours, args.step, end)
        server = PrometheusServer(shutil.which("prometheus") or "prometheus", work).start()
        print(
            f"setup: {written} samples into TSDB blocks, Prometheus ready in "
            f"{time.perf_counter() - started:.1f}s"
        )
        try:
            endpoint = PrometheusEndpoint(
                url=server.url,
                step_seconds=args.step,
                lookback_days=args.hours / 24,
                timeout_seconds=120,
                queries=(PrometheusQuery(query=METRIC),),
            )
            store = Store.open(work / "data")
            try:
                started = time.perf_counter()
                added = pull_source(store, PrometheusSource(endpoint), args.step, now=now)
                seconds = time.perf_counter() - started
                series = store.one("SELECT count(*) FROM series")
            finally:
                store.close()
        finally:
            server.stop()
    print(f"pulled {series} series, {added} samples ({written} written)")
    print(f"seconds: {seconds:.2f}")
    print(f"samples/s: {added / seconds:,.0f}")


if __name__ == "__main__":
    main()
