"""Sustained Alertmanager webhook intake: 500 alerts/s for a minute, none lost.

    python -m bench.intake [--seconds 60] [--rate 500] [--clients 8]

Starts an engine (no sources, no jobs) with its HTTP port on loopback and an intake
token, then ``--clients`` threads post Alertmanager webhook payloads (version 4, 1–10
alerts of one alert name per request, as a ``group_by: [alertname]`` route sends them)
paced to ``--rate`` alerts a second in all. About 70% of the alerts are new (distinct
fingerprints), 20% re-sends of an alert still firing, 10% resolves. Each client owns its
alerts, so a re-send or resolve always follows its firing, as one Alertmanager group
would send them. At the end every alert sent must be answered ``stored`` and the store
must hold exactly the episodes, resolves and transitions the clients caused.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import tempfile
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import requests

from tests.sources.promserver import free_port
from vigil.clock import utc_now
from vigil.engine import Engine
from vigil.intake import alertmanager_fingerprint
from vigil.settings import load_settings
from vigil.store import Store

TOKEN = "bench-token"
NAMES = ("HostHighCpuLoad", "HostOutOfMemory", "HostDiskWillFillIn24Hours",
         "HttpErrorRateHigh", "LatencyP99High", "PodCrashLooping", "KafkaConsumerLag",
         "RedisMemoryHigh")  # fmt: skip
SERVICES = ("checkout", "billing", "search", "auth", "catalog")


@dataclass
class Client:
    """One sender: its own alerts still firing, what it caused, and its timings."""

    index: int
    rng: np.random.Generator
    firing: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    serial: int = 0
    sent: int = 0
    stored: int = 0
    opened: int = 0
    resolved: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def new_alert(self, name: str) -> dict[str, Any]:
        self.serial += 1
        service = SERVICES[self.serial % len(SERVICES)]
        labels = {"alertname": name, "instance": f"node-{self.index}-{self.serial}:9100",
                  "job": "node", "service": service, "env": "prod",
                  "severity": "critical" if self.serial % 4 == 0 else "warning"}  # fmt: skip
        starts = utc_now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.opened += 1
        return {
            "status": "firing", "labels": labels,
            "annotations": {"summary": f"{name} on {labels['instance']}",
                            "description": f"{name} has held for 5 minutes on {service}.",
                            "runbook_url": f"https://runbooks.example/{name.lower()}"},
            "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus-0.example:9090/graph?g0.expr=up&g0.tab=1",
            "fingerprint": alertmanager_fingerprint(labels),
        }  # fmt: skip

    def payload(self) -> dict[str, Any]:
        name = NAMES[int(self.rng.integers(len(NAMES)))]
        pool = self.firing.setdefault(name, [])
        alerts, used = [], set()
        for _ in range(int(self.rng.integers(1, 11))):
            roll = self.rng.random()
            old = [a for a in pool if a["fingerprint"] not in used]
            if roll < 0.7 or not old:
                alert = self.new_alert(name)
                pool.append(alert)
            else:
                alert = old[int(self.rng.integers(len(old)))]
                if roll >= 0.9:  # resolve it
                    pool.remove(alert)
                    ends = utc_now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                    alert = {**alert, "status": "resolved", "endsAt": ends}
                    self.resolved += 1
            used.add(alert["fingerprint"])
            alerts.append(alert)
        return {"version": "4", "groupKey": f'{{}}:{{alertname="{name}"}}',
                "truncatedAlerts": 0, "receiver": "vigil",
                "status": "firing" if any(a["status"] == "firing" for a in alerts)
                else "resolved", "groupLabels": {"alertname": name},
                "commonLabels": {"alertname": name}, "commonAnnotations": {},
                "externalURL": "http://alertmanager.example:9093", "alerts": alerts}  # fmt: skip


def run_client(client: Client, url: str, rate: float, start: float, seconds: float) -> None:
    """Post payloads paced to ``rate`` alerts a second until ``seconds`` have passed."""
    session = requests.Session()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    while True:
        due = start + client.sent / rate
        if due >= start + seconds:
            return
        time.sleep(max(0.0, due - time.perf_counter()))
        payload = client.payload()
        began = time.perf_counter()
        try:
            response = session.post(url, json=payload, headers=headers, timeout=60)
            answer = response.json()
        except (requests.RequestException, ValueError) as exc:
            client.failures.append(f"{type(exc).__name__}: {exc}")
            answer, response = {}, None
        client.latencies.append(time.perf_counter() - began)
        client.sent += len(payload["alerts"])
        if response is not None and response.status_code == 200:
            client.stored += int(answer.get("stored", 0))
        elif response is not None:
            client.failures.append(f"HTTP {response.status_code}: {answer}")


def check_store(store: Store, clients: list[Client]) -> list[str]:
    """Differences between what the clients caused and what the store holds."""
    opened = sum(c.opened for c in clients)
    resolved = sum(c.resolved for c in clients)
    rows, closed, events = store.cursor.execute(
        "SELECT count(*), count(*) FILTER (state = 'resolved'), "
        "(SELECT count(*) FROM alert_events WHERE actor = 'alertmanager') "
        "FROM alerts WHERE source = 'alertmanager'"
    ).fetchone()
    wanted = {"episodes": (rows, opened), "resolved": (closed, resolved),
              "transitions": (events, opened + resolved)}  # fmt: skip
    return [f"{k}: {got} stored, {want} expected" for k, (got, want) in wanted.items()
            if got != want]  # fmt: skip


def serve_engine(data_dir: str, port: int, ready: Event, stop: Event) -> None:
    """The engine in a process of its own, as in production: its HTTP threads and intake
    writer share no GIL with the clients (an Alertmanager is another process too)."""
    settings = load_settings(
        data_dir=Path(data_dir), demo_enabled=False, host_enabled=False,
        scheduler_enabled=False, http_port=port, http_host="127.0.0.1", intake_token=TOKEN,
    )  # fmt: skip
    engine = Engine(settings)
    if engine.http is not None:
        ready.set()
        stop.wait()
    engine.stop()


def drive(url: str, seconds: float, rate: float, count: int) -> tuple[list[Client], float]:
    """Run ``count`` clients sharing ``rate``; returns them and the seconds it took."""
    clients = [Client(i, np.random.default_rng(i)) for i in range(count)]
    start = time.perf_counter()
    threads = [threading.Thread(target=run_client, args=(c, url, rate / count, start, seconds))
               for c in clients]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return clients, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=500.0, help="alerts per second, in all")
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, DuckDB {duckdb.__version__}")  # fmt: skip
    spawn = mp.get_context("spawn")
    ready, stop = spawn.Event(), spawn.Event()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, port = Path(tmp) / "data", free_port()
        engine = spawn.Process(target=serve_engine, args=(str(data_dir), port, ready, stop))
        engine.start()
        try:
            if not ready.wait(120):
                raise SystemExit("the engine did not start its HTTP port")
            url = f"http://127.0.0.1:{port}/api/v1/alerts/webhook"
            clients, elapsed = drive(url, args.seconds, args.rate, args.clients)
        finally:
            stop.set()
            engine.join(120)
        store = Store.open_read_only(data_dir)
        try:
            problems = check_store(store, clients)
        finally:
            store.close()
    if not report(clients, elapsed, args.rate, problems):
        raise SystemExit(1)


def report(clients: list[Client], elapsed: float, rate: float, problems: list[str]) -> bool:
    """Print the figures; True when every alert was stored and the store agrees."""
    sent, stored = sum(c.sent for c in clients), sum(c.stored for c in clients)
    latencies = np.array([x for c in clients for x in c.latencies]) * 1000
    p50, p90, p99 = np.percentile(latencies, [50, 90, 99])
    print(f"sent {sent:,} alerts in {len(latencies):,} requests over {elapsed:.1f} s from "
          f"{len(clients)} clients: {sent / elapsed:.0f} alerts/s "
          f"({len(latencies) / elapsed:.0f} requests/s), target {rate:.0f} alerts/s")  # fmt: skip
    print(f"latency ms: p50 {p50:.1f}, p90 {p90:.1f}, p99 {p99:.1f}, max {latencies.max():.1f}")
    print(f"answered stored: {stored:,} of {sent:,}; "
          f"failed requests: {sum(len(c.failures) for c in clients)}")  # fmt: skip
    for failure in [f for c in clients for f in c.failures][:5]:
        print(f"  {failure}")
    print("store: " + ("; ".join(problems) if problems else
                       f"every episode, resolve and transition is there "
                       f"({sum(c.opened for c in clients):,} episodes, "
                       f"{sum(c.resolved for c in clients):,} resolved)"))  # fmt: skip
    return not problems and stored == sent


if __name__ == "__main__":
    main()
