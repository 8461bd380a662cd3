"""The Rules page on a real store: the list with health, an edit whose backtest shows
before it is saved, validation at the line, rollback, and group switches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import Seeded, app_env, signed_in
from vigil.rules_store import import_rules
from vigil.store import Store

APP = Path(__file__).resolve().parents[2] / "app.py"
RULE = {"alert": "LatencyHigh", "expr": "http_latency_seconds > 4", "for": "1m",
        "labels": {"severity": "critical"}}  # fmt: skip


@pytest.fixture
def rules_estate(fresh_estate: Seeded) -> Seeded:
    """The known estate (payments' latency jumps by 3 in its last five minutes) with one
    rule that catches the jump."""
    store = Store.open(fresh_estate.data_dir)
    try:
        import_rules(store, yaml.safe_dump({"groups": [{"name": "web", "rules": [RULE]}]}),
                     "alice")  # fmt: skip
        store.execute("DELETE FROM rules WHERE rule_id = 'test-rule'")  # a placeholder row
    finally:
        store.close()
    return fresh_estate


@pytest.fixture
def open_rules(monkeypatch: pytest.MonkeyPatch, engine_reset: None) -> Iterator:
    def factory(data_dir: Path) -> AppTest:
        for name, value in app_env(data_dir).items():
            monkeypatch.setenv(name, value)
        app = signed_in(AppTest.from_file(str(APP), default_timeout=60), name="bob")
        app.run()
        return app.switch_page("pages/rules.py").run()

    yield factory


def _versions(app: AppTest) -> list[int]:
    from vigil.engine import get_engine

    store = get_engine().store
    return [v for (v,) in store.cursor.execute(
        "SELECT version FROM rule_versions WHERE rule_id = 'LatencyHigh' ORDER BY version"
    ).fetchall()]  # fmt: skip


def _edit(app: AppTest, text: str) -> AppTest:
    app.selectbox(key="rules_pick").set_value("LatencyHigh").run()
    app.text_area(key="rules_yaml_LatencyHigh").set_value(text)
    return app


def test_the_list_shows_every_rule_with_its_health(open_rules, rules_estate: Seeded) -> None:
    app = open_rules(rules_estate.data_dir)
    assert not app.exception
    listed = app.dataframe[0].value
    assert "LatencyHigh" in listed.iloc[:, 1].tolist()
    assert "rules in" in app.caption[0].value


def test_an_edit_shows_its_backtest_before_it_is_saved(open_rules, rules_estate: Seeded) -> None:
    app = open_rules(rules_estate.data_dir)
    edited = yaml.safe_dump({**RULE, "expr": "http_latency_seconds > 3.5"}, sort_keys=False)
    _edit(app, edited).button(key="rules_preview").click().run()
    assert not app.exception
    [summary] = [i.value for i in app.info]
    # payments jumps (one firing); search peaks above 3.5 twice on its wave
    assert "fires 3 times on 2 of 3 matched series" in summary
    keys = {chart.key for chart in app.get("plotly_chart")}
    assert {"rules_preview_chart", "rules_per_day_chart"} <= keys
    assert _versions(app) == [1]  # previewing saves nothing
    app.button(key="rules_save").click().run()
    assert "Saved LatencyHigh as version 2." in [s.value for s in app.success]
    assert _versions(app) == [1, 2]


def test_an_invalid_edit_says_where_and_saves_nothing(open_rules, rules_estate: Seeded) -> None:
    app = open_rules(rules_estate.data_dir)
    broken = yaml.safe_dump({**RULE, "for": "5x"}, sort_keys=False)
    _edit(app, broken).button(key="rules_save").click().run()
    assert not app.exception
    [error] = [e.value for e in app.error]
    assert "line 3, field 'for': invalid duration '5x'" in error
    assert _versions(app) == [1]


def test_rollback_and_group_switch_from_the_page(open_rules, rules_estate: Seeded) -> None:
    app = open_rules(rules_estate.data_dir)
    _edit(app, yaml.safe_dump({**RULE, "for": "2m"}, sort_keys=False))
    app.button(key="rules_save").click().run()
    app.button(key="rules_rollback_1").click().run()
    assert not app.exception
    assert "LatencyHigh is now version 3, as version 1 was." in [s.value for s in app.success]
    assert _versions(app) == [1, 2, 3]
    app.selectbox(key="rules_group").set_value("web")
    app.button(key="rules_switch_False").click().run()
    assert "1 rules switched: LatencyHigh" in [s.value for s in app.success]


def test_the_form_edits_the_rule_with_errors_at_the_field_and_keeps_the_rest(
    open_rules, rules_estate: Seeded
) -> None:
    app = open_rules(rules_estate.data_dir)
    app.selectbox(key="rules_pick").set_value("LatencyHigh").run()
    app.get("button_group")[0].set_value("form").run()
    assert not app.exception
    assert app.text_area(key="rules_form_expr_LatencyHigh").value == "http_latency_seconds > 4"
    assert app.selectbox(key="rules_form_severity_LatencyHigh").value == "critical"
    app.text_input(key="rules_form_for_LatencyHigh").set_value("5 minutes").run()
    [error] = [e.value for e in app.error]
    assert error.startswith("invalid duration '5 minutes'")  # the message, under its field
    app.text_input(key="rules_form_for_LatencyHigh").set_value("2m")
    app.text_area(key="rules_form_expr_LatencyHigh").set_value("http_latency_seconds > 3.5")
    app.text_input(key="rules_form_summary_LatencyHigh").set_value("Latency above 3.5 s").run()
    assert not app.error
    app.button(key="rules_preview").click().run()
    assert app.get("plotly_chart"), "the backtest is drawn before saving"
    app.button(key="rules_save").click().run()
    assert not app.exception and _versions(app) == [1, 2]
    app.get("button_group")[0].set_value("yaml").run()  # the YAML shows what the form made
    saved = yaml.safe_load(app.text_area(key="rules_yaml_LatencyHigh").value)
    assert saved["expr"] == "http_latency_seconds > 3.5" and saved["for"] == "2m"
    assert saved["annotations"]["summary"] == "Latency above 3.5 s"
    assert saved["labels"] == {"severity": "critical"}
