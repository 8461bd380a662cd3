"""The data-dir lock: one engine per data dir, and a readable error for everyone else.

DuckDB allows a single read-write process per file. We take an advisory lock on a file
beside the database first and record who holds it, so a second process can name the
holder instead of surfacing DuckDB's low-level IO error.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from vigil.errors import DataDirLockedError


@dataclass(frozen=True)
class LockHolder:
    pid: int
    command: str
    host: str
    since: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} ({self.command}), since {self.since}"


def read_holder(lock_path: Path) -> LockHolder | None:
    try:
        data = json.loads(lock_path.read_text())
        return LockHolder(int(data["pid"]), str(data["command"]), str(data["host"]), data["since"])
    except (OSError, ValueError, KeyError):
        return None


class DataDirLock:
    """An exclusive, process-lifetime lock on a data dir; released on close or exit."""

    def __init__(self, lock_path: Path) -> None:
        self.path = lock_path
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held for the process lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            holder = read_holder(self.path)
            who = holder.describe() if holder else "another process"
            raise DataDirLockedError(
                f"data dir {self.path.parent} is in use by {who}; stop that process, "
                "or use another --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        holder = {
            "pid": os.getpid(),
            "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv)),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }
        handle.write(json.dumps(holder))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
