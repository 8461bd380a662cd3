"""NaN, Inf and 1e309 where a number or duration is expected (silence durations, settings,
root-cause lookbacks, JSON bodies), bodies over the endpoint limit, and configuration
files that are not UTF-8. Each is refused in one line naming the field; nothing changes
and the engine keeps answering.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.hostile.conftest import (
    Served,
    assert_cli_refused,
    assert_http_refused,
    assert_one_line,
    state_of,
    vigil_in_process,
)
from tests.ui.conftest import Seeded
from vigil.errors import VigilError
from vigil.rca import rca_from_query
from vigil.settings import load_settings
from vigil.silences_store import silence_request
from vigil.store import Store

NON_FINITE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e309", "-1e309"]


@pytest.fixture
def store(estate: Seeded) -> Iterator[Store]:
    opened = Store.open(estate.data_dir)
    yield opened
    opened.close()


@pytest.mark.parametrize(
    "fields",
    [{"duration": v} for v in [*NON_FINITE, "3600", 3600, 1.5, float("nan"), float("inf"),
                                True, "-1h", "0s", "400d", "NaT", ""]]
    + [{"ends_at": v} for v in ["nan", "NaT", "1e309", "inf"]]
    + [{"duration": "1h", "starts_at": "nan"}],
    ids=repr,
)  # fmt: skip
def test_a_hostile_silence_duration_or_time_is_refused(
    store: Store, estate: Seeded, fields: dict
) -> None:
    before = state_of(estate.data_dir, store)
    request = {"matchers": ['service="checkout"'], "created_by": "mallory", **fields}
    with pytest.raises(VigilError) as refused:
        silence_request(store, request)
    assert_one_line(str(refused.value))
    assert any(word in str(refused.value) for word in ("duration", "ends_at", "starts_at",
                                                       "give either"))  # fmt: skip
    assert state_of(estate.data_dir, store) == before


@pytest.mark.parametrize("lookback", [*NON_FINITE, "NaT", "-1h", "0s", "3d", "1e400d", "x"])
def test_a_hostile_rca_lookback_is_refused(store: Store, estate: Seeded, lookback: str) -> None:
    settings = load_settings(data_dir=estate.data_dir, demo_enabled=False, host_enabled=False)
    before = state_of(estate.data_dir, store)
    with pytest.raises(VigilError, match="lookback") as refused:
        rca_from_query(store, settings, {"at": ["now"], "lookback": [lookback]})
    assert_one_line(str(refused.value))
    assert state_of(estate.data_dir, store) == before


@pytest.mark.parametrize(("value", "field"), [("nan", "at"), ("NaT", "at"), ("0", "limit"),
                                              ("nan", "limit"), ("1e309", "limit")])  # fmt: skip
def test_a_hostile_rca_time_or_limit_is_refused(
    store: Store, estate: Seeded, value: str, field: str
) -> None:
    settings = load_settings(data_dir=estate.data_dir, demo_enabled=False, host_enabled=False)
    query = {"at": ["now"], field: [value]}
    with pytest.raises(VigilError, match=r"time|limit") as refused:
        rca_from_query(store, settings, query)
    assert_one_line(str(refused.value))


@pytest.mark.parametrize(
    "args",
    [("silences", "add", 'service="x"', "--for", "nan"),
     ("silences", "add", 'service="x"', "--for", "1e309"),
     ("silences", "add", 'service="x"', "--for", "3600"),
     ("rca", "--at", "now", "--lookback", "nan"),
     ("rca", "--at", "now", "--lookback", "inf"),
     ("rca", "--at", "nan"),
     ("rca", "--at", "now", "--limit", "0"),
     ("rca", "--at", "now", "--limit", "nan")],
    ids=" ".join,
)  # fmt: skip
def test_cli_refuses_non_finite_numbers(
    estate: Seeded, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    before = state_of(estate.data_dir)
    assert_cli_refused(vigil_in_process(monkeypatch, estate.data_dir, *args))
    assert state_of(estate.data_dir) == before


# --- settings and configuration files ----------------------------------------------------


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize("name", ["VIGIL_WALL_ROTATE_SECONDS", "VIGIL_LLM_TEMPERATURE"])
def test_a_non_finite_setting_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    monkeypatch.setenv("VIGIL_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv(name, value)
    with pytest.raises(VigilError, match=name.removeprefix("VIGIL_").lower()) as refused:
        load_settings(data_dir=tmp_path / "data")
    assert_one_line(str(refused.value))


@pytest.mark.parametrize("value", ["inf", "1e309"])
@pytest.mark.parametrize("name", ["VIGIL_BACKUP_INTERVAL_HOURS", "VIGIL_NOTIFY_BACKOFF_SECONDS"])
def test_an_infinite_interval_setting_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    monkeypatch.setenv("VIGIL_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv(name, value)
    with pytest.raises(VigilError, match=name.removeprefix("VIGIL_").lower()):
        load_settings(data_dir=tmp_path / "data")


def test_cli_refuses_a_nan_setting_and_a_non_utf8_secrets_file(
    estate: Seeded, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    before = state_of(estate.data_dir)
    monkeypatch.setenv("VIGIL_WALL_ROTATE_SECONDS", "nan")
    assert_cli_refused(vigil_in_process(monkeypatch, estate.data_dir, "alerts", "list"),
                       "wall_rotate_seconds")  # fmt: skip
    monkeypatch.delenv("VIGIL_WALL_ROTATE_SECONDS")
    secrets = tmp_path / "secrets.toml"
    secrets.write_bytes(b'llm_api_key = "\xff\xfe"\n')
    os.chmod(secrets, 0o600)
    monkeypatch.setenv("VIGIL_SECRETS_FILE", str(secrets))
    assert_cli_refused(vigil_in_process(monkeypatch, estate.data_dir, "alerts", "list"),
                       "secrets file")  # fmt: skip
    assert state_of(estate.data_dir) == before


@pytest.mark.parametrize("content", [b'language = "\xff\xfe"\n', b"wall_rotate_seconds = nan\n",
                                     b"[[[[[[[[\n", b"\x00\x01binary"], ids=repr)  # fmt: skip
def test_cli_refuses_a_hostile_vigil_toml(estate: Seeded, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path, content: bytes) -> None:  # fmt: skip
    """``VIGIL_CONFIG`` is read after the helper sets its own, so it is set here too."""
    from vigil.cli import main

    config = tmp_path / "vigil.toml"
    config.write_bytes(content)
    before = state_of(estate.data_dir)
    monkeypatch.setenv("VIGIL_CONFIG", str(config))
    monkeypatch.setattr("sys.argv", ["vigil", "alerts", "list", "--data-dir",
                                     str(estate.data_dir)])  # fmt: skip
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exited:
        main()
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    assert exited.value.code == 2 and len(lines) == 1 and lines[0].startswith("vigil: "), lines
    assert "vigil.toml" in lines[0] or "wall_rotate_seconds" in lines[0]  # file or setting
    assert state_of(estate.data_dir) == before


@pytest.mark.parametrize("args", [("alerts", "ack"), ("alerts", "list", "--bogus"),
                                  ("silences", "list", "--state")], ids=" ".join)  # fmt: skip
def test_cli_usage_errors_exit_2_without_a_traceback(
    estate: Seeded, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    before = state_of(estate.data_dir)
    result = vigil_in_process(monkeypatch, estate.data_dir, *args)
    assert result.code == 2 and "Traceback" not in result.stderr, result.stderr
    assert state_of(estate.data_dir) == before


# --- JSON bodies and sizes at the engine -------------------------------------------------

NAN_BODIES = [
    ("/api/v1/silences", b'{"matchers": ["service=\\"x\\""], "duration": NaN, "created_by": "m"}'),
    ("/api/v1/silences", b'{"matchers": ["service=\\"x\\""], "duration": Infinity, '
                         b'"created_by": "m"}'),
    ("/api/v1/silences", b'{"matchers": ["service=\\"x\\""], "duration": 1e309, '
                         b'"created_by": "m"}'),
    ("/api/v1/silences", b'{"matchers": ["service=\\"x\\""], "duration": 3600, "created_by": "m"}'),
    ("/api/v1/alerts/acknowledge", b'{"alert_id": NaN, "by": "m"}'),
    ("/api/v1/alerts/resolve", b'{"alert_id": -Infinity, "by": "m"}'),
    ("/api/v1/ask", b'{"question": NaN}'),
    ("/api/v1/notifications/requeue", b'{"notification_id": NaN, "by": "m"}'),
    ("/api/v1/silences", b"NaN"),
    ("/api/v1/silences", b'{"matchers": '),
    ("/api/v1/silences", b"\xff\xfe{}"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body"), NAN_BODIES, ids=lambda v: str(v)[:40])
def test_engine_refuses_non_finite_and_malformed_json(served: Served, path: str, body: bytes):
    before = served.state()
    assert_http_refused(*served.request("POST", path, body))
    assert served.state() == before
    served.assert_healthy()


def test_engine_says_a_nan_literal_is_not_json(served: Served) -> None:
    status, answer = served.request("POST", "/api/v1/ask", b'{"question": NaN}')
    assert status == 400 and "not JSON" in answer["error"]


@pytest.mark.parametrize("lookback", ["nan", "inf", "1e309", "-1h"])
def test_engine_rca_refuses_a_non_finite_lookback(served: Served, lookback: str) -> None:
    before = served.state()
    assert_http_refused(*served.request("GET", f"/api/v1/rca?at=now&lookback={quote(lookback)}"))
    assert_http_refused(*served.request("GET", "/api/v1/rca?at=nan"))
    assert served.state() == before
    served.assert_healthy()


@pytest.mark.parametrize("path", ["/api/v1/silences", "/api/v1/alerts/acknowledge",
                                  "/api/v1/ask", "/api/v1/rules/backtest",
                                  "/api/v1/alerts/note"])  # fmt: skip
def test_engine_refuses_a_body_over_its_limit_from_the_declared_length(served: Served, path):
    before = served.state()
    status, answer = served.declare_body("POST", path, 10 * 2**20)
    assert status == 413
    assert_http_refused(status, answer)
    body = json.dumps({"matchers": ['service="x"'], "duration": "1h",
                       "comment": "x" * 70_000}).encode()  # fmt: skip
    status, answer = served.declare_body("POST", path, len(body))
    assert status == 413
    assert served.state() == before
    served.assert_healthy()
