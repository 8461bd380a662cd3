"""Knowledge base fixtures: a real Chroma directory per test and a runbooks directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.embedding import OfflineEmbedding
from vigil.settings import Settings, load_settings


class CountingEmbedding(OfflineEmbedding):
    """The offline embedding, counting how many texts it embedded: what dedup saves."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def __call__(self, input: list[str]) -> list:
        self.embedded += list(input)
        return super().__call__(input)


@pytest.fixture
def runbooks(tmp_path: Path) -> Path:
    directory = tmp_path / "runbooks"
    directory.mkdir()
    return directory


@pytest.fixture
def kb_settings(tmp_path: Path, runbooks: Path) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data", runbooks_dir=runbooks, demo_enabled=False, host_enabled=False
    )


@pytest.fixture
def embedding() -> CountingEmbedding:
    return CountingEmbedding()


@pytest.fixture
def kb(kb_settings: Settings, embedding: CountingEmbedding) -> Iterator[KnowledgeBase]:
    base = KnowledgeBase.open(kb_settings, embedding)
    yield base
    base.close()


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def tiny_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF, one text line per entry, Helvetica: enough for pypdf to read
    back (no PDF writer is a dependency)."""
    count = len(pages)
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids ["
        + " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
        + f"] /Count {count} >>",
    ]
    font = 3 + 2 * count
    for i, lines in enumerate(pages):
        body = "BT /F1 12 Tf 72 720 Td " + " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
        body += " ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents "
            f"{4 + 2 * i} 0 R /Resources << /Font << /F1 {font} 0 R >> >> >>"
        )
        objects.append(f"<< /Length {len(body)} >>\nstream\n{body}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return out
