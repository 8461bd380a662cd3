"""Nothing opens unprotected: the login page, the first-user help, roles on the pages,
and a wall token that shows the wall and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import APP, Seeded, app_env, signed_in
from vigil import auth
from vigil.store import Store

PASSWORD = "a long enough password"


@pytest.fixture
def open_app(monkeypatch: pytest.MonkeyPatch, engine_reset: None):
    def factory(data_dir: Path, **query: str) -> AppTest:
        for name, value in app_env(data_dir).items():
            monkeypatch.setenv(name, value)
        app = AppTest.from_file(str(APP), default_timeout=60)
        app.query_params.update(query)
        return app

    return factory


def _add(data_dir: Path, name: str, role: str) -> str:
    store = Store.open(data_dir)
    try:
        auth.add_user(store, name, PASSWORD, role, "test")
        _, token = auth.issue_wall_token(store, "NOC", "test")
    finally:
        store.close()
    return token


def test_without_users_the_app_explains_how_to_create_one(open_app, fresh_estate: Seeded) -> None:
    app = open_app(fresh_estate.data_dir).run()
    assert not app.exception
    assert "Nobody can sign in yet" in app.warning[0].value
    assert "vigil user add admin --role admin" in app.code[0].value
    assert not app.get("plotly_chart")  # no data shown to nobody


def test_a_login_opens_the_app_and_a_wrong_password_does_not(
    open_app, fresh_estate: Seeded
) -> None:
    _add(fresh_estate.data_dir, "ada", "viewer")
    app = open_app(fresh_estate.data_dir).run()
    assert app.title[0].value == "Sign in to Vigil"
    app.text_input(key="login_user").set_value("ada")
    app.text_input(key="login_pw").set_value("wrong password here")
    app = app.button(key="FormSubmitter:login-Sign in").click().run()
    assert app.error[0].value == "wrong user name or password"
    app.text_input(key="login_pw").set_value(PASSWORD)
    app = app.button(key="FormSubmitter:login-Sign in").click().run()
    assert not app.exception
    assert any("Signed in as ada (viewer)" in c.value for c in app.sidebar.caption)
    assert app.session_state["vigil_session_token"]


def test_a_viewer_cannot_open_settings_or_act_on_alerts(open_app, fresh_estate: Seeded) -> None:
    app = signed_in(open_app(fresh_estate.data_dir), "viewer").run()
    with pytest.raises(ValueError, match="Known pages") as refused:
        app.switch_page("pages/settings.py")  # not in a viewer's navigation at all
    assert "pages/settings.py'," not in str(refused.value).split("Known pages")[1]
    assert "pages/alerts.py" in str(refused.value).split("Known pages")[1]
    alerts = signed_in(open_app(fresh_estate.data_dir, alert="latency-critical"), "viewer")
    alerts = alerts.run().switch_page("pages/alerts.py").run()
    alerts = alerts.button(key="alert_acknowledge").click().run()
    assert "alerts.acknowledge needs operator" in alerts.error[0].value
    from vigil.engine import get_engine

    acked = "SELECT acknowledged_by FROM alerts WHERE alert_id = 'latency-critical'"
    assert get_engine().store.one(acked) is None  # refused by the service, nothing changed


def test_a_wall_token_shows_the_wall_alone_until_revoked(open_app, fresh_estate: Seeded) -> None:
    token = _add(fresh_estate.data_dir, "root", "admin")
    app = open_app(fresh_estate.data_dir, kiosk="1", token=token).run()
    assert not app.exception
    assert app.get("plotly_chart") or app.get("html")  # the wall renders
    assert app.session_state["vigil_principal"].role == "wall"
    with pytest.raises(ValueError, match=r"Known pages: \['[^']*pages/wall.py'\]"):
        app.switch_page("pages/explore.py")  # a wall token opens the wall alone
    bad = open_app(fresh_estate.data_dir, kiosk="1", token=token + "x").run()
    assert "not valid or was revoked" in bad.error[0].value
