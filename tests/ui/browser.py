"""Headless Chromium driving a real ``streamlit run`` through the DevTools protocol.

Chromium's one-shot ``--screenshot`` / ``--dump-dom`` fire at the page's load event, which
for Streamlit is an empty skeleton: the content arrives later over a websocket, and
``--virtual-time-budget`` does not wait for websockets. So tests start headless Chromium
with a DevTools endpoint, wait until the page has rendered, and read the DOM through it.
"""

from __future__ import annotations

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

from websockets.sync.client import connect

from tests.ui.conftest import app_env

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1920,1080", "--hide-scrollbars",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], T], timeout: float, what: str) -> T:
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
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
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


SESSIONS: dict[str, str] = {}  # origin -> login token its pages are opened with
BROWSER_USER, BROWSER_PASSWORD = "browser", "a browser test passphrase"


def sign_in(data_dir: Path, origin: str, role: str = "admin") -> str:
    """A real login on ``data_dir`` (before the app holds it) whose session cookie
    :func:`open_page` gives the browser for ``origin``."""
    from vigil import auth
    from vigil.settings import load_settings
    from vigil.store import Store

    store = Store.open(data_dir)
    try:
        if not any(u["username"] == BROWSER_USER for u in auth.list_users(store)):
            auth.add_user(store, BROWSER_USER, BROWSER_PASSWORD, role, "test")
        policy = load_settings(data_dir=data_dir).login_policy()
        SESSIONS[origin] = auth.login(store, BROWSER_USER, BROWSER_PASSWORD, policy)
    finally:
        store.close()
    return SESSIONS[origin]


@contextmanager
def streamlit(data_dir: Path, tmp: Path, signed_in: bool = True) -> Iterator[str]:
    """``streamlit run app.py`` on ``data_dir``; its pages open signed in as an admin
    unless ``signed_in`` is False (a browser that has to log in itself)."""
    port = free_port()
    if signed_in:
        sign_in(data_dir, f"http://127.0.0.1:{port}")
    env = os.environ | app_env(data_dir)
    args = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true",
            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]  # fmt: skip
    with process(args, env, tmp / "streamlit.log") as proc:
        health = f"http://127.0.0.1:{port}/_stcore/health"

        def healthy() -> bool:
            assert proc.poll() is None, (tmp / "streamlit.log").read_text()[-3000:]
            return urllib.request.urlopen(health, timeout=2).read() == b"ok"

        wait_for(healthy, 30, "streamlit health")
        yield f"http://127.0.0.1:{port}"


class Navigating(OSError):
    """The page went away under a call (it is navigating); ask again once it has loaded."""


class DevTools:
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
                error = message.get("error", {}).get("message", "")
                if "navigated" in error or "context" in error.lower():
                    raise Navigating(error)  # a page loading: wait_for tries again
                assert "error" not in message, message
                return message["result"]

    def evaluate(self, expression: str) -> object:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def close(self) -> None:
        self._ws.close()


@contextmanager
def headless_chromium(binary: str, tmp: Path) -> Iterator[DevTools]:
    profile = tmp / "profile"
    args = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
            "--remote-debugging-port=0", "about:blank"]  # fmt: skip
    with process(args, dict(os.environ), tmp / "chromium.log"):
        active = profile / "DevToolsActivePort"
        port = wait_for(lambda: active.exists() and active.read_text().split()[0], 30, "chromium")
        listing = f"http://127.0.0.1:{port}/json/list"
        pages = wait_for(
            lambda: [p for p in json.load(urllib.request.urlopen(listing)) if p["type"] == "page"],
            10, "a chromium page",
        )  # fmt: skip
        devtools = DevTools(pages[0]["webSocketDebuggerUrl"])
        try:
            yield devtools
        finally:
            devtools.close()


def open_page(devtools: DevTools, url: str) -> None:
    devtools.call("Page.enable")
    devtools.call(
        "Emulation.setDeviceMetricsOverride", width=1920, height=1080, deviceScaleFactor=1,
        mobile=False,
    )  # fmt: skip
    origin = "/".join(url.split("/")[:3])
    if origin in SESSIONS:
        devtools.call("Network.setCookie", name="vigil_session", value=SESSIONS[origin],
                      url=origin, sameSite="Strict")  # fmt: skip
    devtools.call("Page.navigate", url=url)
