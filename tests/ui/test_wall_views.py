"""The wall's playlist: which view the clock picks, the service map's layout, and every
view rendered by the app on a real store (pinned with ``?view=``, stale, in Chinese)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.tools
import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import Seeded, app_env, signed_in
from vigil.settings import WALL_VIEWS
from vigil.sources.demo import DEPENDENCIES
from vigil.store import Store
from vigil.wall_charts import scale_figure, service_map, wall_alert_timeline
from vigil.wall_map_layout import dependency_depths, map_layout
from vigil.wall_playlist import chart_scale, current_view, pinned_view, view_at

APP = Path(__file__).resolve().parents[2] / "app.py"
EPOCH = pd.Timestamp("1970-01-01")

# -- which view, from the clock alone ---------------------------------------------------------


def test_the_playlist_turns_every_rotate_seconds_and_wraps_around() -> None:
    at = [view_at(EPOCH + pd.Timedelta(seconds=s), WALL_VIEWS, 30) for s in range(0, 330, 15)]
    expected = [v for v in WALL_VIEWS for _ in range(2)] * 2 + ["health", "health"]
    assert at == expected


def test_a_slot_is_floored_not_rounded() -> None:
    start = pd.Timestamp("2025-03-03 12:00:00")  # epoch seconds divisible by 30
    assert view_at(start - pd.Timedelta(microseconds=1), ("a", "b"), 30) != view_at(
        start, ("a", "b"), 30
    )
    assert view_at(start + pd.Timedelta(seconds=29.999), ("a", "b"), 30) == view_at(
        start, ("a", "b"), 30
    )


def test_no_rotation_or_a_single_view_stays_on_the_first() -> None:
    now = pd.Timestamp("2025-03-03 12:01:17")
    assert view_at(now, ("map", "alerts"), 0) == "map"
    assert view_at(now, ("alerts",), 30) == "alerts"


@given(seconds=st.integers(0, 4_000_000_000), rotate=st.integers(1, 3600))
def test_every_tv_agrees_and_a_full_cycle_comes_back(seconds: int, rotate: int) -> None:
    """A pure function of the clock: the same instant gives the same view anywhere, and the
    playlist repeats after rotate x len(views) seconds."""
    now = EPOCH + pd.Timedelta(seconds=seconds)
    view = view_at(now, WALL_VIEWS, rotate)
    assert view == view_at(pd.Timestamp(now.isoformat()), WALL_VIEWS, rotate)
    cycle = pd.Timedelta(seconds=rotate * len(WALL_VIEWS))
    assert view_at(now + cycle, WALL_VIEWS, rotate) == view


def test_a_pin_wins_a_kiosk_rotates_and_a_desk_shows_the_first_view() -> None:
    now = EPOCH + pd.Timedelta(seconds=45)  # second slot of a 30 s playlist
    assert current_view(now, WALL_VIEWS, 30, "capacity", rotate=True) == "capacity"
    assert current_view(now, WALL_VIEWS, 30, None, rotate=True) == "map"
    assert current_view(now, WALL_VIEWS, 30, None, rotate=False) == "health"


def test_only_known_views_can_be_pinned() -> None:
    assert pinned_view("Map ") == "map"
    assert pinned_view("nonsense") is None
    assert pinned_view(None) is None


# -- the service map's layout -----------------------------------------------------------------


def test_callers_sit_left_of_what_they_call_and_loners_stand_apart() -> None:
    layout = map_layout(DEPENDENCIES, ["gateway", "mysql", "batch"]).set_index("service")
    x = layout["x"].to_dict()
    assert x == {"gateway": 0, "orders": 1, "payments": 2, "inventory": 2, "kafka": 2,
                 "mysql": 3, "redis": 3, "batch": 4}  # fmt: skip
    for caller, callees in DEPENDENCIES.items():
        for callee in callees:
            assert x[caller] < x[callee], (caller, callee)
    column = layout[layout["x"] == 2]["y"]
    assert sorted(column) == [-1.0, 0.0, 1.0]  # centred, one apart


def test_an_estate_without_a_graph_is_laid_out_as_a_grid() -> None:
    layout = map_layout({}, ["search", "checkout"])
    assert layout.to_dict("records") == [
        {"service": "checkout", "x": 0.0, "y": 0.5},
        {"service": "search", "x": 0.0, "y": -0.5},
    ]
    many = map_layout({}, [f"svc-{i:02}" for i in range(10)])
    assert many.groupby("x").size().tolist() == [4, 4, 2]


def test_a_cycle_in_a_hand_written_graph_ends() -> None:
    depths = dependency_depths({"a": ("b",), "b": ("c",), "c": ("a",), "d": ("d",)}, [])
    assert set(depths) == {"a", "b", "c", "d"}
    assert max(depths.values()) <= 3 and depths["d"] == 0


# -- charts for a 4K screen --------------------------------------------------------------------


def test_scaling_a_chart_grows_its_pixels_but_not_its_data() -> None:
    nodes = pd.DataFrame({"service": ["a", "b"], "x": [0.0, 1.0], "y": [0.0, 0.0],
                          "status": ["ok", "critical"], "label": ["a", "b"]})  # fmt: skip
    spec = service_map(nodes, [("a", "b")], height=500)
    big = scale_figure(spec, 2)
    assert big["layout"]["height"] == 2 * spec["layout"]["height"]
    assert big["layout"]["font"]["size"] == 40 and big["layout"]["margin"]["l"] == 40
    assert big["data"][0]["marker"]["size"] == 2 * spec["data"][0]["marker"]["size"]
    assert big["data"][0]["textfont"]["size"] == 56
    assert big["layout"]["annotations"][0]["standoff"] == 2 * spec["layout"]["annotations"][0][
        "standoff"]  # fmt: skip
    assert big["layout"]["xaxis"]["range"] == spec["layout"]["xaxis"]["range"]  # data units
    assert list(big["data"][0]["x"]) == [0.0, 1.0]
    assert scale_figure(spec, 1) == spec


def test_a_day_of_incidents_without_alerts_still_draws_its_timeline() -> None:
    """A quiet detector on a day with an incident: the wall shows the incident's span
    instead of an error (Streamlit refuses a figure without a trace)."""
    now = pd.Timestamp("2026-12-03 20:00")
    alerts = pd.DataFrame({"service": [], "severity": [], "start": [], "end": []})
    incidents = pd.DataFrame({"started_at": [now - pd.Timedelta(hours=9)],
                              "ended_at": [now - pd.Timedelta(hours=7)],
                              "title": ["orders: level shift"]})  # fmt: skip
    spec = scale_figure(wall_alert_timeline(alerts, incidents, now - pd.Timedelta(days=1), now), 1)
    figure = plotly.tools.return_figure_from_figure_or_data(spec, validate_figure=True)
    assert len(figure["layout"]["shapes"]) == 1
    assert all(len(trace["x"]) == 0 for trace in figure["data"])


@pytest.mark.parametrize("scale", [1.0, 2.0])
@pytest.mark.parametrize("figure", [go.Figure(), {"data": [], "layout": {"height": 200}}])
def test_every_wall_chart_reaches_streamlit_with_a_trace(figure: object, scale: float) -> None:
    """Whatever a view draws from an empty window, the spec handed to Streamlit passes the
    validation Streamlit runs on specs (a Figure without traces becomes one through
    scale_figure)."""
    spec = scale_figure(figure, scale)  # type: ignore[arg-type]
    drawn = plotly.tools.return_figure_from_figure_or_data(spec, validate_figure=True)
    assert [len(trace["x"]) for trace in drawn["data"]] == [0]


def test_only_a_sensible_chart_scale_is_taken_from_the_url() -> None:
    assert [chart_scale(v) for v in (None, "", "2", "1.5", "0.2", "9", "nan", "x")] == [
        1.0, 1.0, 2.0, 1.5, 1.0, 4.0, 1.0, 1.0]  # fmt: skip


# -- every view in the app ------------------------------------------------------------------


@pytest.fixture
def open_wall(monkeypatch: pytest.MonkeyPatch, engine_reset: None) -> Iterator:
    """An AppTest factory: the wall on a data dir with query parameters and extra settings."""

    def factory(data_dir: Path, env: dict[str, str] | None = None, **query: str) -> AppTest:
        for name, value in (app_env(data_dir) | (env or {})).items():
            monkeypatch.setenv(name, value)
        app = signed_in(AppTest.from_file(str(APP), default_timeout=30))
        app.query_params.update(query)
        return app

    yield factory


def _text(app: AppTest) -> str:
    parts = [e.value for kind in ("html", "markdown", "info", "error") for e in app.get(kind)]
    return "\n".join(str(p) for p in parts)


def _charts(app: AppTest) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in app.get("plotly_chart")}


def _values(data: object) -> list:
    """A trace's array as a list: plotly sends numpy arrays base64-encoded ("bdata")."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data)  # type: ignore[call-overload]


