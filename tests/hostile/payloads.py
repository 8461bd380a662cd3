"""The hostile strings every entry point is fed: SQL injection, NUL and control bytes."""

from __future__ import annotations

SQL_INJECTIONS = [
    "'; DROP TABLE alerts; --",
    '" OR 1=1 --',
    "%' UNION SELECT username, password_hash FROM users --",
    "x' OR '1'='1",
    "a\x00b'; DELETE FROM alerts; --",
    "\\'; DROP TABLE rules; --",
]

# The same strings in label-matcher shape, so the value reaches the store.
MATCHER_INJECTIONS = [f'service="{s}"' for s in SQL_INJECTIONS if '"' not in s and "\\" not in s]

UNSAFE_UPLOAD_NAMES = [
    "../../etc/passwd.md",
    "/abs/path.md",
    "..\\..\\win.md",
    "runbook\x00.md",
    "run\x1bbook.md",
    "line\nbreak.md",
    "x" * 300 + ".md",
    ".hidden.md",
    "notes.exe",
]

INVALID_UTF8 = b"# Runbook\n\nrestart the \xff\xfe service \xc3\x28 now\n"


def inflating_pdf(pages: int, inflated_bytes: int) -> bytes:
    """A valid PDF whose every page's content stream is ``inflated_bytes`` of blanks,
    deflated: a few kilobytes on disk that decompress to ``pages * inflated_bytes``."""
    import zlib

    stream = zlib.compress(b"BT /F1 12 Tf 72 712 Td (restart) Tj ET\n" + b" " * inflated_bytes, 9)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]  # fmt: skip
    for i in range(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
            f"<< /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode()
                       + stream + b"\nendstream")  # fmt: skip
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
            "%%EOF\n").encode()  # fmt: skip
    return bytes(out)
