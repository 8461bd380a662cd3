"""The settings a backup carries: everything that shaped the data, no credential."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vigil.redaction import is_secret_name, redacted_settings
from vigil.settings import load_settings

SECRETS = ("pw-basic-91b2", "tok-bearer-77c1", "Bearer hdr-55a0", "pass-in-url-13e9",
           "sk-llm-0d4e", "sk-embed-6f2a", "intake-8b3c")  # fmt: skip


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    toml = tmp_path / "vigil.toml"
    toml.write_text(
        "[[prometheus]]\nname = \"prod\"\nurl = \"https://reader:pass-in-url-13e9@prom:9090\"\n"
        "username = \"reader\"\npassword = \"pw-basic-91b2\"\nbearer_token = \"tok-bearer-77c1\"\n"
        "headers = { Authorization = \"Bearer hdr-55a0\", X-Scope-OrgID = \"tenant-1\" }\n"
    )  # fmt: skip
    monkeypatch.setenv("VIGIL_CONFIG", str(toml))
    monkeypatch.setenv("VIGIL_LLM_API_KEY", "sk-llm-0d4e")
    monkeypatch.setenv("VIGIL_EMBEDDING_API_KEY", "sk-embed-6f2a")
    monkeypatch.setenv("VIGIL_INTAKE_TOKEN", "intake-8b3c")
    return redacted_settings(load_settings(data_dir=tmp_path / "data"))


def test_no_secret_value_survives(configured: dict) -> None:
    text = json.dumps(configured)
    assert not [s for s in SECRETS if s in text]


def test_secrets_say_whether_they_are_set(configured: dict) -> None:
    assert configured["llm_api_key"] == "set" and configured["intake_token"] == "set"
    prod = configured["prometheus"][0]
    assert prod["password"] == "set" and prod["bearer_token"] == "set"
    assert prod["headers"] == {"Authorization": "set", "X-Scope-OrgID": "set"}
    assert prod["url"] == "https://set@prom:9090"


def test_what_is_not_secret_is_kept_as_it_is(configured: dict, tmp_path: Path) -> None:
    assert configured["data_dir"] == str(tmp_path / "data")
    assert configured["prometheus"][0]["username"] == "reader"
    assert configured["llm_daily_token_budget"] == 200_000
    assert configured["llm_price_per_1k_input_tokens"] == pytest.approx(0.00015)
    assert configured["backup_keep"] == 7 and configured["group_by"] == ["service"]


@pytest.mark.parametrize(
    ("name", "secret"),
    [("llm_api_key", True), ("smtp_password", True), ("bearer_token", True),
     ("signing_secret", True), ("token", True), ("llm_daily_token_budget", False),
     ("llm_price_per_1k_output_tokens", False), ("backup_keep", False),
     ("monkey", False)],
)  # fmt: skip
def test_a_name_is_secret_when_it_says_so(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret
