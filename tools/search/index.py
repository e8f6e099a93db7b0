"""``VectorIndex``: semantic search over one domain's items with chromadb.

An index folder holds a chromadb persistent collection (``chroma/``, cosine space, no
embedding function: embeddings are always passed in, so chromadb never downloads a model),
the same embeddings as a numpy matrix (``embeddings.npy``) and the row order
(``ids.json``). A free query runs on chromadb's HNSW index; a query restricted to candidate
ids (or to a filter, which the product database turns into candidate ids) scores exactly those
candidates against the matrix, which is faster than chromadb's ``$in`` clause for the few
thousand ids a filter yields (see :mod:`crsagent.evals.bench.tools`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from crsagent.agent.errors import (
    BuildError,
    ConfigError,
    DataError,
    EmptyQueryError,
    ToolInputError,
    UnknownItemError,
    UserError,
)
from crsagent.tools.catalog.schema import Item, ItemFilter, ScoredItem
from crsagent.tools.search.documents import DOC_VERSION, item_document
from crsagent.tools.search.embedding import EMBED_DIM, embed_texts

__all__ = [
    "VectorIndex",
    "INDEX_VERSION",
    "HNSW_CONFIG",
    "MAX_K",
    "CHROMA_DIR",
    "EMBEDDINGS_FILE",
    "IDS_FILE",
    "COLLECTION",
]

INDEX_VERSION = 1
#: chromadb's HNSW settings: cosine space; one insertion thread, so a build gives the same graph
#: every time; a wider search beam than chroma's default, so the top 20 agree with exact search.
HNSW_CONFIG: dict[str, Any] = {"space": "cosine", "num_threads": 1, "ef_construction": 200, "ef_search": 200}
MAX_K = 1000
CHROMA_DIR, EMBEDDINGS_FILE, IDS_FILE = "chroma", "embeddings.npy", "ids.json"
COLLECTION = "items"
_EMBED_CHUNK = 256

Embedder = Callable[[Sequence[str]], np.ndarray]


def _client(path: Path) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )


def _metadata(item: Item) -> dict[str, Any]:
    meta: dict[str, Any] = {"title": item.title, "domain": item.domain, "popularity": float(item.popularity)}
    if item.year is not None:
        meta["year"] = int(item.year)
    if item.brand:
        meta["brand"] = item.brand
    return meta


def _reuse(prev: Path, hashes: list[str], matrix: np.ndarray) -> set[int]:
    """Copy embeddings of unchanged documents from a previous index folder into ``matrix``."""
    try:
        meta = json.loads((Path(prev) / IDS_FILE).read_text())
        old = np.load(Path(prev) / EMBEDDINGS_FILE, mmap_mode="r")
    except (OSError, ValueError):
        return set()
    if meta.get("version") != INDEX_VERSION or old.shape[1:] != (EMBED_DIM,):
        return set()
    where = {h: i for i, h in enumerate(meta.get("doc_hashes") or [])}
    done = set()
    for row, h in enumerate(hashes):
        j = where.get(h)
        if j is not None and j < old.shape[0]:
            matrix[row] = old[j]
            done.add(row)
    return done


class VectorIndex:
    """A loaded index: chromadb collection + embedding matrix. Use :meth:`build` or :meth:`load`.

    Args:
        path: the index folder.
        ids: item ids in matrix row order.
        titles: titles in the same order.
        matrix: unit-normalised embeddings, shape ``(len(ids), 384)``.
        collection: the chromadb collection (None: exact search on the matrix only).
        client: the chromadb client that owns the collection (closed by :meth:`close`).
        embed: the query embedder (``texts -> unit vectors``).
        db: a default product database for filters (see :meth:`query`).
    """

    def __init__(
        self,
        path: Path,
        ids: list[str],
        titles: list[str],
        matrix: np.ndarray,
        collection: Any = None,
        client: Any = None,
        embed: Embedder = embed_texts,
        db: Any = None,
    ) -> None:
        self.path = Path(path)
        self.ids = ids
        self.titles = titles
        self.matrix = matrix
        self.collection = collection
        self.db = db
        self._client = client
        self._embed = embed
        self._row = {item_id: i for i, item_id in enumerate(ids)}
        self._lock = threading.Lock()

    # -- building ----------------------------------------------------------------------
    @staticmethod
    def write(
        items: Iterable[Item],
        path: Path,
        embed: Embedder = embed_texts,
        progress: Callable[[int], None] | None = None,
        reuse: Path | None = None,
    ) -> dict[str, Any]:
        """Embed items and write an index folder.

        Args:
            items: the catalogue.
            path: an empty (or missing) folder.
            embed: ``texts -> unit vectors`` (all-MiniLM-L6-v2 by default).
            progress: called with the number of items embedded after each chunk.
            reuse: a previous index folder built with the same embedder; documents whose text
                did not change keep their embedding instead of being embedded again.

        Returns:
            Figures: items, dimension, document version, embeddings reused.

        Raises:
            BuildError: the folder already holds an index, there are no items or ids repeat.
        """
        items = list(items)
        path = Path(path)
        if (path / CHROMA_DIR).exists() or (path / IDS_FILE).exists():
            raise BuildError(f"{path} already holds a vector index; build into an empty folder")
        if not items:
            raise BuildError("no items to index")
        ids = [it.item_id for it in items]
        if len(set(ids)) != len(ids):
            raise BuildError("item ids repeat; the catalogue is inconsistent")
        docs = [item_document(it) for it in items]
        hashes = [hashlib.sha1(d.encode("utf-8")).hexdigest()[:20] for d in docs]
        matrix = np.zeros((len(items), EMBED_DIM), dtype=np.float32)
        done = _reuse(reuse, hashes, matrix) if reuse is not None else set()
        if progress is not None and done:
            progress(len(done))
        todo = [i for i in range(len(docs)) if i not in done]
        order = sorted(todo, key=lambda i: len(docs[i]))  # similar lengths pad less
        for s in range(0, len(order), _EMBED_CHUNK):
            rows = order[s : s + _EMBED_CHUNK]
            matrix[rows] = embed([docs[i] for i in rows])
            if progress is not None:
                progress(len(rows))
        path.mkdir(parents=True, exist_ok=True)
        client = _client(path / CHROMA_DIR)
        try:
            col = client.create_collection(
                COLLECTION,
                embedding_function=None,
                configuration={"hnsw": dict(HNSW_CONFIG)},
                metadata={"version": INDEX_VERSION, "doc_version": DOC_VERSION},
            )
            batch = max(1, min(int(client.get_max_batch_size()), 4096))
            for s in range(0, len(items), batch):
                col.add(
                    ids=ids[s : s + batch],
                    embeddings=matrix[s : s + batch],
                    documents=docs[s : s + batch],
                    metadatas=[_metadata(it) for it in items[s : s + batch]],
                )
        finally:
            client.close()
        np.save(path / EMBEDDINGS_FILE, matrix)
        meta = {"version": INDEX_VERSION, "doc_version": DOC_VERSION, "dim": EMBED_DIM, "ids": ids,
                "titles": [it.title for it in items], "doc_hashes": hashes}  # fmt: skip
        (path / IDS_FILE).write_text(json.dumps(meta))
        return {"items": len(items), "dim": EMBED_DIM, "doc_version": DOC_VERSION, "reused": len(done)}

    @classmethod
    def build(cls, items: Iterable[Item], path: Path, embed: Embedder = embed_texts, db: Any = None) -> VectorIndex:
        """Write an index folder (see :meth:`write`) and load it."""
        cls.write(items, path, embed=embed)
        return cls.load(path, embed=embed, db=db)

    @classmethod
    def load(
        cls,
        path: Path,
        embed: Embedder = embed_texts,
        db: Any = None,
        use_chroma: bool = True,
        *,
        chroma_url: str | None = None,
        chroma_collection: str | None = None,
    ) -> VectorIndex:
        """Open an index folder for queries (nothing is written).

        Args:
            path: the folder :meth:`write` produced.
            embed: the query embedder; must be the one the index was built with.
            db: default product database for filters.
            use_chroma: open the chromadb collection (False: exact search on the matrix only).
            chroma_url: a chroma server holding the published collection
                (:mod:`crsagent.tools.search.remote`); None opens the folder's own.
            chroma_collection: the collection's name on that server.

        Raises:
            DataError: files are missing or disagree with each other, or the server lacks
                the collection.
            ConfigError: a server URL without a collection name, or a bad URL.
        """
        path = Path(path)
        try:
            meta = json.loads((path / IDS_FILE).read_text())
            matrix = np.load(path / EMBEDDINGS_FILE)
        except (OSError, ValueError) as exc:
            raise DataError(f"not a vector index ({exc})", path) from exc
        ids, titles = list(meta["ids"]), list(meta["titles"])
        if matrix.shape != (len(ids), EMBED_DIM):
            raise DataError(f"embeddings shape {matrix.shape} does not match {len(ids)} ids", path)
        client = col = None
        if use_chroma and chroma_url:
            from crsagent.tools.search.remote import open_collection

            if not chroma_collection:
                raise ConfigError("a chroma server needs the collection name (chroma_collection)")
            client, col = open_collection(chroma_url, chroma_collection, len(ids))
        elif use_chroma:
            client = _client(path / CHROMA_DIR)
            try:
                col = client.get_collection(COLLECTION, embedding_function=None)
            except Exception as exc:  # chromadb raises NotFoundError/ValueError by version
                client.close()
                raise DataError(f"no '{COLLECTION}' collection: {exc}", path / CHROMA_DIR) from exc
            if col.count() != len(ids):
                client.close()
                raise DataError(f"collection holds {col.count()} items, ids.json {len(ids)}", path)
        return cls(path, ids, titles, np.ascontiguousarray(matrix, dtype=np.float32), col, client, embed, db)

    def close(self) -> None:
        """Release the chromadb client."""
        if self._client is not None:
            self._client.close()
            self._client = self.collection = None

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._row

    # -- querying ----------------------------------------------------------------------
    def embed_query(self, text: str) -> np.ndarray:
        """The unit vector of a query text.

        Raises:
            EmptyQueryError: the text is empty or blank.
        """
        if not isinstance(text, str) or not text.strip():
            raise EmptyQueryError("the query text is empty; describe what you are looking for")
        return np.asarray(self._embed([text.strip()])[0], dtype=np.float32)

    def item_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """Embeddings of items, shape ``(len(ids), 384)``, in the order given.

        Raises:
            UnknownItemError: some ids are not in the index.
        """
        missing = [i for i in ids if i not in self._row]
        if missing:
            raise UnknownItemError(missing)
        return self.matrix[[self._row[i] for i in ids]]

    def query(
        self,
        text: str,
        k: int = 10,
        filter: ItemFilter | dict[str, Any] | None = None,
        candidate_ids: Sequence[str] | None = None,
        db: Any = None,
    ) -> list[ScoredItem]:
        """The ``k`` items closest in meaning to a text (score = cosine similarity, higher is better).

        Args:
            text: what the user is looking for.
            k: how many results (1-1000).
            filter: hard constraints, resolved to candidate ids by the product database.
            candidate_ids: search only among these items.
            db: the product database for ``filter`` (defaults to the one given at load).

        Raises:
            EmptyQueryError: blank text.
            ToolInputError: k out of range.
            UnknownItemError: candidate ids not in the catalogue.
            InvalidFilterError: the filter is invalid.
            UserError: a filter was given but no product database.
        """
        return [self._scored(row, score) for row, score in self._query_hits(text, k, filter, candidate_ids, db)]

    def query_scores(
        self,
        text: str,
        k: int = 10,
        filter: ItemFilter | dict[str, Any] | None = None,
        candidate_ids: Sequence[str] | None = None,
        db: Any = None,
    ) -> dict[str, float]:
        """:meth:`query` as ``{item_id: score}``, best first, without result objects (the ranking
        pipeline's hot path reads only ids and scores). Same arguments and errors."""
        ids = self.ids
        return {ids[row]: round(score, 6) for row, score in self._query_hits(text, k, filter, candidate_ids, db)}

    def _query_hits(
        self,
        text: str,
        k: int,
        filter: ItemFilter | dict[str, Any] | None,
        candidate_ids: Sequence[str] | None,
        db: Any,
    ) -> list[tuple[int, float]]:
        k = self._check_k(k)
        if not isinstance(text, str) or not text.strip():
            raise EmptyQueryError("the query text is empty; describe what you are looking for")
        cands = self._candidates(filter, candidate_ids, db)  # bad ids or filters fail before embedding
        if cands is not None and not cands:
            return []
        return self._hits(self.embed_query(text), k, cands, set())

    def query_vector(
        self,
        vec: np.ndarray,
        k: int = 10,
        filter: ItemFilter | dict[str, Any] | None = None,
        candidate_ids: Sequence[str] | None = None,
        db: Any = None,
        exclude_ids: Iterable[str] = (),
    ) -> list[ScoredItem]:
        """Like :meth:`query`, from a unit vector (an item's embedding, a fused profile ...)."""
        return [
            self._scored(row, score) for row, score in self._vector_hits(vec, k, filter, candidate_ids, db, exclude_ids)
        ]

    def vector_scores(
        self,
        vec: np.ndarray,
        k: int = 10,
        candidate_ids: Sequence[str] | None = None,
        exclude_ids: Iterable[str] = (),
    ) -> dict[str, float]:
        """:meth:`query_vector` as ``{item_id: score}``, best first (the ranking's hot path).

        Raises:
            ToolInputError: k out of range or a vector of the wrong size.
            UnknownItemError: candidate ids not in the catalogue.
        """
        ids = self.ids
        return {
            ids[row]: round(score, 6)
            for row, score in self._vector_hits(vec, k, None, candidate_ids, None, exclude_ids)
        }

    def _vector_hits(
        self,
        vec: np.ndarray,
        k: int,
        filter: ItemFilter | dict[str, Any] | None,
        candidate_ids: Sequence[str] | None,
        db: Any,
        exclude_ids: Iterable[str],
    ) -> list[tuple[int, float]]:
        k = self._check_k(k)
        vec = np.asarray(vec, dtype=np.float32).reshape(-1)
        if vec.shape != (EMBED_DIM,):
            raise ToolInputError(f"a query vector has {EMBED_DIM} numbers, not {vec.shape[0]}")
        return self._hits(vec, k, self._candidates(filter, candidate_ids, db), set(exclude_ids))

    def _hits(self, vec: np.ndarray, k: int, cands: list[str] | None, excluded: set[str]) -> list[tuple[int, float]]:
        """(row, cosine) of the top ``k`` candidates, best first (None: every item; chromadb's
        index when nothing is excluded)."""
        if cands is None and self.collection is not None and not excluded:
            return self._chroma(vec, k)
        if cands is None:
            rows = np.arange(len(self.ids))
            if excluded:  # drop the excluded rows by their (few) row numbers, not by a pass over every id
                gone = [self._row[i] for i in excluded if i in self._row]
                rows = np.delete(rows, gone) if gone else rows
        else:
            rows = self._rows([c for c in cands if c not in excluded] if excluded else cands)
        if rows.size == 0:
            return []
        # one product over the whole matrix is cheaper than copying the candidates' rows first
        scores = (self.matrix @ vec)[rows] if rows.size * 4 > len(self.ids) else self.matrix[rows] @ vec
        top = np.argpartition(-scores, k - 1)[:k] if rows.size > k else np.arange(rows.size)
        top = top[np.lexsort((rows[top], -scores[top]))]
        return list(zip(rows[top].tolist(), scores[top].tolist()))

    def similar(self, item_ids: Sequence[str], k: int = 10, **kwargs: Any) -> list[ScoredItem]:
        """Items closest to the mean embedding of some items, the items themselves excluded.

        Raises:
            UnknownItemError: some ids are not in the index.
            ToolInputError: no ids.
        """
        if not item_ids:
            raise ToolInputError("give at least one item id")
        v = self.item_vectors(list(item_ids)).mean(axis=0)
        v /= max(float(np.linalg.norm(v)), 1e-12)
        return self.query_vector(v, k, exclude_ids=item_ids, **kwargs)

    # -- helpers -----------------------------------------------------------------------
    @staticmethod
    def _check_k(k: int) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= MAX_K:
            raise ToolInputError(f"k must be an integer from 1 to {MAX_K}, not {k!r}")
        return int(k)

    def _candidates(
        self, filter: ItemFilter | dict[str, Any] | None, candidate_ids: Sequence[str] | None, db: Any
    ) -> list[str] | None:
        """Candidate ids from explicit ids and/or a filter; None means every item."""
        cands: list[str] | None = None
        if candidate_ids is not None:
            if isinstance(candidate_ids, str):
                raise ToolInputError("candidate_ids must be a list of item ids, not one string")
            seen = dict.fromkeys(candidate_ids)  # dedupe, order kept
            if seen.keys() - self._row.keys():  # one C-level pass (candidate lists run to thousands)
                seen = dict.fromkeys(map(str, seen))
                if seen.keys() - self._row.keys():
                    raise UnknownItemError([c for c in seen if c not in self._row])
            cands = list(seen)
        if filter is not None:
            from crsagent.tools.catalog.db import as_filter

            f = as_filter(filter)
            if not f.is_empty():
                db = db if db is not None else self.db
                if db is None:
                    raise UserError("a filter needs the product database: pass db= to query() or load()")
                allowed = [i for i in db.filter_ids(f) if i in self._row]
                if cands is None:
                    cands = allowed
                else:
                    keep = set(allowed)
                    cands = [c for c in cands if c in keep]
        return cands

    def _chroma(self, vec: np.ndarray, k: int) -> list[tuple[int, float]]:
        n = min(k, len(self.ids))
        with self._lock:
            res = self.collection.query(query_embeddings=[vec], n_results=n, include=["distances"])
        out = []
        for item_id, dist in zip(res["ids"][0], res["distances"][0]):
            row = self._row.get(item_id)
            if row is not None:
                out.append((row, 1.0 - float(dist)))
        return out

    def _rows(self, ids: list[str]) -> np.ndarray:
        """Row numbers of known ids (one C-level lookup; candidate lists run to thousands)."""
        if len(ids) < 2:
            return np.array([self._row[i] for i in ids], dtype=np.int64)
        return np.array(itemgetter(*ids)(self._row), dtype=np.int64)

    def _scored(self, row: int, score: float) -> ScoredItem:
        # trusted fields of known types: skip validation (hundreds of results per turn)
        return ScoredItem.model_construct(item_id=self.ids[row], score=round(score, 6), title=self.titles[row])
