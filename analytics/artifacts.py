"""Versioned pickled artifacts: a magic tag, a format version, then the payload.

Models and online states are written by one Vigil and read by a later one; the tag and
version turn "someone else's file" and "a format this Vigil does not read" into clear
errors instead of whatever unpickling would do.

Large parts that many artifacts share (the refit job's pooled isolation forest, the same
for every series) can be written once: :class:`SharedParts` collects them while packing
and the artifact keeps only a content key, which the reader resolves.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Callable
from typing import Any


class SharedParts:
    """Objects of ``types`` met while packing, each stored once under a content key."""

    def __init__(self, types: tuple[type, ...]) -> None:
        self.types = types
        self.blobs: dict[str, bytes] = {}
        self._keys: dict[int, tuple[str, Any]] = {}  # id → (key, the object, kept alive)

    def key(self, obj: Any) -> str:
        known = self._keys.get(id(obj))
        if known is not None:
            return known[0]
        blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        key = hashlib.sha256(blob).hexdigest()[:32]
        self.blobs[key] = blob
        self._keys[id(obj)] = (key, obj)
        return key


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, shared: SharedParts) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._shared = shared

    def persistent_id(self, obj: Any) -> str | None:
        return self._shared.key(obj) if isinstance(obj, self._shared.types) else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, resolve: Callable[[str], Any] | None, what: str) -> None:
        super().__init__(file)
        self._resolve = resolve
        self._what = what

    def persistent_load(self, pid: Any) -> Any:
        if self._resolve is None:
            raise ValueError(f"{self._what} refers to shared part {pid}; none was given")
        return self._resolve(str(pid))


def pack(magic: bytes, version: int, payload: Any, shared: SharedParts | None = None) -> bytes:
    header = magic + version.to_bytes(2, "big")
    if shared is None:
        return header + pickle.dumps(payload)
    buffer = io.BytesIO()
    _Pickler(buffer, shared).dump(payload)
    return header + buffer.getvalue()


def unpack(
    data: bytes,
    magic: bytes,
    versions: int | tuple[int, ...],
    what: str,
    resolve: Callable[[str], Any] | None = None,
) -> Any:
    """The payload of ``data``; ValueError naming ``what`` if the tag or version differ.
    ``resolve`` turns a shared part's key into the object (see :class:`SharedParts`)."""
    readable = (versions,) if isinstance(versions, int) else versions
    if not data.startswith(magic):
        raise ValueError(f"not a Vigil {what}")
    found = int.from_bytes(data[len(magic) : len(magic) + 2], "big")
    if found not in readable:
        raise ValueError(f"{what} format {found}, this Vigil reads {max(readable)}")
    return _Unpickler(io.BytesIO(data[len(magic) + 2 :]), resolve, what).load()


def shared_file_name(key: str) -> str:
    """The file a shared part is stored in, next to the artifacts that use it."""
    if len(key) != 32 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"not a shared part key: {key!r}")
    return f"{key}.part"
