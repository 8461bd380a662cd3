"""The wall in a real headless Chromium against a real ``streamlit run`` on a seeded store.

Chromium's one-shot ``--screenshot`` / ``--dump-dom`` fire at the page's load event, which
for Streamlit is an empty skeleton: the content arrives later over a websocket, and
``--virtual-time-budget`` does not wait for websockets. So the test starts the same
headless Chromium with a DevTools endpoint, waits until the wall has rendered, and then
takes the DOM and a screenshot through the DevTools protocol.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pytest
import yaml
from websockets.sync.client import connect

from tests.conftest import need_binary
from tests.ui.conftest import app_env, make_seeded
from vigil.rules_store import import_rules
from vigil.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.slow]

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1920,1080", "--hide-scrollbars",
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(check: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def _streamlit(data_dir: Path, tmp: Path) -> Iterator[str]:
    port = _free_port()
    env = os.environ | app_env(data_dir)
    args = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true",
            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]  # fmt: skip
    with _process(args, env, tmp / "streamlit.log") as proc:
        health = f"http://127.0.0.1:{port}/_stcore/health"

        def healthy() -> bool:
            assert proc.poll() is None, (tmp / "streamlit.log").read_text()[-3000:]
            return urllib.request.urlopen(health, timeout=2).read() == b"ok"

        _wait_for(healthy, 30, "streamlit health")
        yield f"http://127.0.0.1:{port}"


class _DevTools:
    """The few DevTools protocol calls the test needs, over one page's websocket."""

    def __init__(self, ws_url: str) -> None:
        self._ws = connect(ws_url, max_size=None, open_timeout=10)
        self._next = 0

    def call(self, method: str, **params: object) -> dict:
        self._next += 1
        self._ws.send(json.dumps({"id": self._next, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=30))
            if message.get("id") == self._next:
                assert "error" not in message, message
                return message["result"]

    def evaluate(self, expression: str) -> object:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def close(self) -> None:
        self._ws.close()


@contextmanager
def _chromium(binary: str, tmp: Path) -> Iterator[_DevTools]:
    profile = tmp / "profile"
    args = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
            "--remote-debugging-port=0", "about:blank"]  # fmt: skip
    with _process(args, dict(os.environ), tmp / "chromium.log"):
        active = profile / "DevToolsActivePort"
        port = _wait_for(lambda: active.exists() and active.read_text().split()[0], 30, "chromium")
        listing = f"http://127.0.0.1:{port}/json/list"
        pages = _wait_for(
            lambda: [p for p in json.load(urllib.request.urlopen(listing)) if p["type"] == "page"],
            10, "a chromium page",
        )  # fmt: skip
        devtools = _DevTools(pages[0]["webSocketDebuggerUrl"])
        try:
            yield devtools
        finally:
            devtools.close()


def _open(devtools: _DevTools, url: str) -> None:
    devtools.call("Page.enable")
    devtools.call(
        "Emulation.setDeviceMetricsOverride", width=1920, height=1080, deviceScaleFactor=1,
        mobile=False,
    )  # fmt: skip
    devtools.call("Page.navigate", url=url)


def _explore_deep_link(devtools: _DevTools, url: str) -> str:
    """A first visit straight to /explore must still get the app's shell and navigation."""
    _open(devtools, f"{url}/explore")
    ready = "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 1"
    _wait_for(lambda: devtools.evaluate(ready), 30, "an explore chart")
    return str(devtools.evaluate("document.body.innerText"))


def _capture_wall(devtools: _DevTools, url: str, shot: Path) -> str:
    """Open the kiosk wall, wait for its tiles and sparklines, return the DOM, save a PNG."""
    _open(devtools, f"{url}/?kiosk=1")
    ready = "document.querySelectorAll('.vw-tile').length > 0"
    _wait_for(lambda: devtools.evaluate(ready), 30, "the wall's tiles")
    charts = "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2"
    _wait_for(lambda: devtools.evaluate(charts), 20, "the wall's sparklines")
    time.sleep(1.0)  # let plotly finish its first draw
    shot.write_bytes(base64.b64decode(devtools.call("Page.captureScreenshot")["data"]))
    return str(devtools.evaluate("document.documentElement.outerHTML"))


def _colours(png: Path) -> int:
    pil = pytest.importorskip("PIL.Image")
    with pil.open(io.BytesIO(png.read_bytes())) as image:
        return len(image.convert("RGB").resize((192, 108)).getcolors(192 * 108) or [])


def test_explore_deep_link_then_kiosk_wall_with_services_and_stale_banner(tmp_path: Path) -> None:
    chromium = need_binary("chromium")
    seeded = make_seeded(tmp_path / "data", pd.Timedelta(hours=2))
    shot = tmp_path / "wall.png"
    with _streamlit(seeded.data_dir, tmp_path) as url, _chromium(chromium, tmp_path) as devtools:
        explore = _explore_deep_link(devtools, url)
        _open(devtools, f"{url}/jobs?lang=zh")
        chinese_jobs = "document.body.innerText.includes('任务与数据源')"
        _wait_for(lambda: devtools.evaluate(chinese_jobs), 30, "the jobs page in Chinese")
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
    chromium = need_binary("chromium")
    seeded = make_seeded(tmp_path / "data", pd.Timedelta(seconds=30))
    store = Store.open(seeded.data_dir)
    rule = {"alert": "LatencyHigh", "expr": "http_latency_seconds > 3.5", "for": "1m"}
    import_rules(store, yaml.safe_dump({"groups": [{"name": "web", "rules": [rule]}]}), "alice")
    store.execute("DELETE FROM rules WHERE rule_id = 'test-rule'")
    store.close()
    with _streamlit(seeded.data_dir, tmp_path) as url, _chromium(chromium, tmp_path) as devtools:
        _open(devtools, f"{url}/rules?rule=LatencyHigh")
        button = ("[...document.querySelectorAll('button')]"
                  ".find(b => b.innerText.includes('Backtest this version'))")  # fmt: skip
        _wait_for(lambda: devtools.evaluate(f"!!{button}"), 30, "the backtest button")
        tab = ("[...document.querySelectorAll('[role=tab]')]"
               ".find(b => b.innerText.includes('Edit a rule'))")  # fmt: skip
        devtools.evaluate(f"{tab}.click()")
        devtools.evaluate(f"{button}.click()")
        drawn = "document.body.innerText.includes('Firings per day')"
        _wait_for(lambda: devtools.evaluate(drawn), 60, "the backtest charts")
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
