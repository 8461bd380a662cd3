"""The Jobs & sources page in a real browser while a real Prometheus goes away and comes back.

`vigil run` (engine and UI in one process) pulls a Prometheus every few seconds; Chromium
keeps the Jobs page open. Stopping Prometheus must turn the source's card red within one
pull interval (plus the retries of that pull and one page refresh), and starting it again
must turn the card green, with the same state on ``/metrics``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import need_binary
from tests.sources.conftest import scraping_prometheus
from tests.sources.promserver import NodeExporter, free_port
from tests.sources.test_engine_outage import PULL_SECONDS, _source_up, one_query_config
from tests.ui.browser import headless_chromium, open_page, process, sign_in, wait_for
from vigil.i18n import t

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REFRESH_SECONDS = 2
RETRIES_SECONDS = 4  # four attempts against a refused connection back off at most 3.5 s
BADGE = """(() => {
  const card = [...document.querySelectorAll('.vj-card')]
    .find(c => c.querySelector('.vj-name span')?.textContent === 'prom');
  return card ? card.querySelector('.vj-badge').textContent : null;
})()"""


def test_the_sources_page_turns_red_within_a_pull_interval_and_green_after(
    tmp_path: Path, node_exporter: NodeExporter
) -> None:
    chromium = need_binary("chromium")
    prometheus = scraping_prometheus(tmp_path / "prom", node_exporter, samples=3)
    config = one_query_config(tmp_path / "vigil.toml", prometheus.url)
    ui_port, http_port = free_port(), free_port()
    env = os.environ | {
        "VIGIL_CONFIG": str(config),
        "VIGIL_DEMO_ENABLED": "false",
        "VIGIL_HOST_ENABLED": "false",
        "VIGIL_LANGUAGE": "en",
        "VIGIL_PULL_INTERVAL_SECONDS": str(PULL_SECONDS),
        "VIGIL_WALL_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "VIGIL_HTTP_PORT": str(http_port),
        "VIGIL_UI_HOST": "127.0.0.1",
    }
    args = [sys.executable, "-m", "vigil", "run", "--port", str(ui_port),
            "--data-dir", str(tmp_path / "data")]  # fmt: skip
    sign_in(tmp_path / "data", f"http://127.0.0.1:{ui_port}")
    metrics = f"http://127.0.0.1:{http_port}/metrics"
    try:
        with (
            process(args, env, tmp_path / "vigil.log"),
            headless_chromium(chromium, tmp_path) as page,
        ):
            wait_for(lambda: _source_up(metrics) == 1.0, 90, "the first successful pull")
            open_page(page, f"http://127.0.0.1:{ui_port}/jobs")
            ok, down = t("source.status.ok", "en"), t("source.status.down", "en")
            wait_for(lambda: page.evaluate(BADGE) == ok, 60, "a green card for prom")

            prometheus.stop()
            stopped = time.monotonic()
            limit = PULL_SECONDS + RETRIES_SECONDS + REFRESH_SECONDS + 3
            wait_for(lambda: page.evaluate(BADGE) == down, limit, "a red card for prom")
            red_after = time.monotonic() - stopped
            assert _source_up(metrics) == 0.0
            error = str(page.evaluate("document.querySelector('.vj-err')?.textContent"))
            assert "Connection refused" in error and "'up'" in error

            prometheus.start()
            wait_for(lambda: page.evaluate(BADGE) == ok, 60, "the card to turn green again")
            assert _source_up(metrics) == 1.0
    finally:
        prometheus.stop()
    assert red_after <= limit
