"""Documents to retrieval chunks: Markdown, plain text, HTML and PDF.

A chunk is what a responder reads in a search hit, so it follows the document's own
structure: Markdown and HTML split at headings first (the heading path is kept, and its
last heading's slug becomes the link anchor), and only sections too long to read at a
glance are split again, at paragraph and sentence ends of either language.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from bs4 import BeautifulSoup
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter
from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from knowledge.text import detect_language, slugify
from vigil.errors import VigilError

CHUNK_CHARS = 1000
OVERLAP_CHARS = 120
# paragraph, line, then sentence and clause ends in Chinese and English, then words
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", ". ", "! ", "? ", "; ", "，", ", ", " ", ""]
_HEADINGS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]
_HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# What a PDF's page content streams may inflate to in all: a 5 MiB upload of compressed
# blanks would otherwise decompress to gigabytes and take minutes to read.
MAX_PDF_CONTENT_BYTES = 32 * 2**20
MAX_PDF_PAGES = 2000
MAX_DOCUMENT_BYTES = 5 * 2**20  # a runbook, like an upload; larger ones are split by hand

KINDS_BY_SUFFIX = {
    ".md": "markdown", ".markdown": "markdown", ".txt": "text",
    ".html": "html", ".htm": "html", ".pdf": "pdf",
}  # fmt: skip


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage and where it came from."""

    text: str
    source: str
    section: str
    anchor: str
    language: str
    content_hash: str


def content_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _splitter() -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_CHARS, chunk_overlap=OVERLAP_CHARS, separators=SEPARATORS,
        keep_separator="end",
    )  # fmt: skip


def _chunk(text: str, source: str, section: str, anchor_of: str) -> Chunk:
    text = text.strip()
    return Chunk(text, source, section, slugify(anchor_of), detect_language(text),
                 content_hash(section, text))  # fmt: skip


def _title(source: str) -> str:
    return PurePosixPath(source).stem


def chunk_markdown(text: str, source: str) -> list[Chunk]:
    """Split at headings, then split long sections; ``section`` is the heading path,
    "MySQL runbook > MysqlDown". Headings leave the chunk text (the section says them, and
    retrieval reads section and text together), so no chunk is a lone heading."""
    sections = MarkdownHeaderTextSplitter(_HEADINGS, strip_headers=True).split_text(text)
    splitter = _splitter()
    chunks: list[Chunk] = []
    for doc in sections:
        headings = [doc.metadata[k] for _, k in _HEADINGS if k in doc.metadata]
        section = " > ".join(headings) or _title(source)
        anchor = headings[-1] if headings else _title(source)
        chunks += [_chunk(part, source, section, anchor)
                   for part in splitter.split_text(doc.page_content) if part.strip()]  # fmt: skip
    return chunks


def chunk_text(text: str, source: str, title: str | None = None) -> list[Chunk]:
    """Plain text has no headings: ``title`` (by default the file's name) is its section."""
    title = title or _title(source)
    return [_chunk(part, source, title, title) for part in _splitter().split_text(text)
            if part.strip()]  # fmt: skip


def html_to_markdown(html: str) -> str:
    """Headings become Markdown headings and everything else plain lines, so HTML runbooks
    are chunked exactly like Markdown ones."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    for tag in soup.find_all(_HTML_HEADINGS):
        level = int(tag.name[1])
        tag.replace_with(f"\n\n{'#' * level} {tag.get_text(' ', strip=True)}\n\n")
    for tag in soup.find_all(["p", "li", "pre", "tr", "div", "br", "blockquote"]):
        tag.insert_after("\n")
    lines = (line.strip() for line in soup.get_text().splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _pdf_pages(data: bytes, source: str) -> list[str]:
    """Each page's text, refusing a PDF whose pages inflate beyond the content limit
    before their text is extracted (pypdf also caps any one stream)."""
    reader = PdfReader(io.BytesIO(data))
    if len(reader.pages) > MAX_PDF_PAGES:
        raise VigilError(f"{source} has {len(reader.pages)} pages; at most {MAX_PDF_PAGES}")
    inflated = 0
    for page in reader.pages:
        contents = page.get_contents()
        inflated += len(contents.get_data()) if contents is not None else 0
        if inflated > MAX_PDF_CONTENT_BYTES:
            raise VigilError(f"{source} inflates to more than {MAX_PDF_CONTENT_BYTES // 2**20} "
                             "MiB of page content; Vigil does not index it")  # fmt: skip
    return [page.extract_text() or "" for page in reader.pages]


def chunk_pdf(data: bytes, source: str) -> list[Chunk]:
    """One section per page ("name > p. 3", anchor ``page-3``), as PDFs are cited by page."""
    try:
        pages = _pdf_pages(data, source)
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise VigilError(f"{source} is not a readable PDF: {exc}") from None
    title, splitter, chunks = _title(source), _splitter(), []
    for number, page in enumerate(pages, start=1):
        section = f"{title} > p. {number}"
        chunks += [_chunk(part, source, section, f"page-{number}")
                   for part in splitter.split_text(page) if part.strip()]  # fmt: skip
    return chunks


def chunk_document(source: str, data: bytes) -> list[Chunk]:
    """Chunks of one document by its file type; raises :class:`VigilError` for a type Vigil
    does not read, text that is not UTF-8, or a document without any text."""
    suffix = PurePosixPath(source).suffix.lower()
    kind = KINDS_BY_SUFFIX.get(suffix)
    if kind is None:
        known = ", ".join(KINDS_BY_SUFFIX)
        raise VigilError(f"{source}: unsupported file type {suffix or '(none)'}; use {known}")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise VigilError(f"{source} is {len(data) / 2**20:.1f} MiB; a document may be at most "
                         f"{MAX_DOCUMENT_BYTES // 2**20} MiB (split it)")  # fmt: skip
    if kind == "pdf":
        chunks = chunk_pdf(data, source)
    else:
        text = decode_text(data, source)
        if kind == "markdown":
            chunks = chunk_markdown(text, source)
        elif kind == "html":
            chunks = chunk_markdown(html_to_markdown(text), source)
        else:
            chunks = chunk_text(text, source)
    if not chunks:
        raise VigilError(f"{source} contains no text to index")
    return chunks


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 (a BOM allowed), refusing binary content behind a text extension."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VigilError(
            f"{source} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    if "\x00" in text:
        raise VigilError(f"{source} looks binary, not text")
    return text
