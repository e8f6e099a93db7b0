"""The vector index on a chroma server (``CRSAGENT_CHROMA_URL``) instead of a local folder.

``crsagent build`` still writes the index folder (embeddings computed here, offline); with a
chroma URL it then *publishes* the folder's collection to the server (:func:`publish`) under a
name made of the domain and the build's hash (:func:`collection_name`), so a rebuilt catalogue
gets a new collection and replicas on the old build keep reading theirs. Replicas open it with
``chromadb.HttpClient`` (:func:`open_collection`). The embedding matrix and the row order stay
in the (read-only, shared) index folder: filtered and excluded searches score candidates
exactly against it; only free searches go to the server's HNSW index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crsagent.agent.errors import ConfigError, DataError

__all__ = ["http_client", "collection_name", "publish", "open_collection", "PUBLISH_BATCH"]

PUBLISH_BATCH = 2048


def http_client(url: str) -> Any:
    """A ``chromadb.HttpClient`` for ``http(s)://host:port`` (telemetry off).

    Raises:
        ConfigError: the URL is not ``http://`` or ``https://`` with a host.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"CRSAGENT_CHROMA_URL must be http(s)://host:port, got {url!r}")
    ssl = parts.scheme == "https"
    return chromadb.HttpClient(
        host=parts.hostname,
        port=parts.port or (443 if ssl else 8000),
        ssl=ssl,
        settings=ChromaSettings(anonymized_telemetry=False),
    )


def collection_name(domain: str, index_dir: Path) -> str:
    """``crsagent-<domain>-<build hash>`` for a built index folder (``search-<hash>``)."""
    digest = Path(index_dir).name.rsplit("-", 1)[-1]
    return f"crsagent-{domain}-{digest}"


def _local_collection(index_dir: Path) -> tuple[Any, Any]:
    from crsagent.tools.search.index import CHROMA_DIR, COLLECTION, _client

    client = _client(Path(index_dir) / CHROMA_DIR)
    try:
        return client, client.get_collection(COLLECTION, embedding_function=None)
    except Exception as exc:  # chromadb raises NotFoundError/ValueError by version
        client.close()
        raise DataError(f"no '{COLLECTION}' collection: {exc}", Path(index_dir) / CHROMA_DIR) from exc


def publish(index_dir: Path, url: str, name: str) -> dict[str, Any]:
    """Copy a built index folder's collection to the chroma server at ``url`` as ``name``.

    A collection of that name already holding every item is left as it is (publishing is
    idempotent); a partial one (an interrupted publish) is replaced.

    Returns:
        ``{"collection", "items", "published"}`` (``published`` False when it was already there).

    Raises:
        DataError: the folder holds no index.
        ConfigError: a bad URL.
    """
    from crsagent.tools.search.index import HNSW_CONFIG

    local_client, local = _local_collection(index_dir)
    server = http_client(url)
    try:
        total = local.count()
        existing = {c.name if hasattr(c, "name") else str(c) for c in server.list_collections()}
        if name in existing:
            if server.get_collection(name, embedding_function=None).count() == total:
                return {"collection": name, "items": total, "published": False}
            server.delete_collection(name)
        remote = server.create_collection(
            name,
            embedding_function=None,
            configuration={"hnsw": dict(HNSW_CONFIG)},
            metadata=dict(local.metadata or {}),
        )
        batch = max(1, min(int(server.get_max_batch_size()), PUBLISH_BATCH))
        for offset in range(0, total, batch):
            got = local.get(limit=batch, offset=offset, include=["embeddings", "documents", "metadatas"])
            remote.add(
                ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"], metadatas=got["metadatas"]
            )
        if remote.count() != total:
            raise DataError(f"published {remote.count()} of {total} items", Path(index_dir))
        return {"collection": name, "items": total, "published": True}
    finally:
        local_client.close()
        server.close()


def open_collection(url: str, name: str, expected: int) -> tuple[Any, Any]:
    """``(client, collection)`` of a published index on the server.

    Raises:
        DataError: the server has no such collection or it holds another number of items
            (publish it with ``crsagent build`` and ``CRSAGENT_CHROMA_URL`` set).
        ConfigError: a bad URL.
    """
    client = http_client(url)
    try:
        col = client.get_collection(name, embedding_function=None)
    except Exception as exc:  # NotFoundError, or the server is unreachable
        client.close()
        raise DataError(
            f"no collection {name!r} on the chroma server {url}: {exc}; run `crsagent build` "
            f"with CRSAGENT_CHROMA_URL set"
        ) from exc
    if col.count() != expected:
        client.close()
        raise DataError(f"collection {name!r} on {url} holds {col.count()} items, the index {expected}")
    return client, col
