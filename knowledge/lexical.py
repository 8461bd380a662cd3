"""The lexical half of hybrid retrieval: BM25 over the chunks, held in memory.

Exact terms matter in operations (a metric name, an error string, ``SHOW PROCESSLIST``),
and vector search alone blurs them. The index is rebuilt from the stored chunks when the
knowledge base changed, which for a few thousand runbook chunks takes well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
import numpy as np

from knowledge.text import tokenize


class LexicalIndex:
    """BM25 (``bm25s``, Lucene's variant) over tokens of :func:`knowledge.text.tokenize`."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str],
                 token_cache: dict[str, list[str]] | None = None) -> None:  # fmt: skip
        """``token_cache`` maps chunk ids to their tokens from an earlier build: chunk ids
        are content hashes, so only chunks added since are tokenized again (tokenizing is
        most of a rebuild). It is updated in place and pruned to ``ids``."""
        self.ids = list(ids)
        cache = {} if token_cache is None else token_cache
        tokens = [cache.get(cid) or tokenize(text) for cid, text in zip(ids, texts, strict=True)]
        cache.clear()
        cache.update(zip(self.ids, tokens, strict=True))
        self._bm25: bm25s.BM25 | None = None
        if self.ids:
            self._bm25 = bm25s.BM25()
            self._bm25.index(tokens, show_progress=False)

    def top(self, query: str, n: int, allowed: np.ndarray | None = None) -> list[str]:
        """Ids of the ``n`` best-scoring chunks that contain a query term; ``allowed`` is a
        boolean mask over :attr:`ids` (metadata filters)."""
        if self._bm25 is None or n <= 0:
            return []
        vocab = self._bm25.vocab_dict
        tokens = [t for t in dict.fromkeys(tokenize(query)) if t in vocab]
        if not tokens:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        n = min(n, int(np.count_nonzero(scores > 0)))
        if n == 0:
            return []
        best = np.argpartition(-scores, n - 1)[:n]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [self.ids[i] for i in best]