def _shown(app: AppTest) -> str:
    """Which view the header says is on screen."""
    [view] = [v for v in WALL_VIEWS if f'data-view="{v}"' in _text(app)]
    return view


def _assert_content(view: str, app: AppTest) -> None:
    text, charts = _text(app), _charts(app)
    if view == "health":
        assert '<div class="vw-name">checkout</div>' in text and "timeline" in charts
    elif view == "alerts":
        assert "vw-big" in text and "Checkout latency above baseline" in text
    elif view == "map":
        labels = " ".join(_values(charts["service-map"]["data"][-1]["text"]))
        assert all(s in labels for s in ("checkout", "payments", "search"))
    elif view == "anomalies":
        assert sorted(charts) == [f"anomaly-{i}" for i in (1, 2, 3, 4)]
    else:
        assert "No disk or memory usage series to forecast." in text


@pytest.mark.parametrize("view", WALL_VIEWS)
def test_each_view_pinned_by_the_url_shows_its_content(open_wall, fresh_estate, view) -> None:
    app = open_wall(fresh_estate.data_dir, view=view, kiosk="1").run()
    assert not app.exception
    assert _shown(app) == view
    _assert_content(view, app)
    assert "STALE DATA" not in _text(app)
    assert "Updated " in _text(app)
    assert '<span class="vw-dot' not in _text(app)  # a pinned wall plays no playlist


