"""Build stage ``search``: embed the catalogue and write the vector index.

Reads the items of the ``catalog`` artifact, embeds their documents with all-MiniLM-L6-v2
(a progress bar counts the items) and writes ``chroma/``, ``embeddings.npy`` and ``ids.json``
into the stage folder (see :class:`~crsagent.tools.search.index.VectorIndex`). When the
catalogue changed, documents whose text is the same keep the current index's embeddings, so a
rebuild embeds only what changed; ``--force`` embeds everything again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crsagent.tools.artifacts import hash_inputs
from crsagent.tools.pipeline import BuildContext
from crsagent.tools.search.documents import DOC_VERSION
from crsagent.tools.search.index import INDEX_VERSION, VectorIndex

__all__ = [
    "NAME",
    "DEPENDS",
    "VERSION",
    "EMBED_MODEL",
    "input_hash",
    "build",
    "index_path",
    "load_index",
    "publish_index",
]

NAME = "search"
DEPENDS: tuple[str, ...] = ("catalog",)
VERSION = 1  # bump when the stage's output changes for the same catalogue
EMBED_MODEL = "all-MiniLM-L6-v2"


def input_hash(ctx: BuildContext) -> str:
    """The stage's own inputs (the catalogue's hash is added by the pipeline)."""
    return hash_inputs([], {"version": VERSION, "index": INDEX_VERSION, "doc": DOC_VERSION, "model": EMBED_MODEL})


def build(ctx: BuildContext, out_dir: Path) -> dict[str, Any]:
    """Embed the domain's items into ``out_dir``.

    Returns:
        Figures for the manifest (items, dimension).
    """
    from crsagent.tools.catalog.db import DB_FILE, ProductDB

    with ProductDB.open(ctx.store.path("catalog") / DB_FILE, domain=ctx.domain) as db:
        items = db.all_items()
    # Unchanged documents keep the embeddings of the current index (a forced build redoes all).
    previous = ctx.store.path(NAME) if ctx.store.has(NAME) and not ctx.force else None
    advance = ctx.progress(f"{ctx.domain}: embedding items", len(items))
    meta = VectorIndex.write(items, Path(out_dir), progress=advance, reuse=previous)
    ctx.log(f"{ctx.domain} vector index: {meta['items']} items ({meta['reused']} embeddings reused), "
            f"{meta['dim']} dimensions")  # fmt: skip
    return meta


def index_path(settings: Any, domain: str) -> Path:
    """The folder of a domain's built index.

    Raises:
        NotBuiltError: the ``search`` stage was never built.
    """
    from crsagent.tools.artifacts import ArtifactStore

    return ArtifactStore(settings.home, domain).path(NAME)


def load_index(settings: Any, domain: str, db: Any = None) -> VectorIndex:
    """Open a domain's built index for queries.

    Args:
        settings: run settings (its ``home`` holds the artifacts; with ``chroma_url`` the
            collection is read from that chroma server).
        domain: ``movies`` or ``office``.
        db: product database used for filters.

    Raises:
        NotBuiltError: the index was never built.
        DataError: ``chroma_url`` is set and the server lacks the published collection.
    """
    from crsagent.tools.artifacts import ArtifactStore
    from crsagent.tools.encoder.runtime import activate_built

    activate_built(ArtifactStore(settings.home, domain))
    path = index_path(settings, domain)
    url = getattr(settings, "chroma_url", None)
    if url:  # the published collection on a chroma server (see publish_index)
        from crsagent.tools.search.remote import collection_name

        return VectorIndex.load(path, db=db, chroma_url=url, chroma_collection=collection_name(domain, path))
    return VectorIndex.load(path, db=db)


def publish_index(settings: Any, domain: str) -> dict[str, Any]:
    """Copy a domain's built index to the chroma server ``settings.chroma_url`` (no re-embedding;
    a no-op when the server already holds it). See :mod:`crsagent.tools.search.remote`.

    Returns:
        ``{"collection", "items", "published"}``.

    Raises:
        ConfigError: no chroma URL configured.
        NotBuiltError: the index was never built.
    """
    from crsagent.agent.errors import ConfigError
    from crsagent.tools.search.remote import collection_name, publish

    if not settings.chroma_url:
        raise ConfigError("no chroma server: set CRSAGENT_CHROMA_URL")
    path = index_path(settings, domain)
    return publish(path, settings.chroma_url, collection_name(domain, path))
