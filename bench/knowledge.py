"""Time the knowledge base: ingest with the offline embedding, and hybrid search latency.

    python -m bench.knowledge [--ingest-chunks 1000] [--search-chunks 10000] [--queries 200]

Runbooks are generated from the shipped ones (``data/runbooks/``): every section is a
handful of their sentences, English and Chinese in the proportions shipped, plus a
service name of its own, so that no two chunks are alike and each section is one chunk.
They are written as Markdown files and indexed by ``reindex``, as the reindex job does.

- ingest: ``--ingest-chunks`` chunks from an empty Chroma directory (target: under 10 s);
  the same reindex again, which finds every file unchanged;
- search: ``--queries`` questions (the retrieval test set's, repeated) over
  ``--search-chunks`` chunks, after one warm-up search that builds the BM25 index;
  p50 and p95 latency (target p95: under 100 ms), that first search on its own, and the
  first search after one more document (BM25 rebuilt from the cached tokens).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from knowledge.base import KnowledgeBase
from vigil.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "data" / "runbooks"
QUESTIONS = ROOT / "tests" / "knowledge" / "retrieval_questions.yaml"
SECTIONS_PER_FILE = 10
_SENTENCE = re.compile(r"[^。！？.!?\n]+[。！？.!?]")


def _sentences() -> tuple[list[str], list[str]]:
    english, chinese = [], []
    for path in sorted(SHIPPED.rglob("*.md")):
        found = [s.strip() for s in _SENTENCE.findall(path.read_text()) if len(s.strip()) > 20]
        (chinese if path.parts[-2] == "zh" else english).extend(found)
    return english, chinese


def write_runbooks(directory: Path, chunks: int, rng: np.random.Generator) -> int:
    """``chunks`` sections in files of ten; returns the number of files."""
    english, chinese = _sentences()
    share_zh = len(chinese) / (len(chinese) + len(english))
    files = -(-chunks // SECTIONS_PER_FILE)
    for f in range(files):
        zh = rng.random() < share_zh
        pool = chinese if zh else english
        lines = [f"# {'服务' if zh else 'Service'} svc-{f:05d} runbook", ""]
        for s in range(min(SECTIONS_PER_FILE, chunks - f * SECTIONS_PER_FILE)):
            picked = rng.choice(len(pool), size=int(rng.integers(3, 6)), replace=False)
            lines += [f"## Alert{f:05d}x{s:02d}", "", *(pool[i] for i in picked), ""]
        (directory / f"svc-{f:05d}.md").write_text("\n".join(lines), encoding="utf-8")
    return files


def _open(data: Path, runbooks: Path) -> KnowledgeBase:
    return KnowledgeBase.open(load_settings(data_dir=data, runbooks_dir=runbooks))


def bench_ingest(chunks: int, rng: np.random.Generator) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runbooks = Path(tmp) / "runbooks"
        runbooks.mkdir()
        files = write_runbooks(runbooks, chunks, rng)
        kb = _open(Path(tmp) / "data", runbooks)
        started = time.perf_counter()
        report = kb.reindex()
        took = time.perf_counter() - started
        started = time.perf_counter()
        again = kb.reindex()
        unchanged = time.perf_counter() - started
        kb.close()
    print(f"ingest: {report.chunks_embedded} chunks in {files} files: {took:.2f} s "
          f"({report.chunks_embedded / took:,.0f} chunks/s; target < 10 s)")  # fmt: skip
    print(f"reindex with nothing changed ({len(again.unchanged)} files): {unchanged:.2f} s")


def bench_search(chunks: int, queries: int, rng: np.random.Generator) -> None:
    questions = [q["q"] for q in yaml.safe_load(QUESTIONS.read_text())["questions"]]
    asked = [questions[i % len(questions)] for i in range(queries)]
    with tempfile.TemporaryDirectory() as tmp:
        runbooks = Path(tmp) / "runbooks"
        runbooks.mkdir()
        write_runbooks(runbooks, chunks, rng)
        kb = _open(Path(tmp) / "data", runbooks)
        started = time.perf_counter()
        report = kb.reindex()
        print(f"index {report.chunks_embedded} chunks: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        kb.search("warm up: build the lexical index")
        first = time.perf_counter() - started
        times = []
        for question in asked:
            started = time.perf_counter()
            kb.search(question, k=5)
            times.append(time.perf_counter() - started)
        kb.ingest_bytes("one-more.md", b"# One more\n\n## Redis\n\nA new section on Redis.")
        started = time.perf_counter()
        kb.search("redis")
        after_change = time.perf_counter() - started
        kb.close()
    ms = np.array(times) * 1000
    print(f"search over {report.chunks_embedded} chunks, {len(ms)} queries: "
          f"p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, "
          f"max {ms.max():.1f} ms (target p95 < 100 ms)")  # fmt: skip
    print(f"first search after opening (BM25 built): {first * 1000:.0f} ms; after adding "
          f"one document: {after_change * 1000:.0f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest-chunks", type=int, default=1000)
    parser.add_argument("--search-chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    rng = np.random.default_rng(args.seed)
    bench_ingest(args.ingest_chunks, rng)
    bench_search(args.search_chunks, args.queries, rng)


if __name__ == "__main__":
    main()
