"""What every hostile-input test checks, in one place.

A hostile input must be refused with one clear line, must change nothing, and must leave
the engine answering. "Nothing changed" is made checkable here: every DuckDB table's row
count and content checksum (all of ``information_schema.tables``, so a table added later
is covered without touching these tests), every file in the data dir, and the knowledge
base's documents.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from tests.conftest import engine_auth, serving_engine
from tests.sources.promserver import free_port
from tests.ui.conftest import Seeded, engine_reset, make_seeded  # noqa: F401 - a fixture
from vigil.store import Store

# Files whose bytes change when a store is merely opened (checkpoint, lock holder) or
# that belong to the knowledge base, which is compared by its documents instead.
_VOLATILE = ("vigil.duckdb", "vigil.duckdb.wal", "vigil.lock", "api-token")


def table_state(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Row count and an order-independent content checksum of every table."""
    names = [row[0] for row in conn.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name"
    ).fetchall()]  # fmt: skip
    state = {}
    for name in names:  # names come from the catalog, not from any input
        count, checksum = conn.execute(
            f'SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM "{name}" AS t'
        ).fetchone()
        state[name] = (int(count), int(checksum))
    return state


def db_state(where: Store | Path) -> dict[str, tuple[int, int]]:
    """:func:`table_state` of an open store, or of a closed data dir read-only."""
    if isinstance(where, Store):
        return table_state(where.cursor)
    with duckdb.connect(str(Path(where) / "vigil.duckdb"), read_only=True) as conn:
        return table_state(conn)


def file_state(data_dir: Path) -> dict[str, str]:
    """Every file in the data dir but the database and the knowledge base, by checksum."""
    return {p.relative_to(data_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(data_dir.rglob("*"))
            if p.is_file() and p.name not in _VOLATILE
            and "chroma" not in p.relative_to(data_dir).parts}  # fmt: skip


@dataclass(frozen=True)
class State:
    """Everything a refused input must leave as it was."""

    tables: dict[str, tuple[int, int]]
    files: dict[str, str]


def state_of(data_dir: Path, store: Store | None = None) -> State:
    return State(db_state(store if store is not None else data_dir), file_state(data_dir))


def assert_one_line(message: str) -> None:
    assert message.strip(), "the refusal says nothing"
    assert "\n" not in message.strip(), f"not one line: {message!r}"
    assert "Traceback" not in message


# --- the CLI ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def vigil_in_process(monkeypatch: pytest.MonkeyPatch, data_dir: Path, *args: str) -> CliResult:
    """``vigil ARGS --data-dir D`` through the real entry point (``vigil.cli.main``), in
    this process: the exit code and streams a terminal sees, without a 2 s child start."""
    from vigil.cli import main

    monkeypatch.setenv("VIGIL_CONFIG", str(data_dir.parent / "none.toml"))
    monkeypatch.setenv("VIGIL_HTTP_PORT", "0")
    monkeypatch.setattr(sys, "argv", ["vigil", *args, "--data-dir", str(data_dir)])
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return CliResult(code, out.getvalue(), err.getvalue())


def assert_cli_refused(result: CliResult | Any, *words: str) -> None:
    """Exit code 2 and exactly one ``vigil: ...`` line on stderr, naming ``words``."""
    code = result.code if isinstance(result, CliResult) else result.returncode
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert code == 2, f"exit {code}: {result.stderr!r}"
    assert len(lines) == 1 and lines[0].startswith("vigil: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]


# --- the engine's HTTP port ------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """A seeded data dir held by a running engine, and where its HTTP port answers."""

    seeded: Seeded
    engine: Any
    url: str

    @property
    def data_dir(self) -> Path:
        return self.seeded.data_dir

    def state(self) -> State:
        return state_of(self.data_dir, self.engine.store)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict]:  # fmt: skip
        """Status and JSON answer; sends the API token when the data dir has one."""
        sent = {"Content-Type": "application/json", **engine_auth(self.data_dir),
                **(headers or {})}  # fmt: skip
        request = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers=sent)  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def declare_body(self, method: str, path: str, length: int) -> tuple[int, dict]:
        """Announce a body of ``length`` bytes and send none: an endpoint must refuse an
        oversized body from its declared length, before reading any of it."""
        import http.client

        host, port = self.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.putrequest(method, path)
            for name, value in {"Content-Type": "application/json",
                                "Content-Length": str(length),
                                **engine_auth(self.data_dir)}.items():  # fmt: skip
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def post_json(self, path: str, payload: object) -> tuple[int, dict]:
        return self.request("POST", path, json.dumps(payload).encode())

    def assert_healthy(self) -> None:
        status, answer = self.request("GET", "/healthz")
        assert status == 200 and answer["status"] == "ok", answer


def assert_http_refused(status: int, answer: dict) -> None:
    assert 400 <= status < 500, (status, answer)
    assert isinstance(answer.get("error"), str)
    assert_one_line(answer["error"])


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """The small known estate in a closed data dir, shared by a module's CLI cases."""
    return make_seeded(tmp_path_factory.mktemp("estate") / "data", pd.Timedelta(seconds=30))


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed data dir whose one series came in through a real import, with the default
    rules an engine seeds on its first start."""
    from vigil.ingest import ingest
    from vigil.rules_store import seed_default_rules
    from vigil.sources.files import read_long_file

    root = tmp_path_factory.mktemp("imported")
    csv = root / "good.csv"
    csv.write_text("timestamp,metric,value,service\n1700000000,up,1,checkout\n")
    store = Store.open(root / "data")
    try:
        seed_default_rules(store)
        ingest(store, "file", read_long_file(csv))
    finally:
        store.close()
    return root / "data"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One engine per module, holding its own copy of the known estate."""
    seeded = make_seeded(tmp_path_factory.mktemp("served") / "data", pd.Timedelta(seconds=30))
    port = free_port()
    with serving_engine(seeded.data_dir, port) as engine:
        engine.start_background()  # no scheduler: straight to running, as /healthz says
        yield Served(seeded, engine, f"http://127.0.0.1:{port}")
