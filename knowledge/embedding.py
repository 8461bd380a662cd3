"""Embeddings for the knowledge base: an offline default and an OpenAI-compatible endpoint.

Vigil must work on an air-gapped machine, so the default needs no model file: feature
hashing of character n-grams (which read Chinese and English alike, and tolerate typos
and inflections) plus the retrieval tokens of :func:`knowledge.text.tokenize`, folded
into a few hundred dimensions and L2-normalised. It is a lexical-semantic hybrid rather
than a language model, and that is enough for runbooks, whose wording responders echo;
configuring ``embedding_base_url`` swaps in a real model with no other change.

Both are chromadb ``EmbeddingFunction``s, and a collection is always given one, so
chromadb never reaches for its default embedding (which downloads an ONNX model).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from chromadb import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from sklearn.feature_extraction.text import HashingVectorizer

from knowledge.text import tokenize
from vigil.errors import VigilError
from vigil.settings import Settings

OFFLINE_DIMENSIONS = 512
# Whole tokens carry the meaning; character n-grams are the softer fallback that catches
# inflections, typos and Chinese words split differently, so they count half.
CHAR_WEIGHT = 0.5
_BATCH = 64  # inputs per embedding request


@register_embedding_function
class OfflineEmbedding(EmbeddingFunction[Documents]):
    """Hashed character 2-4-grams and retrieval tokens, deterministic across processes."""

    def __init__(self, dimensions: int = OFFLINE_DIMENSIONS) -> None:
        self.dimensions = dimensions
        self._chars = HashingVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), n_features=dimensions,
            alternate_sign=False, norm="l2", lowercase=True,
        )  # fmt: skip
        self._tokens = HashingVectorizer(
            analyzer=tokenize, n_features=dimensions, alternate_sign=False, norm="l2",
            lowercase=False,
        )  # fmt: skip

    def __call__(self, input: Documents) -> Embeddings:
        texts = list(input)
        if not texts:
            return []
        matrix = CHAR_WEIGHT * self._chars.transform(texts) + self._tokens.transform(texts)
        dense = np.sqrt(matrix.toarray().astype(np.float32))  # damp frequent n-grams
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        return list(dense / np.where(norms == 0, 1.0, norms))

    @staticmethod
    def name() -> str:
        return "vigil-offline-hashing"

    def get_config(self) -> dict[str, Any]:
        return {"dimensions": self.dimensions}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OfflineEmbedding:
        return OfflineEmbedding(int(config.get("dimensions", OFFLINE_DIMENSIONS)))

    def default_space(self) -> str:
        return "cosine"


@register_embedding_function
class EndpointEmbedding(EmbeddingFunction[Documents]):
    """An OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, Azure, Qwen, Ollama, vLLM)."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 timeout: float = 30.0) -> None:  # fmt: skip
        from openai import OpenAI  # only loaded when an endpoint is configured

        self.base_url, self.model, self.timeout = base_url, model, timeout
        self._client = OpenAI(base_url=base_url, api_key=api_key or "not-needed",
                              timeout=timeout, max_retries=1)  # fmt: skip

    def __call__(self, input: Documents) -> Embeddings:
        import openai

        texts, vectors = list(input), []
        for start in range(0, len(texts), _BATCH):
            try:
                answer = self._client.embeddings.create(
                    model=self.model, input=texts[start : start + _BATCH]
                )
            except openai.APIError as exc:
                raise VigilError(f"embedding endpoint {self.base_url} failed: {exc}") from None
            ordered = sorted(answer.data, key=lambda d: d.index)
            vectors += [np.asarray(d.embedding, dtype=np.float32) for d in ordered]
        return vectors

    @staticmethod
    def name() -> str:
        return "vigil-openai-compatible"

    def get_config(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model}  # never the key

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> EndpointEmbedding:
        return EndpointEmbedding(str(config["base_url"]), str(config["model"]))

    def default_space(self) -> str:
        return "cosine"


def build_embedding(settings: Settings) -> EmbeddingFunction[Documents]:
    """The endpoint when ``embedding_base_url`` is set, else the offline embedding."""
    if not settings.embedding_base_url:
        return OfflineEmbedding()
    key = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None
    return EndpointEmbedding(settings.embedding_base_url, settings.embedding_model, key,
                             settings.llm_timeout_seconds)  # fmt: skip


def collection_name(embedding: EmbeddingFunction[Documents]) -> str:
    """One collection per embedding, as vectors of two models cannot be compared: switching
    the endpoint on or off indexes afresh instead of mixing spaces."""
    config = embedding.get_config()
    digest = hashlib.sha256(repr(sorted(config.items())).encode()).hexdigest()[:10]
    return f"knowledge-{embedding.name()}-{digest}"
