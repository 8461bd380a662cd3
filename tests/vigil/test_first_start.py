"""The first `vigil run` on an empty data dir makes an admin with a private password and
says where it is; the CLI manages users and wall tokens after that."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import run_vigil
from tests.ui.browser import free_port
from vigil import auth
from vigil.settings import load_settings
from vigil.store import Store


def test_first_run_prints_where_the_admin_password_is(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = os.environ | {"VIGIL_CONFIG": str(tmp_path / "none.toml"), "VIGIL_HTTP_PORT": "0",
                        "VIGIL_DEMO_ENABLED": "false", "VIGIL_HOST_ENABLED": "false"}  # fmt: skip
    args = [sys.executable, "-m", "vigil", "run", "--port", str(free_port()),
            "--data-dir", str(data_dir)]  # fmt: skip
    with subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:  # fmt: skip
        try:
            deadline, lines = time.monotonic() + 90, []
            while time.monotonic() < deadline and not any("First start" in x for x in lines):
                lines.append(proc.stdout.readline())
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    said = next(x for x in lines if "First start" in x)
    path = data_dir / "initial-admin-password"
    assert str(path) in said and "sign in as admin" in said
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = path.read_text().strip()
    assert password not in "".join(lines)  # the console names the file, never the password
    store = Store.open(data_dir)
    try:
        policy = load_settings(data_dir=data_dir).login_policy()
        assert auth.session_principal(store, auth.login(store, "admin", password, policy),
                                      policy).role == "admin"  # fmt: skip
    finally:
        store.close()


def test_users_and_wall_tokens_from_the_command_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    Store.open(data_dir).close()
    env_password = "operator passphrase 1\n"
    added = subprocess.run(
        [sys.executable, "-m", "vigil", "user", "add", "ops", "--role", "operator",
         "--password-stdin", "--data-dir", str(data_dir)],
        input=env_password, capture_output=True, text=True, timeout=60,
        env=os.environ | {"VIGIL_CONFIG": str(tmp_path / "none.toml")},
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    bad = run_vigil(data_dir, "user", "set", "ops", "--role", "root")
    assert bad.returncode == 2 and "unknown role 'root'" in bad.stderr
    issued = run_vigil(data_dir, "wall-token", "issue", "NOC room 2")
    assert issued.returncode == 0 and "/wall?kiosk=1&token=vw_" in issued.stdout
    token = issued.stdout.split("token=")[1].strip()
    token_id = issued.stdout.split()[2]
    assert run_vigil(data_dir, "wall-token", "revoke", token_id).returncode == 0
    store = Store.open(data_dir)
    try:
        assert [(u["username"], u["role"]) for u in auth.list_users(store)] == [("ops", "operator")]
        assert auth.wall_principal(store, token) is None
    finally:
        store.close()
