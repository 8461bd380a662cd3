"""The wall and the rule editor in a real headless Chromium against a real
``streamlit run`` on a seeded store (see ``tests/ui/browser.py`` for how)."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import need_binary
from tests.ui.browser import DevTools, headless_chromium, open_page, streamlit, wait_for
from tests.ui.conftest import make_seeded
from vigil.rules_store import import_rules
from vigil.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _explore_deep_link(devtools: DevTools, url: str) -> str:
    """A first visit straight to /explore must still get the app's shell and navigation."""
    open_page(devtools, f"{url}/explore")
    ready = "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 1"
    wait_for(lambda: devtools.evaluate(ready), 30, "an explore chart")
    return str(devtools.evaluate("document.body.innerText"))


def _capture_wall(devtools: DevTools, url: str, shot: Path) -> str:
    """Open the kiosk wall, wait for its tiles and sparklines, return the DOM, save a PNG.

    Pinned to the health view: a kiosk wall otherwise plays its playlist by the clock."""
    open_page(devtools, f"{url}/?kiosk=1&view=health")
    ready = "document.querySelectorAll('.vw-tile').length > 0"
    wait_for(lambda: devtools.evaluate(ready), 30, "the wall's tiles")
    charts = "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2"
    wait_for(lambda: devtools.evaluate(charts), 20, "the wall's sparklines")
    time.sleep(1.0)  # let plotly finish its first draw
    shot.write_bytes(base64.b64decode(devtools.call("Page.captureScreenshot")["data"]))
    return str(devtools.evaluate("document.documentElement.outerHTML"))


def _colours(png: Path) -> int:
    pil = pytest.importorskip("PIL.Image")
    with pil.open(io.BytesIO(png.read_bytes())) as image:
        return len(image.convert("RGB").resize((192, 108)).getcolors(192 * 108) or [])


def test_explore_deep_link_then_kiosk_wall_with_services_and_stale_banner(tmp_path: Path) -> None:
    binary = need_binary("chromium")
    seeded = make_seeded(tmp_path / "data", pd.Timedelta(hours=2))
    shot = tmp_path / "wall.png"
    with (
        streamlit(seeded.data_dir, tmp_path) as url,
        headless_chromium(binary, tmp_path) as devtools,
    ):
        explore = _explore_deep_link(devtools, url)
        open_page(devtools, f"{url}/jobs?lang=zh")
        chinese_jobs = "document.body.innerText.includes('任务与数据源')"
        wait_for(lambda: devtools.evaluate(chinese_jobs), 30, "the jobs page in Chinese")
        kept = str(devtools.evaluate("location.search"))
        dom = _capture_wall(devtools, url, shot)
    assert "Language" in explore and "Wall" in explore and "Download CSV" in explore
    assert "lang=zh" in kept  # a deep link keeps its query parameters
    for text in ("checkout", "payments", "search", "STALE DATA", "Checkout latency above"):
        assert text in dom, text
    assert 'data-testid="stSidebar"' not in dom or "display: none" in dom
    assert shot.stat().st_size > 20_000
    assert _colours(shot) > 50, "the screenshot is (nearly) a single colour"


def test_a_rule_edit_is_backtested_in_the_browser_before_it_is_saved(tmp_path: Path) -> None:
    """The Rules page, deep-linked to a rule, backtests it on a click and draws where it
    fires; nothing is saved."""
    binary = need_binary("chromium")
    seeded = make_seeded(tmp_path / "data", pd.Timedelta(seconds=30))
    store = Store.open(seeded.data_dir)
    rule = {"alert": "LatencyHigh", "expr": "http_latency_seconds > 3.5", "for": "1m"}
    import_rules(store, yaml.safe_dump({"groups": [{"name": "web", "rules": [rule]}]}), "alice")
    store.execute("DELETE FROM rules WHERE rule_id = 'test-rule'")
    store.close()
    with (
        streamlit(seeded.data_dir, tmp_path) as url,
        headless_chromium(binary, tmp_path) as devtools,
    ):
        open_page(devtools, f"{url}/rules?rule=LatencyHigh")
        button = ("[...document.querySelectorAll('button')]"
                  ".find(b => b.innerText.includes('Backtest this version'))")  # fmt: skip
        wait_for(lambda: devtools.evaluate(f"!!{button}"), 30, "the backtest button")
        tab = ("[...document.querySelectorAll('[role=tab]')]"
               ".find(b => b.innerText.includes('Edit a rule'))")  # fmt: skip
        devtools.evaluate(f"{tab}.click()")
        devtools.evaluate(f"{button}.click()")
        drawn = "document.body.innerText.includes('Firings per day')"
        wait_for(lambda: devtools.evaluate(drawn), 60, "the backtest charts")
        text = str(devtools.evaluate("document.body.innerText"))
        charts = int(devtools.evaluate("document.querySelectorAll('.js-plotly-plot').length"))
    assert "fires 3 times on 2 of 3 matched series" in text
    assert charts >= 2
    store = Store.open(seeded.data_dir)
    try:
        saved = "SELECT max(version) FROM rule_versions WHERE rule_id = 'LatencyHigh'"
        assert store.one(saved) == 1
    finally:
        store.close()
