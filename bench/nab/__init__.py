"""NAB harness: run detectors online over a NAB-format corpus and score them as NAB does.

``python -m bench.nab --help``; the scorer is in :mod:`bench.nab.scoring`.
"""

from bench.nab.scoring import CorpusScore, Cost, score_corpus, sweep_rows

__all__ = ["CorpusScore", "Cost", "score_corpus", "sweep_rows"]
