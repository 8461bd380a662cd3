"""A backup taken through a live engine running the demo estate: it restores into a fresh
data dir with every table's rows, a knowledge base that answers, model artifacts where the
models say, a wall that renders, and no secret anywhere in it. Scheduled backups keep the
newest few."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import engine_auth, run_vigil
from tests.sources.promserver import free_port
from tests.ui.conftest import APP, app_env, make_seeded, signed_in
from vigil.backup import take_backup
from vigil.restore import restore_backup
from vigil.rules_store import import_rules, seed_default_rules
from vigil.settings import load_settings
from vigil.store import Store

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
LLM_KEY = "sk-live-4f1c9e7d2b8a6f3e0c5d"
SMTP_PASSWORD = "smtp-pw-8e2d7c1b9a0f"
HOOK_TOKEN = "hook-token-3a9b7c5d1e2f"
SECRETS = (LLM_KEY, SMTP_PASSWORD, HOOK_TOKEN)


@dataclass(frozen=True)
class LiveBackup:
    data_dir: Path
    archive: Path
    env: dict[str, str]
    engine: subprocess.Popen[str]
    cli_output: str


def _config(path: Path) -> Path:
    """Two receivers whose secrets come from the environment and from the file."""
    path.write_text(
        "[[receivers]]\nname = \"mail\"\ntype = \"email\"\nsmtp_host = \"127.0.0.1\"\n"
        "smtp_port = 9\nsmtp_security = \"none\"\nemail_from = \"vigil@example.org\"\n"
        "email_to = [\"oncall@example.org\"]\nsmtp_username = \"vigil\"\n"
        "smtp_password_env = \"TEST_SMTP_PASSWORD\"\n\n"
        "[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\n"
        f"url = \"http://127.0.0.1:9/hook\"\nbearer_token = \"{HOOK_TOKEN}\"\n"
    )  # fmt: skip
    return path


def _phase(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return json.loads(answer.read()).get("phase", "")
    except OSError as exc:  # 503 while starting carries the phase too
        body = getattr(exc, "read", lambda: b"{}")()
        return json.loads(body or b"{}").get("phase", "") if body else ""


def _reindexed(port: int) -> bool:
    """The reindex job (run as the scheduler starts) has filled the knowledge base."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return 'vigil_job_runs_total{job="reindex",status="ok"} 1.0' in text


