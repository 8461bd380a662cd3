"""Every page renders, without an exception, on an empty data dir, on a seeded one, and
with a broken source (its last pull failed and its endpoint does not answer)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.ui.conftest import Seeded, make_seeded, seed_rule
from vigil.store import Store

PAGES = ("wall", "explore", "alerts", "rules", "search", "assistant", "knowledge", "models",
         "jobs", "settings", "admin")  # fmt: skip


def _estate(kind: str, tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    if kind == "empty":
        store = Store.open(data_dir)
        seed_rule(store)
        store.close()
        return data_dir
    seeded: Seeded = make_seeded(data_dir, pd.Timedelta(seconds=30))
    if kind == "broken source":
        store = Store.open(seeded.data_dir)
        try:
            now = seeded.now.to_pydatetime()
            store.execute(
                "INSERT OR REPLACE INTO source_health (source, last_success, last_error_at, "
                "last_error, updated_at) VALUES ('prometheus', NULL, ?, "
                "'Connection refused for query ''up''', ?)", [now, now],
            )  # fmt: skip
        finally:
            store.close()
    return seeded.data_dir


@pytest.mark.parametrize("kind", ["empty", "seeded", "broken source"])
def test_every_page_renders(open_page, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                            kind: str) -> None:  # fmt: skip
    data_dir = _estate(kind, tmp_path)
    if kind == "broken source":
        monkeypatch.setenv("VIGIL_PROMETHEUS_URL", "http://127.0.0.1:1")  # nothing listens
    for page in PAGES:
        app = open_page(data_dir, f"pages/{page}.py")
        assert not app.exception, (page, kind, app.exception)
        shown = app.title or app.get("html") or app.get("plotly_chart")  # the wall: HTML
        assert shown, f"{page} shows nothing on the {kind} data dir"
        if kind == "broken source" and page == "jobs":
            shown = "\n".join(str(e.value) for e in app.get("markdown") + app.get("html"))
            assert "Connection refused" in shown
