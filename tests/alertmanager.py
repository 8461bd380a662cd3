"""A real Alertmanager on a free loopback port, for tests and benches.

Plain functions (no pytest), like ``tests/sources/promserver.py``: tests decide whether a
missing binary skips or fails (``tests.conftest.need_binary``). Clustering is off, so a
test's Alertmanager never gossips with another one on the machine.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.sources.promserver import _stop, _wait_http, free_port

BINARY = "prometheus-alertmanager"


def webhook_config(url: str, token: str | None = None, *, group_wait: str = "1s",
                   group_interval: str = "1s", repeat_interval: str = "1h") -> str:  # fmt: skip
    """A config sending every alert to one webhook (bearer ``token`` if given), grouped
    by alert name, with timers short enough for a test."""
    receiver: dict[str, Any] = {"url": url, "send_resolved": True}
    if token is not None:
        receiver["http_config"] = {"authorization": {"type": "Bearer", "credentials": token}}
    config = {
        "route": {"receiver": "vigil", "group_by": ["alertname"], "group_wait": group_wait,
                  "group_interval": group_interval, "repeat_interval": repeat_interval},
        "receivers": [{"name": "vigil", "webhook_configs": [receiver]}],
    }  # fmt: skip
    return json.dumps(config, indent=2)  # JSON is YAML


@dataclass
class AlertmanagerServer:
    """One Alertmanager with ``config`` (YAML text) and its storage under ``workdir``."""

    binary: str
    workdir: Path
    config: str = field(default_factory=lambda: webhook_config("http://127.0.0.1:9/"))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AlertmanagerServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(self.config)
        args = [
            self.binary,
            f"--config.file={config}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
        ]
        log = open(self.workdir / "alertmanager.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(args, stdout=log, stderr=log)
        log.close()
        _wait_http(f"{self.url}/-/ready", self.process, timeout=30)
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None

    def log(self) -> str:
        path = self.workdir / "alertmanager.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """What Prometheus does: ``POST /api/v2/alerts``; raises on a refusal."""
        requests.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=5).raise_for_status()

    def alerts(self) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts``: the alerts it holds that have not ended."""
        response = requests.get(f"{self.url}/api/v2/alerts", timeout=5)
        response.raise_for_status()
        return list(response.json())

    def notifications_delivered(self, integration: str = "webhook") -> float:
        """Notifications it delivered through one integration (attempts minus failures)."""
        text = requests.get(f"{self.url}/metrics", timeout=5).text
        wanted = f'integration="{integration}"'

        def total(metric: str) -> float:
            return sum(float(line.split()[-1]) for line in text.splitlines()
                       if line.startswith(f"{metric}{{") and wanted in line)  # fmt: skip

        return total("alertmanager_notifications_total") - total(
            "alertmanager_notifications_failed_total"
        )
