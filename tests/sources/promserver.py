"""Real Prometheus and node_exporter processes on free loopback ports, for tests and benches.

Plain functions (no pytest) so ``bench/`` can start the same servers; ``conftest.py`` wraps
them as fixtures and decides whether a missing binary skips or fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

NODE_EXPORTER_COLLECTORS = ("cpu", "meminfo", "filesystem", "netdev", "loadavg")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout:g}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM and wait: Prometheus flushes its head and WAL on a clean stop."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class NodeExporter:
    binary: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> NodeExporter:
        flags = [f"--collector.{name}" for name in NODE_EXPORTER_COLLECTORS]
        self.process = subprocess.Popen(
            [
                self.binary,
                f"--web.listen-address={self.address}",
                "--collector.disable-defaults",
                *flags,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_http(f"http://{self.address}/metrics", self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


@dataclass
class PrometheusServer:
    """One Prometheus; ``stop()`` then ``start()`` reuses its storage, as a restart would."""

    binary: str
    workdir: Path
    targets: tuple[str, ...] = ()
    scrape_interval: str = "1s"
    port: int = field(default_factory=free_port)
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def storage(self) -> Path:
        return self.workdir / "tsdb"

    def _config(self) -> Path:
        path = self.workdir / "prometheus.yml"
        targets = ", ".join(f'"{t}"' for t in self.targets)
        scrape = (
            f'  - job_name: "node"\n    static_configs:\n      - targets: [{targets}]\n'
            if self.targets
            else ""
        )
        path.write_text(
            f"global:\n  scrape_interval: {self.scrape_interval}\n"
            f"  evaluation_interval: {self.scrape_interval}\n"
            f"scrape_configs:\n{scrape or '  []'}\n"
        )
        return path

    def start(self) -> PrometheusServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary,
            f"--config.file={self._config()}",
            f"--storage.tsdb.path={self.storage}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            *self.extra_args,
        ]
        log = open(self.workdir / "prometheus.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(args, stdout=log, stderr=log, env=dict(os.environ))
        log.close()
        _wait_http(f"{self.url}/-/ready", self.process, timeout=60)
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None

    def count_samples(self, query: str = "up") -> int:
        """How many raw samples ``query`` has over the last hour (0 while none)."""
        answer = requests.get(
            f"{self.url}/api/v1/query",
            params={"query": f"count_over_time({query}[1h])"},
            timeout=5,
        ).json()
        result = answer.get("data", {}).get("result", [])
        return min((int(float(r["value"][1])) for r in result), default=0)

    def wait_for_samples(self, count: int = 3, query: str = "up", timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count_samples(query) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{query} has fewer than {count} samples after {timeout:g}s")
            time.sleep(0.2)