@pytest.mark.parametrize("view", WALL_VIEWS)
def test_every_view_shows_the_stale_banner(open_wall, stale_estate: Seeded, view) -> None:
    app = open_wall(stale_estate.data_dir, view=view).run()
    assert not app.exception
    assert _shown(app) == view
    assert "STALE DATA" in _text(app) and "newest sample 2 h " in _text(app)
    _assert_content(view, app)  # the last data is still shown, marked as old


CHINESE_TITLES = {"health": "系统健康状况", "map": "服务拓扑", "alerts": "正在触发的告警",
                  "anomalies": "异常排行", "capacity": "容量预测"}  # fmt: skip


@pytest.mark.parametrize("view", WALL_VIEWS)
def test_every_view_speaks_chinese(open_wall, stale_estate: Seeded, view) -> None:
    app = open_wall(stale_estate.data_dir, view=view, lang="zh", kiosk="1").run()
    assert not app.exception
    text = _text(app)
    assert f"Vigil · {CHINESE_TITLES[view]}" in text and "数据已过期" in text and "更新于" in text
    for english in ("Estate health", "Service map", "Firing alerts", "Capacity", "STALE"):
        assert english not in text


def _clock_at_slot(monkeypatch: pytest.MonkeyPatch, slot: int, rotate: int = 30) -> None:
    """Set the app's clock to the next moment the playlist is at ``slot`` (of five)."""
    now = pd.Timestamp.now("UTC").tz_localize(None).floor("s")
    seconds = (now - EPOCH) // pd.Timedelta(seconds=1)
    ahead = ((slot - seconds // rotate) % 5) * rotate - seconds % rotate + 1
    fixed = now + pd.Timedelta(seconds=int(ahead))
    monkeypatch.setattr("vigil.clock.utc_now", lambda: fixed.as_unit("ns"))


def test_a_kiosk_wall_shows_the_view_the_clock_picks(open_wall, fresh_estate, monkeypatch) -> None:
    app = open_wall(fresh_estate.data_dir, kiosk="1")
    seen = []
    for slot in (1, 2, 4):
        _clock_at_slot(monkeypatch, slot)
        app.run()
        assert not app.exception
        seen.append(_shown(app))
    assert seen == ["map", "alerts", "capacity"]
    assert "5/5 · Capacity forecast" in _text(app) and _text(app).count("vw-dot on") == 1


def test_a_kiosk_plays_the_configured_playlist_in_its_order(
    open_wall, fresh_estate: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"VIGIL_WALL_VIEWS": '["capacity", "map"]', "VIGIL_WALL_ROTATE_SECONDS": "60"}
    app = open_wall(fresh_estate.data_dir, env=env, kiosk="1")
    fixed = pd.Timestamp.now("UTC").tz_localize(None).floor("120s") + pd.Timedelta(seconds=61)
    monkeypatch.setattr("vigil.clock.utc_now", lambda: fixed.as_unit("ns"))
    app.run()
    assert not app.exception
    assert _shown(app) == "map" and "2/2 · Service map" in _text(app)


def test_a_desk_wall_shows_the_first_view_and_a_picker_that_pins(open_wall, fresh_estate) -> None:
    app = open_wall(fresh_estate.data_dir).run()
    assert not app.exception
    assert _shown(app) == "health"
    app.get("button_group")[0].set_value("map").run()
    assert not app.exception
    assert _shown(app) == "map" and app.query_params["view"] == "map"


def test_the_map_lays_out_the_configured_graph_and_colours_by_health(
    open_wall, fresh_estate: Seeded
) -> None:
    env = {"VIGIL_SERVICE_DEPENDENCIES": '{"checkout": ["payments", "search", "ledger"]}'}
    app = open_wall(fresh_estate.data_dir, env=env, view="map").run()
    assert not app.exception
    figure = _charts(app)["service-map"]
    nodes = figure["data"][-1]
    names = [label.split("<br>")[0] for label in _values(nodes["text"])]
    at = dict(zip(names, _values(nodes["x"]), strict=True))
    assert at == {"<b>checkout</b>": 0, "<b>payments</b>": 1, "<b>ledger</b>": 1,
                  "<b>search</b>": 1}  # fmt: skip
    colours = dict(zip(names, _values(nodes["marker"]["color"]), strict=True))
    assert colours["<b>checkout</b>"] == "#dc2626"  # a firing critical alert
    assert colours["<b>payments</b>"] == "#d97706"  # anomalous
    assert colours["<b>ledger</b>"] == "#475569"  # in the graph, no series
    assert len(figure["layout"]["annotations"]) == 3  # one arrow per call


# -- capacity on an estate with disks and memory --------------------------------------------


def _add_ratio(store: Store, sid: int, metric: str, instance: str, values: np.ndarray,
               newest: pd.Timestamp) -> None:  # fmt: skip
    labels = {"instance": instance, "service": "payments"}
    key = metric + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    store.execute(
        "INSERT INTO series (series_id, series_key, metric, labels, source, service, host) "
        "VALUES (?, ?, ?, ?, 'test', 'payments', ?)",
        [sid, key, metric, json.dumps(labels, sort_keys=True), instance],
    )
    ts = pd.date_range(end=newest, periods=len(values), freq="1min")
    frame = pd.DataFrame({"series_id": sid, "ts": ts, "value": values})
    store.cursor.register("ratio_frame", frame)
    store.cursor.execute("INSERT INTO samples SELECT series_id, ts, value FROM ratio_frame")
    store.cursor.unregister("ratio_frame")


def _with_ratios(seeded: Seeded, filling: bool) -> Seeded:
    store = Store.open(seeded.data_dir)
    try:
        flat = np.full(120, 0.55)
        _add_ratio(store, 11, "node_memory_used_ratio", "pay-1", flat, seeded.newest)
        if filling:  # 0.80 -> 0.92 over two hours: 100 % in 1 h 19 min
            rising = np.linspace(0.80, 0.92, 120)
            _add_ratio(store, 12, "node_filesystem_used_ratio", "pay-1", rising, seeded.newest)
            _add_ratio(store, 13, "redis_memory_used_ratio", "pay-2", np.ones(120), seeded.newest)
    finally:
        store.close()
    return seeded


def test_capacity_lists_what_fills_up_soonest_first(open_wall, fresh_estate: Seeded) -> None:
    app = open_wall(_with_ratios(fresh_estate, filling=True).data_dir, view="capacity").run()
    assert not app.exception
    text = _text(app)
    assert "Full within 24 hours at the current pace" in text
    assert list(_charts(app)) == ["capacity-13", "capacity-12"]  # full now, then ~48 min
    assert "FULL NOW" in text
    assert re.search(r"100 % in 1 h 1\d min · \d\d:\d\d:\d\d UTC", text)  # less the sample's age
    trend = _charts(app)["capacity-12"]["data"][1]
    assert _values(trend["y"])[-1] == pytest.approx(1.0, abs=1e-6)  # the projection meets the limit


def test_capacity_says_there_is_no_risk_and_shows_the_fullest(open_wall, fresh_estate) -> None:
    app = open_wall(_with_ratios(fresh_estate, filling=False).data_dir, view="capacity").run()
    assert not app.exception
    text = _text(app)
    assert "No capacity risk in the next 24 hours" in text and "55% used" in text
    assert list(_charts(app)) == ["capacity-11"]
