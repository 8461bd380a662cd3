"""Root causes on a real demo data dir: the scripted root service ranks first, through the
service, the CLI and the engine's HTTP route alike; bad arguments change nothing."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_vigil
from tests.e2e.conftest import DemoRun, demo_run  # noqa: F401 - the shared demo data dir
from tests.sources.promserver import free_port
from vigil.engine import Engine
from vigil.errors import VigilError
from vigil.rca import rca_as_dict, root_causes
from vigil.settings import Settings, load_settings
from vigil.sources.demo import DEPENDENCIES
from vigil.store import Store

ASK_AFTER = pd.Timedelta(minutes=10)


@pytest.fixture
def opened(demo_run: DemoRun) -> Iterator[tuple[Store, Settings]]:  # noqa: F811
    store = Store.open(demo_run.data_dir)
    try:
        yield store, load_settings(data_dir=demo_run.data_dir, http_port=0)
    finally:
        store.close()


def _incidents(store: Store, kind: str) -> pd.DataFrame:
    frame = store.df(
        "SELECT incident_id, service, series_keys, affected_services, started_at "
        "FROM incidents WHERE kind = ? ORDER BY started_at",
        [kind],
    )
    assert not frame.empty, f"the demo fortnight has no {kind} incident"
    return frame


def test_a_latency_cascade_ranks_its_slow_backend_first(opened: tuple[Store, Settings]) -> None:
    store, settings = opened
    for incident in _incidents(store, "latency_cascade").itertuples(index=False):
        at = pd.Timestamp(incident.started_at) + ASK_AFTER
        result = root_causes(store, settings, at=at)
        top = result.services[0]
        assert top.service == incident.service, (incident.incident_id, result.services)
        assert abs(top.onset - pd.Timestamp(incident.started_at)) <= pd.Timedelta(minutes=2)
        assert set(json.loads(incident.series_keys)) & set(top.series)
        callers = [s for s in result.services if s.service != incident.service]
        assert callers, "the callers slow down minutes later and are candidates too"
        assert all(incident.service in s.downstream_of for s in callers)
        assert result.series[0].service == incident.service
        assert result.window_start == at - pd.Timedelta(hours=1) and result.at == at


def test_an_alert_on_a_caller_points_at_what_it_depends_on(
    opened: tuple[Store, Settings],
) -> None:
    store, settings = opened
    incident = _incidents(store, "latency_cascade").iloc[0]
    alert_id, service = store.df(
        "SELECT alert_id, service FROM alerts WHERE service = 'orders' AND fired_at >= ? "
        "ORDER BY fired_at LIMIT 1",
        [pd.Timestamp(incident["started_at"]).to_pydatetime()],
    ).iloc[0]
    result = root_causes(store, settings, alert_id=alert_id)
    assert result.alert_id == alert_id and result.focus_service == service == "orders"
    assert result.services[0].service == incident["service"]
    reachable = {"orders", "payments", "inventory", "mysql", "redis", "kafka"}
    assert {s.service for s in result.services} <= reachable  # never the gateway, a caller
    assert set(DEPENDENCIES["orders"]) < reachable


def test_the_answer_is_json_ready(opened: tuple[Store, Settings]) -> None:
    store, settings = opened
    incident = _incidents(store, "missing_data").iloc[0]
    at = pd.Timestamp(incident["started_at"]) + ASK_AFTER
    answer = rca_as_dict(root_causes(store, settings, at=at, limit=2))
    again = json.loads(json.dumps(answer))
    assert again["at"] == at.isoformat() and len(again["services"]) <= 2
    assert again["services"][0]["service"] == incident["service"]
    assert all(s["silent"] for s in again["series"] if s["service"] == incident["service"])


def _counts(store: Store) -> tuple:
    tables = ("samples", "scores", "alerts", "alert_events", "incidents", "series")
    return tuple(store.one(f"SELECT count(*) FROM {t}") for t in tables)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"alert_id": "no-such-alert"}, "no alert with id"),
        ({}, "exactly one"),
        ({"alert_id": "x", "at": pd.Timestamp("2025-01-01")}, "exactly one"),
        ({"at": pd.Timestamp("2025-01-01"), "focus_service": "nosuch"}, "no series belong"),
        ({"at": pd.Timestamp("2025-01-01"), "lookback": pd.Timedelta(0)}, "lookback"),
        ({"at": pd.Timestamp("2025-01-01"), "limit": 0}, "limit"),
    ],
)
def test_bad_arguments_are_a_clear_error_and_change_nothing(
    opened: tuple[Store, Settings], arguments: dict, message: str
) -> None:
    store, settings = opened
    before = _counts(store)
    with pytest.raises(VigilError, match=message):
        root_causes(store, settings, **arguments)
    assert _counts(store) == before


@contextlib.contextmanager
def _demo_engine(data_dir: Path, port: int) -> Iterator[Engine]:
    """An engine holding the demo data dir with its HTTP port up and nothing scheduled; the
    demo stays enabled so its dependency graph is the one both sides rank with."""
    settings = load_settings(
        data_dir=data_dir,
        demo_enabled=True,
        host_enabled=False,
        scheduler_enabled=False,
        http_port=port,
        http_host="127.0.0.1",
    )
    engine = Engine(settings)
    try:
        yield engine
    finally:
        engine.stop()


def _cascade_moment(demo_run: DemoRun) -> tuple[str, str]:  # noqa: F811
    store = Store.open(demo_run.data_dir)
    try:
        incident = _incidents(store, "latency_cascade").iloc[0]
    finally:
        store.close()
    return (pd.Timestamp(incident["started_at"]) + ASK_AFTER).isoformat(), incident["service"]


def test_the_cli_prints_the_ranking_as_json_here_and_through_the_engine(
    demo_run: DemoRun,  # noqa: F811
) -> None:
    at, root = _cascade_moment(demo_run)
    here = run_vigil(demo_run.data_dir, "rca", "--at", at, "--json")
    assert here.returncode == 0, here.stderr
    answer = json.loads(here.stdout)
    assert answer["services"][0]["service"] == root and answer["at"] == at
    port = free_port()
    with _demo_engine(demo_run.data_dir, port):
        there = run_vigil(demo_run.data_dir, "rca", "--at", at, "--json", port=port)
        refused = run_vigil(demo_run.data_dir, "rca", "--alert", "nope", port=port)
    assert there.returncode == 0, there.stderr
    assert json.loads(there.stdout) == answer
    assert refused.returncode == 2 and "no alert with id" in refused.stderr


def test_the_cli_table_and_its_errors(demo_run: DemoRun) -> None:  # noqa: F811
    at, root = _cascade_moment(demo_run)
    table = run_vigil(demo_run.data_dir, "rca", "--at", at, "--lookback", "30m")
    assert table.returncode == 0, table.stderr
    assert root in table.stdout and "rank" in table.stdout
    neither = run_vigil(demo_run.data_dir, "rca")
    assert neither.returncode == 2 and "exactly one" in neither.stderr
    bad = run_vigil(demo_run.data_dir, "rca", "--at", at, "--lookback", "soon")
    assert bad.returncode == 2 and "lookback" in bad.stderr


def test_charts_show_the_band_the_onset_and_the_ranking_in_both_languages(
    opened: tuple[Store, Settings],
) -> None:
    from vigil.i18n import t
    from vigil.rca_charts import candidate_chart, ranking_chart, reason_text

    store, settings = opened
    incident = _incidents(store, "latency_cascade").iloc[0]
    result = root_causes(store, settings, at=pd.Timestamp(incident["started_at"]) + ASK_AFTER)
    top = result.series[0]
    figure = candidate_chart(store, top, result, "zh")
    names = {trace.name for trace in figure.data}
    assert {t("chart.band", "zh"), t("chart.value", "zh")} <= names
    assert [pd.Timestamp(s.x0) for s in figure.layout.shapes if s.type == "line"] == [top.onset]
    assert figure.layout.annotations[0].text.startswith("起始")
    value = next(trace for trace in figure.data if trace.name == t("chart.value", "zh"))
    drawn = pd.to_datetime(value.x)
    assert drawn.min() < result.window_start < top.onset <= drawn.max() <= result.at
    by_service = candidate_chart(store, result.services[1], result, "en")
    assert by_service.layout.title.text in result.services[1].series
    ranking = ranking_chart(result, "zh")
    assert list(ranking.data[0].y) == [f"{s.rank}. {s.service}" for s in result.services]
    assert ranking.layout.title.text == t("rca.timeline", "zh")
    assert reason_text(result.services[0], result, "zh").startswith("最先异常")
    assert "upstream of" in reason_text(result.services[0], result, "en")
    quiet = root_causes(store, settings, at=pd.Timestamp(incident["started_at"]) - ASK_AFTER)
    assert ranking_chart(quiet, "en").layout.title.text == t("rca.none", "en")


def test_a_focus_may_use_another_name_of_the_service(opened: tuple[Store, Settings]) -> None:
    store, settings = opened
    incident = _incidents(store, "latency_cascade").iloc[0]
    at = pd.Timestamp(incident["started_at"]) + ASK_AFTER
    result = root_causes(store, settings, at=at, focus_service="Checkout")
    assert result.focus_service == "orders"
    assert result.services[0].service == incident["service"]
    assert "gateway" not in {s.service for s in result.services}
