from __future__ import annotations

import re
from pathlib import Path

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
    documented = set(re.findall(r"`VIGIL_([A-Z_]+)`", README.read_text()))
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
