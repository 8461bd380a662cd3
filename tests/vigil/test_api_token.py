"""The engine's API token: created private, kept across restarts, compared exactly."""

from __future__ import annotations

import stat
from pathlib import Path

from vigil.api_token import authorized, ensure_api_token, read_api_token, token_path


def test_the_token_is_private_and_stable(tmp_path: Path) -> None:
    first = ensure_api_token(tmp_path / "d")
    mode = stat.S_IMODE(token_path(tmp_path / "d").stat().st_mode)
    assert mode == 0o600 and len(first) >= 40
    assert ensure_api_token(tmp_path / "d") == first == read_api_token(tmp_path / "d")
    assert read_api_token(tmp_path / "absent") is None


def test_only_the_exact_bearer_token_passes() -> None:
    assert authorized("Bearer s3cret", "s3cret") and authorized("bearer s3cret", "s3cret")
    for header in (None, "", "s3cret", "Basic s3cret", "Bearer s3cre", "Bearer s3cretX"):
        assert not authorized(header, "s3cret"), header
    assert authorized(None, None)  # a server started without a token (tests, tools)
