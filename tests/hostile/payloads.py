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
