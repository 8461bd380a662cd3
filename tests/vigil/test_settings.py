from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from vigil.errors import SettingsError
from vigil.settings import Settings, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_environment_overrides_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "vigil.toml"
    toml.write_text('data_dir = "/srv/from-toml"\nstep_seconds = 30\n')
    monkeypatch.setenv("VIGIL_CONFIG", str(toml))
    monkeypatch.setenv("VIGIL_STEP_SECONDS", "15")
    settings = load_settings()
    assert settings.data_dir == Path("/srv/from-toml")
    assert settings.step_seconds == 15


def test_defaults_put_data_under_dot_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIGIL_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("VIGIL_DATA_DIR", raising=False)
    assert load_settings().db_path == Path("data") / "vigil.duckdb"


def test_invalid_value_is_one_readable_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_LANGUAGE", "fr")
    with pytest.raises(SettingsError, match="invalid setting language") as caught:
        load_settings()
    assert "\n" not in str(caught.value)


def test_every_setting_is_documented_in_the_readme() -> None:
    documented = set(re.findall(r"`VIGIL_([A-Z0-9_]+)`", README.read_text()))
    for name in Settings.model_fields:
        assert name.upper() in documented, f"VIGIL_{name.upper()} missing from README"


def test_inhibition_rules_from_toml_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "vigil.toml"
    config.write_text(
        "[[inhibit_rules]]\nsource_matchers = ['alertname=\"SiteDown\"']\n"
        'target_matchers = [\'severity=~"warning|info"\']\nequal = ["site"]\n'
    )
    monkeypatch.setenv("VIGIL_CONFIG", str(config))
    [rule] = load_settings().parsed_inhibit_rules()
    assert rule.equal == ("site",) and rule.target[0].matches({"severity": "info"})
    config.write_text("[[inhibit_rules]]\nsource_matchers = ['bad']\ntarget_matchers = ['a=b']\n")
    with pytest.raises(SettingsError, match=r"invalid setting inhibit_rules.*is not a matcher"):
        load_settings()


def test_the_readmes_receivers_and_routing_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    import tomllib

    from analytics.routing import match

    block = README.read_text().split("Receivers and routing in `vigil.toml`")[1]
    example = tomllib.loads(block.split("```toml")[1].split("```")[0])
    for name in ("DINGTALK_WEBHOOK_URL", "DINGTALK_SECRET", "SMTP_PASSWORD"):
        monkeypatch.setenv(name, "https://robot.example/send?access_token=t")
    settings = load_settings(**example)
    tree = settings.routing_tree()
    assert [r.receiver for r in match(tree, {"service": "mysql"})] == ["dba-mail"]
    assert [r.receiver for r in match(tree, {"service": "web"})] == ["oncall-dingtalk"]
    assert tree.routes[0].muted_at(
        pd.Timestamp("2026-12-01 15:00"), settings.parsed_time_intervals()
    )  # 23:00 in Shanghai


def test_a_receiver_whose_secret_variable_is_unset_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_SUCH_VARIABLE", raising=False)
    with pytest.raises(SettingsError, match="NO_SUCH_VARIABLE is not set"):
        load_settings(receivers=[{"name": "r", "type": "slack", "url_env": "NO_SUCH_VARIABLE"}])
    with pytest.raises(SettingsError, match="which is not defined"):
        load_settings(route={"receiver": "nobody"})
    with pytest.raises(SettingsError, match="email needs"):
        load_settings(receivers=[{"name": "m", "type": "email"}])
