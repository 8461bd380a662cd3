"""Reciprocal rank fusion: one ranking from several, without calibrating their scores.

BM25 scores and cosine distances live on unrelated scales; RRF (Cormack et al., 2009)
only uses each list's ranks, score(d) = sum 1 / (k + rank), with k = 60 as in the paper.
"""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], k: int = RRF_K
) -> list[tuple[str, float]]:
    """Ids with their fused scores, best first; ties keep first-seen order."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
