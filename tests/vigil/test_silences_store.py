"""Silences in the store, on the CLI and through the running engine; alert lists say what
mutes each alert."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.conftest import engine_auth, run_vigil, serving_engine
from tests.sources.promserver import free_port
from vigil.alert_list import list_alerts
from vigil.clock import utc_now
from vigil.errors import VigilError
from vigil.settings import load_settings
from vigil.silences_store import expire_silence, list_silences, silence_request
from vigil.store import Store


def test_a_silence_is_added_listed_and_expired_into_history(store: Store) -> None:
    request = {"matchers": ['service="checkout"', 'env=~"prod.*"'], "duration": "2h",
               "created_by": "alice", "comment": "deploy 4711"}  # fmt: skip
    silence = silence_request(store, request)
    [listed] = list_silences(store, ["active"])
    assert listed["matchers"] == ['service="checkout"', 'env=~"prod.*"']
    assert (listed["created_by"], listed["comment"]) == ("alice", "deploy 4711")
    ended = expire_silence(store, silence.silence_id)
    assert ended.ends_at <= utc_now()
    assert list_silences(store, ["active"]) == []
    assert [s["state"] for s in list_silences(store)] == ["expired"]  # kept as history
    with pytest.raises(VigilError, match="already expired"):
        expire_silence(store, silence.silence_id)
    with pytest.raises(VigilError, match="no silence 'nope'"):
        expire_silence(store, "nope")


@pytest.mark.parametrize(
    "request_, message",
    [
        ({"matchers": [], "duration": "1h", "created_by": "a"}, "at least one matcher"),
        ({"matchers": ['env=~".*"'], "duration": "1h", "created_by": "a"}, "mute everything"),
        ({"matchers": ["a=b"], "duration": "-1h", "created_by": "a"}, "must be positive"),
        ({"matchers": ["a=b"], "duration": "soon", "created_by": "a"}, "not a duration"),
        ({"matchers": ["a=b"], "ends_at": "2020-01-01", "created_by": "a"}, "in the past"),
        ({"matchers": ["a=b"], "created_by": "a"}, "either duration"),
        ({"matchers": ["a=b"], "duration": "1h", "created_by": " "}, "needs an author"),
        ({"matchers": ["a=b"], "duration": "1h", "created_by": "a", "x": 1}, "unknown field"),
        ({"matchers": "a=b", "duration": "1h", "created_by": "a"}, "must be a list"),
        ({"matchers": ['a=~"("'], "duration": "1h", "created_by": "a"}, "invalid regex"),
        (
            {
                "matchers": ["a=b'; DROP TABLE silences; --"],
                "duration": "1h",
                "created_by": "a",
                "starts_at": "2030-01-01",
                "ends_at": "2029-01-01",
            },
            "either duration",
        ),
    ],
)
def test_a_bad_silence_is_refused_and_stores_nothing(store: Store, request_, message) -> None:
    with pytest.raises(VigilError, match=message):
        silence_request(store, request_)
    assert store.one("SELECT count(*) FROM silences") == 0


def _alert(store: Store, alert_id: str, state: str, labels: dict[str, str]) -> None:
    now = utc_now().to_pydatetime()
    store.execute(
        "INSERT INTO alerts (alert_id, fingerprint, rule_id, labels, annotations, severity, "
        "state, active_at, last_eval_at) VALUES (?, ?, 'r', ?, '{}', ?, ?, ?, ?)",
        [alert_id, alert_id, json.dumps(labels), labels.get("severity", "warning"), state,
         now, now],
    )  # fmt: skip


def test_alert_lists_say_which_silences_and_alerts_mute_each_alert(store: Store) -> None:
    _alert(store, "down", "firing", {"severity": "critical", "instance": "db-1"})
    _alert(store, "slow-1", "firing", {"severity": "warning", "instance": "db-1"})
    _alert(store, "slow-2", "pending", {"severity": "warning", "instance": "db-2",
                                        "service": "checkout"})  # fmt: skip
    _alert(store, "old", "resolved", {"severity": "warning", "instance": "db-1",
                                      "service": "checkout"})  # fmt: skip
    a = silence_request(store, {"matchers": ['service="checkout"'], "duration": "1h",
                                "created_by": "alice"})  # fmt: skip
    b = silence_request(store, {"matchers": ['instance=~"db-.*"', 'severity="warning"'],
                                "duration": "1h", "created_by": "bob"})  # fmt: skip
    rules = load_settings(data_dir=Path("unused")).parsed_inhibit_rules()  # critical > warning
    alerts = {r["alert_id"]: r for r in list_alerts(store, (), rules)}
    assert alerts["down"]["silenced_by"] == [] and alerts["down"]["inhibited_by"] == []
    assert alerts["slow-1"]["inhibited_by"] == ["down"]
    assert alerts["slow-1"]["silenced_by"] == [b.silence_id]
    assert alerts["slow-2"]["silenced_by"] == [a.silence_id, b.silence_id]  # overlapping
    assert alerts["slow-2"]["inhibited_by"] == []  # another host
    assert alerts["old"]["silenced_by"] == [] and alerts["old"]["inhibited_by"] == []
    pending = list_alerts(store, ["pending"], rules)  # filtering keeps the firing sources
    assert [r["alert_id"] for r in pending] == ["slow-2"]
    expire_silence(store, a.silence_id)
    alerts = {r["alert_id"]: r for r in list_alerts(store, (), rules)}
    assert alerts["slow-2"]["silenced_by"] == [b.silence_id]


def test_silences_work_through_the_running_engine(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    url = f"http://127.0.0.1:{port}/api/v1/silences"
    with serving_engine(data_dir, port):
        added = run_vigil(data_dir, "silences", "add", 'service="checkout"', "--for", "2h",
                          "-c", "deploy", "--author", "carol", port=port)  # fmt: skip
        assert added.returncode == 0, added.stderr
        sid = added.stdout.split()[1]
        listed = run_vigil(data_dir, "silences", "list", "--json", "--state", "active", port=port)
        [record] = [json.loads(line) for line in listed.stdout.splitlines()]
        assert record["silence_id"] == sid and record["created_by"] == "carol"
        refused = run_vigil(data_dir, "silences", "add", 'env=~".*"', "--for", "1h", port=port)
        assert refused.returncode == 2 and "mute everything" in refused.stderr
        for body, status in ((b"{not json", 400), (b"[1, 2]", 400), (b"x" * 70_000, 413)):
            answer = requests.post(url, data=body, timeout=10, headers=engine_auth(data_dir))
            assert answer.status_code == status and "error" in answer.json()
        assert requests.get(url, timeout=10).json()["silences"][0]["silence_id"] == sid
        expired = run_vigil(data_dir, "silences", "expire", sid, port=port)
        assert expired.returncode == 0, expired.stderr
        again = run_vigil(data_dir, "silences", "list", "--json", port=port)
        assert [json.loads(line)["state"] for line in again.stdout.splitlines()] == ["expired"]
    store = Store.open(data_dir)
    try:
        assert store.one("SELECT count(*) FROM silences") == 1  # the refused ones left nothing
    finally:
        store.close()
