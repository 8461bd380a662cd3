"""What an uploaded document must be before anything of it is stored.

An upload comes from a browser, so its name and bytes are untrusted: the name becomes a
source id and part of a link, never a path, and the content must be what its extension
says (a ``.pdf`` that is really an executable, or ``.md`` bytes that are not UTF-8 text,
are refused before they reach a parser).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

from knowledge.chunking import KINDS_BY_SUFFIX, decode_text
from vigil.errors import VigilError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_NAME = re.compile(r"^[\w\-. ()\[\]+@]+$", re.UNICODE)


def upload_name(name: str) -> str:
    """The upload's file name, NFC-normalised and stripped; refuses anything that could
    name another place (separators, ``..``, a leading dot) or an unknown file type."""
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean or "/" in clean or "\\" in clean or clean.startswith(".") or ".." in clean:
        raise VigilError(f"upload name {name!r} is not a plain file name; rename the file")
    if len(clean) > 200 or not _NAME.match(clean):
        raise VigilError(
            f"upload name {name!r} has characters Vigil does not accept; use letters, "
            "digits, spaces and - _ . ( )"
        )
    suffix = PurePosixPath(clean).suffix.lower()
    if suffix not in KINDS_BY_SUFFIX:
        raise VigilError(
            f"{clean}: unsupported file type {suffix or '(none)'}; upload "
            f"{', '.join(KINDS_BY_SUFFIX)}"
        )
    return clean


def check_upload(name: str, data: bytes) -> str:
    """The safe name of an acceptable upload; raises :class:`VigilError` otherwise."""
    clean = upload_name(name)
    if len(data) > MAX_UPLOAD_BYTES:
        raise VigilError(
            f"{clean} is {len(data) / 2**20:.1f} MiB; uploads may be at most "
            f"{MAX_UPLOAD_BYTES // 2**20} MiB"
        )
    if not data.strip():
        raise VigilError(f"{clean} is empty")
    if KINDS_BY_SUFFIX[PurePosixPath(clean).suffix.lower()] == "pdf":
        if not data.startswith(b"%PDF-"):
            raise VigilError(f"{clean} does not start like a PDF file; is it really one?")
    else:
        decode_text(data, clean)
    return clean