def _wait_running(port: int, engine: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _phase(port) != "running" or not _reindexed(port):
        if engine.poll() is not None:
            raise AssertionError(f"engine exited with {engine.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"engine not running after {timeout} s")
        time.sleep(0.5)


ALWAYS_FIRING = """groups:
  - name: backup-test
    rules:
      - alert: DiskInUse
        expr: node_filesystem_used_ratio > 0.05
        for: 1m
        labels:
          severity: warning
"""


def _always_firing(data_dir: Path) -> None:
    """The default rules and one that fires on every host from the first evaluation, so
    the archive holds alerts whatever the demo's day happens to have in it."""
    store = Store.open(data_dir)
    try:
        seed_default_rules(store)
        assert import_rules(store, ALWAYS_FIRING, "test").added == ["DiskInUse"]
    finally:
        store.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackup]:
    """``vigil jobs`` on a day of demo history with jobs every few seconds, and a backup
    of it taken by ``vigil backup`` through the engine's port while those jobs write."""
    root = tmp_path_factory.mktemp("live")
    data_dir = root / "data"
    shutil.copytree(REPO / "data" / "runbooks", data_dir / "runbooks")
    _always_firing(data_dir)
    port = free_port()
    env = os.environ | {
        "VIGIL_CONFIG": str(_config(root / "vigil.toml")), "VIGIL_DATA_DIR": str(data_dir),
        "VIGIL_DEMO_ENABLED": "true", "VIGIL_DEMO_BACKFILL_DAYS": "1",
        "VIGIL_HOST_ENABLED": "false", "VIGIL_HTTP_PORT": str(port),
        "VIGIL_HTTP_HOST": "127.0.0.1", "VIGIL_PULL_INTERVAL_SECONDS": "5",
        "VIGIL_EVALUATE_INTERVAL_SECONDS": "5", "VIGIL_BACKUP_INTERVAL_HOURS": "0",
        "VIGIL_LLM_API_KEY": LLM_KEY, "TEST_SMTP_PASSWORD": SMTP_PASSWORD,
    }  # fmt: skip
    log = open(root / "engine.log", "w")  # noqa: SIM115 - a pipe nobody reads could fill
    engine = subprocess.Popen([sys.executable, "-m", "vigil", "jobs"], env=env, text=True,
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        _wait_running(port, engine, timeout=300)
        archive = root / "out" / "live.tar.gz"
        archive.parent.mkdir()
        done = subprocess.run([sys.executable, "-m", "vigil", "backup", "--out", str(archive)],
                              env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr
        yield LiveBackup(data_dir, archive, env, engine, done.stdout)
    finally:
        engine.terminate()
        engine.wait(timeout=120)
        log.close()


def _manifest(archive: Path) -> dict:
    with tarfile.open(archive, "r:gz") as tar:
        return json.loads(tar.extractfile("manifest.json").read())


def test_the_engine_wrote_the_archive_while_it_held_the_data_dir(live: LiveBackup) -> None:
    assert live.engine.poll() is None
    assert f"backup written to {live.archive}" in live.cli_output
    manifest = _manifest(live.archive)
    assert manifest["format"] == "vigil-backup" and manifest["data_dir"] == "data"
    assert manifest["tables"]["samples"] > 100_000 and manifest["tables"]["alerts"] > 0
    assert {"vigil.duckdb", "settings.json"} <= set(manifest["files"])
    assert any(name.startswith("chroma/") for name in manifest["files"])
    assert not any(n.startswith(("backups/", "snapshots/")) for n in manifest["files"])
    assert not [p for p in live.archive.parent.iterdir() if p.name.startswith(".")]


def test_a_live_backup_restores_every_table_and_a_working_app(
    live: LiveBackup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    restored = tmp_path / "restored"
    done = run_vigil(restored, "restore", str(live.archive))
    assert done.returncode == 0, done.stderr
    manifest = _manifest(live.archive)
    store = Store.open(restored)
    try:
        tables = set(store.df("SELECT table_name FROM duckdb_tables()")["table_name"])
        assert tables == set(manifest["tables"])
        counts = {t: store.one(f'SELECT count(*) FROM "{t}"') for t in tables}
        assert counts == manifest["tables"]
        paths = store.df("SELECT artifact_path FROM models WHERE artifact_path IS NOT NULL")
        services = sorted(store.df("SELECT DISTINCT service FROM series")["service"].dropna())
    finally:
        store.close()
    assert len(paths) > 0 and all(Path(p).is_file() for p in paths["artifact_path"])
    assert all(Path(p).is_relative_to(restored) for p in paths["artifact_path"])
    _knowledge_answers(restored, manifest["knowledge"])
    _wall_renders(restored, services, monkeypatch)


def _knowledge_answers(data_dir: Path, counts: dict[str, int]) -> None:
    from knowledge.base import KnowledgeBase

    assert sum(counts.values()) > 0
    kb = KnowledgeBase.open(load_settings(data_dir=data_dir, demo_enabled=False))
    try:
        documents = kb.documents()
        assert sum(d.chunks for d in documents) == sum(counts.values())
        assert {d.kind for d in documents} >= {"runbook"}
        hits = kb.search("database connection pool exhausted")
        assert hits and {h.source for h in hits} <= {d.source for d in documents}
    finally:
        kb.close()


def _wall_renders(data_dir: Path, services: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from vigil.engine import reset_engine

    for name, value in app_env(data_dir).items():
        monkeypatch.setenv(name, value)
    reset_engine()
    try:
        app = signed_in(AppTest.from_file(str(APP), default_timeout=60)).run()
        assert not app.exception
        html = "\n".join(str(e.value) for e in app.get("html"))
        assert "No data yet" not in html
        assert all(f'<div class="vw-name">{s}</div>' in html for s in services)
    finally:
        reset_engine()


def test_no_secret_is_anywhere_in_the_archive(live: LiveBackup, tmp_path: Path) -> None:
    raw = live.archive.read_bytes()
    stream = gzip.decompress(raw)
    for secret in SECRETS:
        assert secret.encode() not in raw and secret.encode() not in stream
    restore_backup(live.archive, tmp_path / "unpacked")
    for path in (p for p in (tmp_path / "unpacked").rglob("*") if p.is_file()):
        body = path.read_bytes()
        assert not [s for s in SECRETS if s.encode() in body], path
    settings = json.loads((tmp_path / "unpacked" / "settings.json").read_text())
    assert settings["llm_api_key"] == "set" and settings["embedding_api_key"] == "unset"
    mail, hook = settings["receivers"]
    assert mail["smtp_password"] == "set" and mail["smtp_password_env"] == "TEST_SMTP_PASSWORD"
    assert mail["smtp_username"] == "vigil" and hook["bearer_token"] == "set"
    assert settings["llm_daily_token_budget"] == 200_000  # a token budget is no secret


def test_restore_refuses_the_data_dir_the_engine_holds(live: LiveBackup) -> None:
    before = sorted(p.name for p in live.data_dir.iterdir())
    done = subprocess.run(
        [sys.executable, "-m", "vigil", "restore", str(live.archive), "--data-dir",
         str(live.data_dir), "--force"], env=live.env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "is in use by" in done.stderr
    assert "Traceback" not in done.stderr
    after = sorted(p.name for p in live.data_dir.iterdir())
    assert [n for n in after if n.startswith("replaced-")] == []
    assert set(after) - set(before) <= {"snapshots", "backups"}
    assert not [p for p in live.data_dir.parent.iterdir() if ".restore-" in p.name]


def test_the_engine_refuses_a_backup_path_it_should_not_write(live: LiveBackup) -> None:
    nowhere = live.data_dir / "nowhere" / "x.tar.gz"
    done = subprocess.run([sys.executable, "-m", "vigil", "backup", "--out", str(nowhere)],
                          env=live.env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "does not exist" in done.stderr
    body = json.dumps({"out": str(live.data_dir / "vigil.toml")}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{live.env['VIGIL_HTTP_PORT']}/api/v1/backup", data=body,
        method="POST", headers={"Content-Type": "application/json",
                                **engine_auth(live.data_dir)},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=60)
    assert caught.value.code == 400
    assert "must end in .tar.gz" in json.loads(caught.value.read())["error"]
    assert not (live.data_dir / "vigil.toml").exists()


def test_scheduled_backups_keep_the_newest_k(tmp_path: Path) -> None:
    from jobs.backup import backups, scheduled_backup

    data_dir = make_seeded(tmp_path / "data", pd.Timedelta(minutes=1)).data_dir
    backup_dir = data_dir / "backups"
    backup_dir.mkdir()
    (backup_dir / ".backup-20200101T000000Z.tar.gz.partial-999999").write_bytes(b"half")
    (backup_dir / "notes.txt").write_text("not a backup")
    settings = load_settings(data_dir=data_dir)
    store = Store.open(data_dir)
    start = pd.Timestamp("2026-03-01T00:00:00Z")
    try:
        written = [
            scheduled_backup(lambda out: take_backup(store, settings, out).path, backup_dir, 3,
                             start + pd.Timedelta(hours=6 * i))
            for i in range(5)
        ]  # fmt: skip
        again = scheduled_backup(lambda out: take_backup(store, settings, out).path,
                                 backup_dir, 3, start + pd.Timedelta(hours=24))  # fmt: skip
    finally:
        store.close()
    assert written[0].name == "backup-20260301T000000Z.tar.gz"
    assert again.name == "backup-20260302T000000Z-1.tar.gz"
    kept = backups(backup_dir)
    assert kept == [written[3], written[4], again]
    assert sorted(p.name for p in backup_dir.iterdir()) == sorted([*(p.name for p in kept),
                                                                   "notes.txt"])  # fmt: skip
    assert not any(n.startswith("backups/") for n in _manifest(again)["files"])
    restore_backup(again, tmp_path / "restored")
    assert (tmp_path / "restored" / "vigil.duckdb").is_file()


def test_the_engine_schedules_backups_and_prunes_them(tmp_path: Path) -> None:
    from vigil.engine import Engine

    data_dir = make_seeded(tmp_path / "data", pd.Timedelta(minutes=1)).data_dir
    settings = load_settings(data_dir=data_dir, demo_enabled=False, host_enabled=False,
                             http_port=0, backup_interval_hours=1 / 3600, backup_keep=2,
                             backup_dir=tmp_path / "elsewhere")  # fmt: skip
    engine = Engine(settings)
    try:
        engine.start_background()
        deadline = time.monotonic() + 120
        while engine.store.one("SELECT count(*) FROM job_runs WHERE job = 'backup' "
                               "AND status = 'ok'") < 3:  # fmt: skip
            assert time.monotonic() < deadline, "the backup job did not run three times"
            time.sleep(0.5)
    finally:
        engine.stop()
    names = sorted(p.name for p in (tmp_path / "elsewhere").iterdir())
    assert len(names) == 2 and all(n.startswith("backup-") for n in names)


def test_backups_are_off_at_zero_hours(tmp_path: Path) -> None:
    from vigil.engine import Engine

    data_dir = make_seeded(tmp_path / "data", pd.Timedelta(minutes=1)).data_dir
    settings = load_settings(data_dir=data_dir, demo_enabled=False, host_enabled=False,
                             http_port=0, backup_interval_hours=0)  # fmt: skip
    engine = Engine(settings)
    try:
        engine.start_background()
        assert engine.wait_until_ready(60).phase == "running"
        assert engine._scheduler.get_job("backup") is None
        assert engine._scheduler.get_job("snapshot") is not None
    finally:
        engine.stop()
