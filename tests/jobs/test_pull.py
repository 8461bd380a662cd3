"""A source that fails mid-backfill loses nothing: the next pull resumes where it stopped."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from jobs.pull import pull_source, watermark
from vigil.sources.base import PullResult
from vigil.sources.demo_source import DemoSource
from vigil.store import Store

NOW = pd.Timestamp("2026-11-20 12:00")


class FailsAfter(DemoSource):
    """The demo estate, with its connection dropping after ``calls`` pulls."""

    def __init__(self, calls: int) -> None:
        super().__init__(seed=4, backfill_days=3)
        self.calls = calls

    def pull(self, start: pd.Timestamp, end: pd.Timestamp) -> PullResult:
        if self.calls == 0:
            raise ConnectionError("source went away")
        self.calls -= 1
        return super().pull(start, end)


def test_a_failed_backfill_resumes_without_gaps_or_duplicates(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ConnectionError):
        pull_source(store, FailsAfter(calls=2), 60, now=NOW)
    stopped_at = watermark(store, "demo")
    assert stopped_at == (NOW - pd.Timedelta(days=3)).floor("60s") + pd.Timedelta(days=2)
    error = store.one("SELECT last_error FROM source_health WHERE source = 'demo'")
    assert "source went away" in error
    kept = store.one("SELECT count(*) FROM samples")
    assert kept > 0 and store.one("SELECT max(ts) FROM samples") < stopped_at

    pull_source(store, FailsAfter(calls=10), 60, now=NOW)
    healed = store.one(
        "SELECT last_success >= last_error_at FROM source_health WHERE source = 'demo'"
    )
    assert healed  # the error stays on record, but the source is healthy again

    clean = Store.open(tmp_path / "clean")
    try:
        pull_source(clean, DemoSource(seed=4, backfill_days=3), 60, now=NOW)
        expected = clean.one("SELECT count(*) FROM samples")
    finally:
        clean.close()
    assert store.one("SELECT count(*) FROM samples") == expected
    distinct = store.one("SELECT count(*) FROM (SELECT DISTINCT series_id, ts FROM samples)")
    assert distinct == expected
