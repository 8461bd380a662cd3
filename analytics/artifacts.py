"""Versioned pickled artifacts: a magic tag, a format version, then the payload.

Models and online states are written by one Vigil and read by a later one; the tag and
version turn "someone else's file" and "a format this Vigil does not read" into clear
errors instead of whatever unpickling would do.
"""

from __future__ import annotations

import pickle
from typing import Any


def pack(magic: bytes, version: int, payload: Any) -> bytes:
    return magic + version.to_bytes(2, "big") + pickle.dumps(payload)


def unpack(data: bytes, magic: bytes, version: int, what: str) -> Any:
    """The payload of ``data``; ValueError naming ``what`` if the tag or version differ."""
    if not data.startswith(magic):
        raise ValueError(f"not a Vigil {what}")
    found = int.from_bytes(data[len(magic) : len(magic) + 2], "big")
    if found != version:
        raise ValueError(f"{what} format {found}, this Vigil reads {version}")
    return pickle.loads(data[len(magic) + 2 :])
