"""The offline embedding, and the OpenAI-compatible endpoint against a local server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.base import KnowledgeBase
from knowledge.embedding import (
    OFFLINE_DIMENSIONS,
    EndpointEmbedding,
    OfflineEmbedding,
    build_embedding,
    collection_name,
)
from tests.knowledge.conftest import write
from tests.llm_server import DEFAULT_KEY, OpenAIServer
from vigil.errors import VigilError
from vigil.settings import Settings, load_settings

MODEL = "text-embedding-3-small"


def test_offline_vectors_are_normalised_deterministic_and_bilingual() -> None:
    embed = OfflineEmbedding()
    texts = [
        "MySQL has too many connections",
        "mysql connections exhausted",
        "Kafka consumer lag",
        "数据库连接数过多",
        "连接数过多，新连接被拒绝",
        "",
    ]
    vectors = np.array(embed(texts))
    assert vectors.shape == (6, OFFLINE_DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors[:5], axis=1), 1.0) and not vectors[5].any()
    assert np.array_equal(vectors, np.array(OfflineEmbedding()(texts)))
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2]  # same problem beats another system
    assert similarity[3, 4] > similarity[3, 2]  # and in Chinese too


def test_the_offline_embedding_is_the_default_and_names_its_collection(
    kb_settings: Settings,
) -> None:
    embedding = build_embedding(kb_settings)
    assert isinstance(embedding, OfflineEmbedding)
    assert collection_name(embedding).startswith("knowledge-vigil-offline-hashing-")
    restored = OfflineEmbedding.build_from_config(embedding.get_config())
    assert restored.dimensions == embedding.dimensions


def _endpoint_settings(kb_settings: Settings, server: OpenAIServer, key: str) -> Settings:
    return load_settings(
        data_dir=kb_settings.data_dir,
        runbooks_dir=kb_settings.runbooks_dir,
        embedding_base_url=server.base_url,
        embedding_model=MODEL,
        embedding_api_key=key,
    )


def test_a_configured_endpoint_embeds_documents_and_queries(
    kb_settings: Settings, runbooks: Path
) -> None:
    write(
        runbooks,
        "redis.md",
        "# Redis\n\n## Memory\n\nbig keys fill memory\n\n## Slow\n\nKEYS blocks the server",
    )
    with OpenAIServer(models=(MODEL,)) as server:
        settings = _endpoint_settings(kb_settings, server, DEFAULT_KEY)
        kb = KnowledgeBase.open(settings)
        try:
            assert isinstance(kb._embedding, EndpointEmbedding)
            kb.reindex()
            hits = kb.search("memory big keys", k=1)
        finally:
            kb.close()
    calls = [r for r in server.requests if r.path == "/v1/embeddings"]
    assert len(calls) == 2  # one batch for the document, one for the query
    assert calls[0].body["model"] == MODEL and len(calls[0].body["input"]) == 2
    assert calls[0].headers["authorization"] == f"Bearer {DEFAULT_KEY}"
    assert hits[0].section == "Redis > Memory"
    # the key is never stored with the collection's configuration
    assert DEFAULT_KEY not in repr(
        EndpointEmbedding(server.base_url, MODEL, DEFAULT_KEY).get_config()
    )


def test_a_failing_endpoint_is_a_clear_error_and_stores_nothing(
    kb_settings: Settings, runbooks: Path
) -> None:
    path = write(runbooks, "redis.md", "# Redis\n\n## Memory\n\nbig keys")
    with OpenAIServer(models=(MODEL,)) as server:
        kb = KnowledgeBase.open(_endpoint_settings(kb_settings, server, "sk-wrong-key-0000"))
        try:
            with pytest.raises(VigilError, match=r"embedding endpoint .* failed"):
                kb.ingest_path(path)
            assert kb.documents() == []
        finally:
            kb.close()
