"""The scheduled backup: an archive every ``backup_interval_hours``, the newest
``backup_keep`` kept.

Archives are named ``backup-YYYYmmddTHHMMSSZ.tar.gz`` in ``backup_dir`` (default
``<data dir>/backups``, which backups never include), so names sort by time and pruning
needs no metadata. Only complete archives carry that name (they are renamed into place),
so pruning never counts a half-written one; a hidden partial file left by a process that
died mid-write is removed on the next run.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd

from vigil.archive import SUFFIX
from vigil.backup import STAGING_PREFIX

T = TypeVar("T")
BACKUP_NAME = re.compile(r"^backup-\d{8}T\d{6}Z(-\d+)?" + re.escape(SUFFIX) + "$")


def backup_file_name(backup_dir: Path, now: pd.Timestamp) -> Path:
    """A new archive's path; a second backup in the same second gets ``-1``, ``-2``..."""
    base = f"backup-{pd.Timestamp(now):%Y%m%dT%H%M%SZ}"
    path, n = backup_dir / f"{base}{SUFFIX}", 0
    while path.exists():
        n += 1
        path = backup_dir / f"{base}-{n}{SUFFIX}"
    return path


def backups(backup_dir: Path) -> list[Path]:
    """Complete archives in ``backup_dir``, oldest first."""
    if not backup_dir.is_dir():
        return []
    found = [p for p in backup_dir.iterdir() if p.is_file() and BACKUP_NAME.match(p.name)]
    return sorted(found, key=_sort_key)


def _sort_key(path: Path) -> tuple[str, int]:
    stem = path.name.removesuffix(SUFFIX)
    base, _, n = stem.partition("-")[2].partition("-")
    return base, int(n or 0)


def prune_backups(backup_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` archives and stale partial files; what went."""
    removed = backups(backup_dir)[: -max(1, keep)]
    for path in removed:
        path.unlink(missing_ok=True)
    mine = (f"-{os.getpid()}", f"{STAGING_PREFIX}{os.getpid()}-")
    for stale in [*backup_dir.glob(f".backup-*{SUFFIX}.partial-*"),
                  *backup_dir.glob(f"{STAGING_PREFIX}*")]:  # fmt: skip
        if not (stale.name.endswith(mine[0]) or stale.name.startswith(mine[1])):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
            removed.append(stale)
    return removed


def scheduled_backup(
    take: Callable[[Path], T], backup_dir: Path, keep: int, now: pd.Timestamp
) -> T:
    """Write one archive with ``take(path)`` and prune to ``keep``; returns what ``take``
    did. A failed backup raises (the scheduler records the failure) and prunes nothing,
    so the archives already there stay until a new one succeeds."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    done = take(backup_file_name(backup_dir, now))
    prune_backups(backup_dir, keep)
    return done
