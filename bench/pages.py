"""Time each page's server-side render on the demo estate grown to 1,000 series × 30 days.

    python -m bench.pages [--days 30] [--copies 9] [--runs 5] [--data DIR]

Setup (not timed): the demo estate backfilled ``--days`` days, its models fitted and its
rules replayed (as ``vigil demo`` does), then every series copied ``--copies`` times
under new instances with its samples and scores, so the pages read ~1,000 series. Each
page then runs ``--runs`` times in Streamlit's AppTest (the script as the server runs it,
no browser), after one warm-up run that fills the caches a real session would also have
filled. Targets: each page under 1 s, a wall refresh under 300 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from vigil.engine import Engine, reset_engine
from vigil.roles import Principal
from vigil.session import PRINCIPAL_KEY
from vigil.settings import load_settings
from vigil.store import Store

APP = Path(__file__).resolve().parents[1] / "app.py"
PAGES = {
    "wall": ("pages/wall.py", {}),
    "explore": ("pages/explore.py", {}),
    "alerts": ("pages/alerts.py", {}),
    "alert page": ("pages/alerts.py", {"alert": "{alert}"}),
    "rules": ("pages/rules.py", {}),
    "search": ("pages/search.py", {"q": "latency service:orders"}),
    "models": ("pages/models.py", {}),
    "jobs": ("pages/jobs.py", {}),
    "settings": ("pages/settings.py", {}),
    "knowledge": ("pages/knowledge.py", {"q": "mysql slow queries"}),
    "assistant": ("pages/assistant.py", {}),
    "admin": ("pages/admin.py", {}),
}


def build_estate(data_dir: Path, days: int) -> None:
    settings = load_settings(
        data_dir=data_dir, demo_enabled=True, host_enabled=False, scheduler_enabled=False,
        http_port=0, demo_backfill_days=days,
    )  # fmt: skip
    engine = Engine(settings)
    try:
        engine.build_history(days)
    finally:
        engine.stop()


def copy_series(data_dir: Path, copies: int) -> int:
    """Every series again under ``instance="<instance>-c<k>"``, samples and scores too."""
    store = Store.open(data_dir)
    try:
        top = int(store.one("SELECT max(series_id) FROM series"))
        for k in range(1, copies + 1):
            shift = k * (top + 1)
            store.execute(
                "INSERT INTO series (series_id, series_key, metric, labels, source, service, "
                "host, unit) SELECT series_id + ?, replace(series_key, '\"}', ?), metric, "
                "json_merge_patch(labels, json_object('copy', ?)), source, service, host, unit "
                "FROM series WHERE series_id <= ?",
                [shift, f'",copy="c{k}"}}', f"c{k}", top],
            )  # fmt: skip
            store.execute("INSERT INTO samples SELECT series_id + ?, ts, value FROM samples "
                          "WHERE series_id <= ?", [shift, top])  # fmt: skip
            store.execute("INSERT INTO scores SELECT series_id + ?, ts, expected, lower, upper, "
                          "score FROM scores WHERE series_id <= ?", [shift, top])  # fmt: skip
        settle_layout(store)
        return int(store.one("SELECT count(*) FROM series"))
    finally:
        store.close()


def settle_layout(store: Store) -> None:
    """Samples and scores in time order, as 30 days of live pulls leave them (a backfill
    and the copies above write series by series, which no running estate looks like:
    every row group would then span the whole month and no time filter could skip one)."""
    store.execute("CREATE TABLE samples_by_time AS SELECT * FROM samples ORDER BY ts, series_id")
    store.execute("DROP TABLE samples")
    store.execute("ALTER TABLE samples_by_time RENAME TO samples")
    store.execute(
        "CREATE TABLE scores_by_time (series_id BIGINT NOT NULL, ts TIMESTAMP NOT NULL, "
        "expected DOUBLE, lower DOUBLE, upper DOUBLE, score DOUBLE, PRIMARY KEY (series_id, ts))"
    )
    store.execute("INSERT INTO scores_by_time SELECT * FROM scores ORDER BY ts, series_id")
    store.execute("DROP TABLE scores")
    store.execute("ALTER TABLE scores_by_time RENAME TO scores")
    store.execute("CHECKPOINT")


def time_page(path: str, query: dict[str, str], runs: int) -> list[float]:
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.session_state[PRINCIPAL_KEY] = Principal("bench", "admin")  # as after a login
    app.run()
    page = app.switch_page(path)
    page.query_params.update(query)
    page.run()  # warm-up: the caches a session fills on its first visit
    assert not page.exception, page.exception
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        page.run()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--copies", type=int, default=9)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, help="Reuse (or keep) the estate here.")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    data_dir = args.data or Path(tempfile.mkdtemp(prefix="vigil-bench-pages-")) / "data"
    started = time.perf_counter()
    if not (data_dir / "vigil.duckdb").exists():
        build_estate(data_dir, args.days)
        series = copy_series(data_dir, args.copies)
    else:
        store = Store.open(data_dir)
        series = int(store.one("SELECT count(*) FROM series"))
        store.close()
    store = Store.open(data_dir)
    samples = int(store.one("SELECT count(*) FROM samples"))
    alert = str(store.one("SELECT alert_id FROM alerts WHERE series_id IS NOT NULL "
                          "ORDER BY fired_at DESC NULLS LAST LIMIT 1"))  # fmt: skip
    store.close()
    print(f"setup: {series:,} series, {samples:,} samples in {time.perf_counter() - started:.0f} s")
    os.environ.update({
        "VIGIL_DATA_DIR": str(data_dir), "VIGIL_DEMO_ENABLED": "false",
        "VIGIL_HOST_ENABLED": "false", "VIGIL_SCHEDULER_ENABLED": "false",
        "VIGIL_HTTP_PORT": "0", "VIGIL_CONFIG": str(data_dir / "none.toml"),
    })  # fmt: skip
    reset_engine()
    for name, (path, query) in PAGES.items():
        filled = {k: v.replace("{alert}", alert) for k, v in query.items()}
        times = time_page(path, filled, args.runs)
        print(f"{name:>10}: median {statistics.median(times):.3f} s, "
              f"max {max(times):.3f} s over {len(times)} runs")  # fmt: skip
    reset_engine()


if __name__ == "__main__":
    main()
