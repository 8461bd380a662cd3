"""``vigil backup`` and ``vigil restore``: one archive holds a data dir, and puts it back.

``backup`` writes the archive itself when no engine runs on the data dir, and otherwise
asks the engine that holds it (``POST /api/v1/backup``), which alone may read its
database; the archive then lands where the engine's machine sees ``--out``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.cli_common import DataDir, console, here_or_engine


def backup(
    out: Annotated[Path, typer.Option("--out", "-o", help="Archive to write (.tar.gz).")],
    data_dir: DataDir = None,
) -> None:
    """Write a consistent backup of the data dir, safe while the engine runs."""
    from vigil.backup import check_out_path, take_backup

    target = check_out_path(out)
    answer = here_or_engine(
        data_dir,
        lambda store, settings: take_backup(store, settings, target).to_dict(),
        "/api/v1/backup", "write a backup", payload={"out": str(target)}, timeout=1800,
    )  # fmt: skip
    tables = answer.get("tables", {})
    rows = sum(int(v) for v in tables.values())
    size = int(answer.get("bytes", 0)) / 2**20
    print(f"backup written to {answer.get('path')}: {size:.1f} MiB, {answer.get('files')} "
          f"files, {len(tables)} tables, {rows} rows")  # fmt: skip


def restore(
    archive: Annotated[Path, typer.Argument(help="A backup written by `vigil backup`.")],
    data_dir: Annotated[
        Path, typer.Option("--data-dir", "-d", help="Data directory to restore into.")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Move an existing database aside and restore.")
    ] = False,
) -> None:
    """Check a backup's manifest and checksums, then restore it into an empty data dir."""
    from vigil.restore import restore_backup

    result = restore_backup(archive, data_dir, force=force)
    if result.moved_aside is not None:
        console.print(f"the previous contents were moved to {result.moved_aside}")
    m = result.manifest
    print(f"restored {archive} (taken {m.created_at} from {m.data_dir}, schema "
          f"{m.schema_version}, now {result.schema_version}) into {result.data_dir}")  # fmt: skip
