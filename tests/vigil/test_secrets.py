"""Secrets from the environment or a private secrets file outside the data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.errors import SettingsError
from vigil.secrets import source_of
from vigil.settings import load_settings

KEY = "sk-from-the-secrets-file-0123456789"
SLACK_RECEIVER = {"name": "ops", "type": "slack", "url_env": "HOOK_URL"}


def _secrets(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("VIGIL_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("VIGIL_LLM_API_KEY", "VIGIL_SECRETS_FILE", "HOOK_URL", "PROM_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_secret_settings_and_named_secrets_come_from_the_file(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (f'llm_api_key = "{KEY}"\n' 'HOOK_URL = "https://hooks.example/T0/B0/xyz"\n'
            'PROM_PASSWORD = "pw-1"\n')  # fmt: skip
    path = _secrets(isolated / "secrets.toml", text)
    monkeypatch.setenv("VIGIL_SECRETS_FILE", str(path))
    settings = load_settings(
        data_dir=isolated / "data",
        receivers=[SLACK_RECEIVER],
        prometheus=[{"url": "http://127.0.0.1:9", "username": "u",
                     "password_env": "PROM_PASSWORD"}],
    )  # fmt: skip
    assert settings.llm_api_key.get_secret_value() == KEY
    assert settings.receivers[0].url.get_secret_value() == "https://hooks.example/T0/B0/xyz"
    assert settings.prometheus[0].password.get_secret_value() == "pw-1"
    assert source_of("llm_api_key") == "secrets file"
    assert KEY not in repr(settings) and "pw-1" not in repr(settings)


def test_the_environment_wins_over_the_file(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _secrets(isolated / "secrets.toml", f'llm_api_key = "{KEY}"\n')
    monkeypatch.setenv("VIGIL_SECRETS_FILE", str(path))
    monkeypatch.setenv("VIGIL_LLM_API_KEY", "sk-env")
    assert load_settings(data_dir=isolated / "d").llm_api_key.get_secret_value() == "sk-env"
    assert source_of("llm_api_key") == "environment"


@pytest.mark.parametrize(
    ("text", "mode", "inside", "message"),
    [
        (f'llm_api_key = "{KEY}"\n', 0o644, False, "can be read by others; chmod 600"),
        (f'llm_api_key = "{KEY}"\n', 0o600, True, "inside the data dir"),
        ('llm_api_key = "unterminated\n', 0o600, False, "is not TOML"),
        ("llm_api_key = 42\n", 0o600, False, "llm_api_key must be strings"),
    ],
)
def test_an_unusable_secrets_file_is_one_clear_error_without_the_value(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, text: str, mode: int, inside: bool,
    message: str,
) -> None:  # fmt: skip
    data_dir = isolated / "data"
    data_dir.mkdir()
    path = _secrets((data_dir if inside else isolated) / "secrets.toml", text, mode)
    monkeypatch.setenv("VIGIL_SECRETS_FILE", str(path))
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings(data_dir=data_dir)
    assert KEY not in str(caught.value)


def test_a_missing_named_secret_names_the_variable(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _secrets(isolated / "secrets.toml", 'OTHER = "x"\n')
    monkeypatch.setenv("VIGIL_SECRETS_FILE", str(path))
    with pytest.raises(SettingsError, match="HOOK_URL is not set"):
        load_settings(data_dir=isolated / "d", receivers=[SLACK_RECEIVER])
