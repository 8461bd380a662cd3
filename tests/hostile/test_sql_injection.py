"""SQL injection strings reach every text entry point as data, never as SQL: search, the
Search page, the alert, silence, rule and root-cause commands, the engine's JSON
endpoints and the names in an imported file. Each is refused in one line (or, where the
text is a legitimate value, stored verbatim), and nothing else changes."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest

from tests.conftest import run_vigil
from tests.hostile.conftest import (
    Served,
    assert_cli_refused,
    assert_http_refused,
    assert_one_line,
    state_of,
    vigil_in_process,
)
from tests.hostile.payloads import MATCHER_INJECTIONS, SQL_INJECTIONS
from tests.ui.conftest import Seeded, make_seeded, signed_in
from vigil.search import QueryError, search

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.mark.parametrize("text", SQL_INJECTIONS)
def test_search_treats_injection_as_words(served: Served, text: str) -> None:
    before = served.state()
    try:
        results = search(served.engine.store, text)
    except QueryError as exc:  # an unclosed quote is a query the user must fix
        assert_one_line(str(exc))
    else:
        assert results.total == 0  # no alert, rule or series holds these words
    assert served.state() == before
    served.assert_healthy()


def test_search_finds_a_hostile_word_only_where_it_is_stored(served: Served) -> None:
    """A stored word is found; the same word with an injection tail is a literal term that
    matches nothing, rather than a condition that matches everything."""
    before = served.state()
    found = search(served.engine.store, "kind:alert baseline")
    assert [h.title for h in found.hits("alert")]  # the seeded alert, as a control
    assert search(served.engine.store, "kind:alert baseline' OR '1'='1").total == 0
    assert served.state() == before


def test_search_page_shows_an_error_or_nothing_for_injection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine_reset: None
) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.ui.conftest import app_env

    seeded = make_seeded(tmp_path / "data", pd.Timedelta(seconds=30))
    before = state_of(seeded.data_dir)
    for name, value in app_env(seeded.data_dir).items():
        monkeypatch.setenv(name, value)
    app = signed_in(AppTest.from_file(str(APP), default_timeout=60)).run()
    app = app.switch_page("pages/search.py").run()
    for text in SQL_INJECTIONS:
        app.text_input(key="search_box").set_value(text).run()
        assert not app.exception, text
        shown = [m.value for m in app.markdown if "](" in m.value]
        assert shown == [], (text, shown)
        if text.startswith('"'):  # the unclosed quote is said on the page
            assert [e.value for e in app.error], text
    from vigil.engine import reset_engine

    reset_engine()
    assert state_of(seeded.data_dir) == before


# --- the CLI, in process (the real entry point), one case a command -------------------

CLI_CASES = [
    ("alerts", "ack", "{x}"),
    ("alerts", "resolve", "{x}"),
    ("rules", "history", "{x}"),
    ("rca", "--alert", "{x}"),
    ("ask", "why is checkout slow?", "--alert", "{x}"),
    ("silences", "add", "{x}", "--for", "1h"),
    ("silences", "expire", "{x}"),
]


@pytest.mark.parametrize("text", SQL_INJECTIONS[:3] + SQL_INJECTIONS[4:5])
@pytest.mark.parametrize("command", CLI_CASES, ids=lambda c: " ".join(c[:2]))
def test_cli_refuses_injection_in_ids_and_names(
    estate: Seeded, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...], text: str
) -> None:
    if "\x00" in text and command[0] != "silences":
        text = text.replace("\x00", "")  # an OS argv cannot carry NUL; the API can
    before = state_of(estate.data_dir)
    args = [a.replace("{x}", text) for a in command]
    result = vigil_in_process(monkeypatch, estate.data_dir, *args)
    assert_cli_refused(result)
    assert state_of(estate.data_dir) == before


@pytest.mark.parametrize("matcher", MATCHER_INJECTIONS)
def test_silence_matcher_value_is_stored_verbatim(
    estate: Seeded, monkeypatch: pytest.MonkeyPatch, matcher: str
) -> None:
    """``service="'; DROP TABLE alerts; --"`` is a legal matcher: its value is kept as
    text, the silences table gains one row and no other table moves."""
    before = state_of(estate.data_dir)
    result = vigil_in_process(monkeypatch, estate.data_dir, "silences", "add", matcher,
                              "--for", "1h", "-c", "hostile", "--author", "mallory")  # fmt: skip
    assert result.code == 0, result.stderr
    sid = result.stdout.split()[1]
    after = state_of(estate.data_dir)
    changed = {t for t in after.tables if after.tables[t] != before.tables.get(t)}
    assert changed <= {"silences", "audit_log"}
    assert after.tables["silences"][0] == before.tables["silences"][0] + 1
    assert after.tables["alerts"] == before.tables["alerts"]
    listed = vigil_in_process(monkeypatch, estate.data_dir, "silences", "list", "--json")
    [record] = [json.loads(line) for line in listed.stdout.splitlines()
                if json.loads(line)["silence_id"] == sid]  # fmt: skip
    assert record["matchers"] == [matcher]
    vigil_in_process(monkeypatch, estate.data_dir, "silences", "expire", sid)


def test_cli_refusals_through_a_real_child_process(estate: Seeded) -> None:
    """A representative pair through ``python -m vigil``: exit 2, one line, no trace."""
    before = state_of(estate.data_dir)
    for args in (("alerts", "ack", SQL_INJECTIONS[0]), ("rca", "--alert", SQL_INJECTIONS[1])):
        assert_cli_refused(run_vigil(estate.data_dir, *args), "alert")
    assert state_of(estate.data_dir) == before


# --- the engine's JSON endpoints ---------------------------------------------------------


@pytest.mark.parametrize("text", SQL_INJECTIONS)
def test_engine_endpoints_refuse_injection(served: Served, text: str) -> None:
    before = served.state()
    cases = [
        ("POST", "/api/v1/silences", {"matchers": [text], "duration": "1h", "created_by": "m"}),
        ("POST", "/api/v1/alerts/acknowledge", {"alert_id": text, "by": "m", "comment": ""}),
        ("POST", "/api/v1/alerts/resolve", {"alert_id": text, "by": "m", "comment": ""}),
        ("POST", "/api/v1/silences/expire", {"silence_id": text}),
        ("GET", f"/api/v1/rca?alert={quote(text)}", None),
        ("GET", f"/api/v1/rules/history?rule={quote(text)}", None),
    ]
    for method, path, payload in cases:
        body = json.dumps(payload).encode() if payload is not None else None
        assert_http_refused(*served.request(method, path, body))
    status, answer = served.request("GET", f"/api/v1/notifications?alert={quote(text)}")
    assert status == 200 and answer == {"notifications": []}  # a filter matching nothing
    assert served.state() == before
    served.assert_healthy()


# --- names in an imported file -----------------------------------------------------------


@pytest.mark.parametrize("text", SQL_INJECTIONS)
@pytest.mark.parametrize("where", ["metric", "label name", "label value"])
def test_import_refuses_injection_in_names_or_keeps_values_as_text(
    imported: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, where: str
) -> None:
    frame = pd.DataFrame({"timestamp": [1_700_000_000], "metric": ["up"], "value": [1.0],
                          "service": ["checkout"]})  # fmt: skip
    if where == "metric":
        frame["metric"] = [text]
    elif where == "label name":
        frame[text] = ["x"]
    else:
        frame["service"] = [text]
    path = tmp_path / "hostile.csv"
    frame.to_csv(path, index=False)
    before = state_of(imported)
    result = vigil_in_process(monkeypatch, imported, "import", str(path))
    if where == "label value":  # any text is a valid label value: stored as text
        assert result.code == 0, result.stderr
        after = state_of(imported)
        changed = {t for t in after.tables if after.tables[t] != before.tables.get(t)}
        assert changed <= {"series", "samples"}
        assert after.tables["series"][0] == before.tables["series"][0] + 1
        return
    assert_cli_refused(result, "hostile.csv")
    assert state_of(imported) == before
