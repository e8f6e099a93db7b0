"""The run-scoped handles of one domain: database, vector index, linker, lexicon, models.

A :class:`Toolkit` is what the agent graph receives through its runtime context. Build one
from the built artifacts with :meth:`Toolkit.load` (each handle loads on first use, once) or
from explicit objects for tests (``Toolkit("movies", db=..., linker=...)``). The catalogue
is required; every other handle may be missing (not built, or its package absent), in which
case it is None and :attr:`Toolkit.missing` says why — the agent then ranks without it.

Custom LangChain tools join the built-in ones with ``Toolkit(..., extra_tools=[...])``,
:meth:`Toolkit.add_tools` (a toolkit you own) or :meth:`Toolkit.with_tools` (a copy, for the
shared toolkit :meth:`Toolkit.load` returns); :meth:`Toolkit.tools` then lists them after the
built-in tools, and a custom tool with a built-in tool's name replaces it.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from cachetools import LRUCache
from langchain_core.tools import BaseTool

from crsagent.agent.domains import domain_spec
from crsagent.agent.errors import CrsAgentError, NotBuiltError
from crsagent.agent.settings import Settings
from crsagent.tools.artifacts import ArtifactStore
from crsagent.tools.catalog.schema import Item
from crsagent.tools.encoder.runtime import activate_built

__all__ = ["Toolkit", "HANDLES", "ON_DEMAND", "clear_toolkit_cache"]

log = logging.getLogger(__name__)

#: Handle names, in load order.
HANDLES: tuple[str, ...] = (
    "db",
    "index",
    "linker",
    "lexicon",
    "cf",
    "seq",
    "intent",
    "explainer",
    "prior",
    "itemsim",
    "ranker",
)

#: Handles :meth:`Toolkit.warm_up` leaves unloaded: the first use loads them (a tool call such as
#: ``score_intents``). The ranking does not use the LatentCRS intents (docs/ranking.md).
ON_DEMAND: tuple[str, ...] = ("intent",)

EMBED_CACHE = 1024  # texts whose embeddings a toolkit keeps
FILTER_CACHE = 256  # filters whose matching ids a toolkit keeps
_CACHE: dict[tuple[str, str, str], Toolkit] = {}
_CACHE_LOCK = threading.Lock()


def clear_toolkit_cache() -> None:
    """Forget toolkits cached by :meth:`Toolkit.load` (tests, or after a rebuild)."""
    with _CACHE_LOCK:
        _CACHE.clear()


class Toolkit:
    """Handles to one domain's tools.

    Args:
        domain: ``movies`` or ``office``.
        db: the product database (``ProductDB`` or an object with the same methods).
        index: the vector index (``VectorIndex``), or None.
        linker: the entity linker (``EntityLinker``), or None.
        lexicon: the attribute lexicon (``AttributeLexicon``), or None.
        cf: the CF model (``CFModel``), or None.
        seq: the sequential model, or None.
        intent: the latent-intent scorer, or None.
        explainer: the explainer (``Explainer``), or None.
        prior: the ReDial recommendation prior (``tools.prior.redial.RedialPrior``), or None.
        itemsim: the MovieLens item-to-item similarity (``tools.prior.itemsim.ItemSim``), or None.
        ranker: the learned ranker (``tools.ranker.LearnedRanker``), or None (the fusion ranks).
        loaders: name -> function of the toolkit that loads a handle left as None (lazy, once).
        tools: the LangChain tools to offer the LLM; None builds them from the handles.
        extra_tools: custom LangChain tools offered beside the built-in ones (see
            :meth:`add_tools`).
    """

    def __init__(
        self,
        domain: str,
        *,
        db: Any = None,
        index: Any = None,
        linker: Any = None,
        lexicon: Any = None,
        cf: Any = None,
        seq: Any = None,
        intent: Any = None,
        explainer: Any = None,
        prior: Any = None,
        itemsim: Any = None,
        ranker: Any = None,
        loaders: dict[str, Callable[[Toolkit], Any]] | None = None,
        tools: list[BaseTool] | None = None,
        extra_tools: Sequence[BaseTool] | None = None,
    ) -> None:
        self.domain = domain
        self._handles: dict[str, Any] = {
            "db": db,
            "index": index,
            "linker": linker,
            "lexicon": lexicon,
            "cf": cf,
            "seq": seq,
            "intent": intent,
            "explainer": explainer,
            "prior": prior,
            "itemsim": itemsim,
            "ranker": ranker,
        }
        self._loaders = dict(loaders or {})
        self._lock = threading.RLock()
        self.missing: dict[str, str] = {}
        self._items: dict[str, Item] | None = None
        self._by_pop: list[str] | None = None
        self._pop_norm: dict[str, float] | None = None
        self._people: dict[str, frozenset[str]] = {}
        self._films: dict[str, tuple[str, ...]] | None = None
        self._genres: frozenset[str] | None = None
        self._embeds: LRUCache[str, np.ndarray] = LRUCache(maxsize=EMBED_CACHE)
        self._filters: LRUCache[str, list[str]] = LRUCache(maxsize=FILTER_CACHE)
        self._fixed_tools: list[BaseTool] | None = list(tools) if tools is not None else None
        self._tools: dict[Any, list[BaseTool]] = {}
        self._extra: list[BaseTool] = []
        if extra_tools:
            self.add_tools(*extra_tools)

    # -- handles -----------------------------------------------------------------------
    def _get(self, name: str) -> Any:
        h = self._handles[name]
        if h is not None or name not in self._loaders:
            return h
        with self._lock:
            if self._handles[name] is None and name in self._loaders:
                loader = self._loaders.pop(name)
                try:
                    self._handles[name] = loader(self)
                except (NotBuiltError, ImportError, CrsAgentError, OSError, ValueError, KeyError) as exc:
                    # a missing, stale or corrupt optional artifact: rank without it, say why
                    if name == "db":
                        raise
                    self.missing[name] = f"{type(exc).__name__}: {exc}"
                    log.warning("toolkit %s: %s unavailable (%s)", self.domain, name, exc)
            return self._handles[name]

    @property
    def db(self) -> Any:
        """The product database (required)."""
        return self._get("db")

    @property
    def index(self) -> Any:
        """The vector index, or None."""
        return self._get("index")

    @property
    def linker(self) -> Any:
        """The entity linker, or None."""
        return self._get("linker")

    @property
    def lexicon(self) -> Any:
        """The attribute lexicon, or None."""
        return self._get("lexicon")

    @property
    def cf(self) -> Any:
        """The CF model, or None."""
        return self._get("cf")

    @property
    def seq(self) -> Any:
        """The sequential model, or None."""
        return self._get("seq")

    @property
    def intent(self) -> Any:
        """The latent-intent scorer, or None."""
        return self._get("intent")

    @property
    def explainer(self) -> Any:
        """The explainer, or None."""
        return self._get("explainer")

    @property
    def prior(self) -> Any:
        """The ReDial recommendation prior (suggestions and transitions), or None."""
        return self._get("prior")

    @property
    def itemsim(self) -> Any:
        """The MovieLens item-to-item similarity, or None."""
        return self._get("itemsim")

    @property
    def ranker(self) -> Any:
        """The learned ranker, or None (the weighted fusion ranks)."""
        return self._get("ranker")

    def with_handles(self, **handles: Any) -> Toolkit:
        """A copy of this toolkit with some handles replaced (caches and the other handles shared).

        Replay gives each dialogue half the ranker that was not trained on it this way.

        Raises:
            KeyError: an unknown handle name.
        """
        unknown = set(handles) - set(HANDLES)
        if unknown:
            raise KeyError(f"unknown handle(s) {sorted(unknown)}; handles are {list(HANDLES)}")
        for name in HANDLES:  # load what is shared before copying, so each copy does not load again
            if name not in handles and name not in ON_DEMAND:
                self._get(name)
        twin = copy.copy(self)
        twin._handles = {**self._handles, **handles}
        twin._loaders = {n: f for n, f in self._loaders.items() if n not in handles}
        twin._tools = {}
        return twin

    def warm_up(self) -> Toolkit:
        """Load every handle now but the :data:`ON_DEMAND` ones (servers do this before taking traffic)."""
        for name in HANDLES:
            if name not in ON_DEMAND:
                self._get(name)
        self.items()
        self.films_by_person()  # the crew signal's index, so the first turn does not build it
        return self

    # -- catalogue views (built once) --------------------------------------------------
    def items(self) -> dict[str, Item]:
        """Every catalogue item by id (loaded once)."""
        if self._items is None:
            with self._lock:
                if self._items is None:
                    all_items = list(self.db.all_items())
                    self._by_pop = [i.item_id for i in sorted(all_items, key=lambda i: (-i.popularity, i.item_id))]
                    top = max((i.popularity for i in all_items), default=0.0)
                    denom = math.log1p(max(top, 0.0)) or 1.0
                    self._pop_norm = {i.item_id: math.log1p(max(i.popularity, 0.0)) / denom for i in all_items}
                    self._items = {i.item_id: i for i in all_items}
        return self._items

    def filter_ids(self, f: Any) -> list[str]:
        """``db.filter_ids(f)`` (all matches, most popular first), cached per filter.

        The catalogue is read-only while a toolkit lives, and a conversation keeps asking for
        the same constraints turn after turn.
        """
        key = f.model_dump_json() if hasattr(f, "model_dump_json") else repr(f)
        with self._lock:
            hit = self._filters.get(key)
            if hit is not None:
                return hit
        ids = list(self.db.filter_ids(f))
        with self._lock:
            self._filters[key] = ids
        return ids

    def item(self, item_id: str) -> Item | None:
        """One item, or None when the id is unknown."""
        return self.items().get(item_id)

    def has(self, item_id: str) -> bool:
        """Whether an id is in the catalogue."""
        return item_id in self.items()

    def title(self, item_id: str) -> str:
        """The display title of an item (the id itself when unknown)."""
        it = self.item(item_id)
        return it.display_title if it is not None else item_id

    def ids_by_popularity(self) -> list[str]:
        """All item ids, most popular first."""
        self.items()
        assert self._by_pop is not None
        return self._by_pop

    def popularity_map(self) -> dict[str, float]:
        """Item id -> log popularity scaled to 0-1 (read-only; shared)."""
        self.items()
        assert self._pop_norm is not None
        return self._pop_norm

    def popularity_norm(self, item_id: str) -> float:
        """Log popularity scaled to 0-1 over the catalogue."""
        self.items()
        assert self._pop_norm is not None
        return self._pop_norm.get(item_id, 0.0)

    def genre_vocab(self) -> frozenset[str]:
        """Every genre in the catalogue (lower case)."""
        if self._genres is None:
            self._genres = frozenset(g for it in self.items().values() for g in it.genres)
        return self._genres

    def people_of(self, item_id: str) -> frozenset[str]:
        """Lower-case names of an item's directors, writers and cast (cached)."""
        got = self._people.get(item_id)
        if got is None:
            it = self.item(item_id)
            got = frozenset(n.lower() for n in (it.directors + it.writers + it.cast)) if it else frozenset()
            self._people[item_id] = got
        return got

    def films_by_person(self) -> dict[str, tuple[str, ...]]:
        """Lower-case person name -> the items they directed, wrote or acted in (built once)."""
        if self._films is None:
            films: dict[str, list[str]] = {}
            for i in self.items():
                for name in self.people_of(i):
                    films.setdefault(name, []).append(i)
            self._films = {n: tuple(v) for n, v in films.items()}
        return self._films

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit embeddings of texts (all-MiniLM-L6-v2); single texts are cached (LRU).

        Successive turns often search the same preference text, so the cache saves the
        embedding model's forward pass on the hot path.
        """
        from crsagent.tools.search.embedding import embed_texts

        if len(texts) != 1:
            return embed_texts(texts)
        text = texts[0]
        with self._lock:
            hit = self._embeds.get(text)
            if hit is not None:
                return hit[None, :]
        vec = np.asarray(embed_texts([text])[0], dtype=np.float32)
        with self._lock:
            self._embeds[text] = vec
        return vec[None, :]

    # -- LangChain tools ---------------------------------------------------------------
    def tools(self, evidence_provider: Callable[..., Any] | None = None) -> list[BaseTool]:
        """The LangChain tools over the available handles (built once per evidence provider).

        Args:
            evidence_provider: gives the explainer tool the current user's evidence (called
                with the run's ``RunnableConfig``); without it there is no ``explain_items``.

        Returns:
            Tools such as ``search_products``, ``get_items``, ``vector_search``,
            ``recommend_cf``, ``score_intents``, ``explain_items`` (those whose handles exist).
        """
        cached = self._tools.get(evidence_provider)
        if cached is not None:
            return cached
        if self._fixed_tools is not None:
            return self._remember_tools(evidence_provider, self._fixed_tools + self._extra)
        out: list[BaseTool] = []
        factories: list[tuple[str, str, Callable[[], tuple[Any, ...]], Callable[[], bool]]] = [
            ("crsagent.tools.catalog.tool", "make_catalog_tools", lambda: (self.db,), lambda: True),
            (
                "crsagent.tools.search.tool",
                "make_search_tools",
                lambda: (self.index, self.db),
                lambda: self.index is not None,
            ),
            (
                "crsagent.tools.cf.tool",
                "make_model_tools",
                lambda: (self.cf, self._deferred("intent"), self.db),
                lambda: self.cf is not None or self._deferred("intent") is not None,
            ),
        ]
        for module, fn, args, wanted in factories:
            if not wanted():
                continue
            try:
                factory = getattr(importlib.import_module(module), fn)
            except (ImportError, AttributeError) as exc:
                self.missing.setdefault(f"tools:{fn}", str(exc))
                continue
            out.extend(factory(*args()))
        if evidence_provider is not None and self.explainer is not None:
            from crsagent.tools.explain.tool import make_explain_tools

            out.extend(make_explain_tools(self.explainer, evidence_provider))
        return self._remember_tools(evidence_provider, out + self._extra)

    def _deferred(self, name: str) -> Any:
        """A handle, or for one not loaded yet a stand-in that loads it on first use (None: none)."""
        h = self._handles[name]
        if h is not None or name not in self._loaders:
            return h
        return _OnDemand(self, name)

    def _remember_tools(self, key: Any, out: list[BaseTool]) -> list[BaseTool]:
        dedup = {t.name: t for t in out}  # a later tool of the same name (a custom one) wins
        tools = [dedup[n] for n in dict.fromkeys(t.name for t in out)]
        self._tools[key] = tools
        return tools

    def add_tools(self, *tools: BaseTool) -> Toolkit:
        """Offer custom LangChain tools beside the built-in ones, to every graph and model.

        The ``agent`` variant offers them to the LLM (any model); the U-NEED variants offer them
        to models with reliable native tool choice (weak models get one forced tool per dialogue
        act; see ``docs/extending.md``). For an item in a tool's result to count as grounded
        (the reply may name it), the tool's JSON content must carry it under an ``item_id`` key.
        Add tools before the toolkit serves its first turn: graphs cache the offered list.

        Args:
            tools: LangChain tools (``@tool`` functions or ``StructuredTool``).

        Returns:
            This toolkit.

        Raises:
            TypeError: something that is not a LangChain ``BaseTool``.
        """
        bad = [t for t in tools if not isinstance(t, BaseTool)]
        if bad:
            raise TypeError(f"not LangChain tools: {bad!r}; decorate functions with langchain_core.tools.tool")
        with self._lock:
            self._extra.extend(tools)
            self._tools = {}
        return self

    def with_tools(self, *tools: BaseTool) -> Toolkit:
        """A copy of this toolkit that also offers ``tools`` (the handles and caches are shared).

        Use it on the shared toolkit :meth:`load` returns, so other users of that toolkit do not
        see your tools.
        """
        twin = copy.copy(self)
        twin._tools, twin._extra = {}, list(self._extra)
        return twin.add_tools(*tools)

    # -- loading -----------------------------------------------------------------------
    @classmethod
    def load(cls, settings: Settings, domain: str, *, cache: bool = True, eager: bool = False) -> Toolkit:
        """A toolkit over the built artifacts of a domain.

        Args:
            settings: where the data home is.
            domain: ``movies`` or ``office``.
            cache: reuse the toolkit already loaded in this process for the same data home,
                domain and artifacts (handles are read-only, so sharing is safe).
            eager: load every handle now instead of on first use.

        Raises:
            NotBuiltError: the catalogue is not built.
        """
        store = ArtifactStore(settings.home, domain)
        manifest = store.manifest()
        if "catalog" not in manifest and not settings.database_url:
            store.path("catalog")  # raises NotBuiltError with the fix
        key = (
            str(settings.home),
            domain,
            json.dumps(manifest, sort_keys=True) + str(settings.database_url) + str(settings.chroma_url),
        )
        if cache:
            with _CACHE_LOCK:
                hit = _CACHE.get(key)
            if hit is not None:
                return hit.warm_up() if eager else hit
        tk = cls(domain, loaders=_loaders(settings, domain, store))
        _ = tk.db  # opens the catalogue now: a missing build fails here
        activate_built(store)  # the ONNX query encoder, when the build exported one
        if eager:
            tk.warm_up()
        if cache:
            with _CACHE_LOCK:
                tk = _CACHE.setdefault(key, tk)
        return tk


class _OnDemand:
    """Stands for a handle not loaded yet: the first attribute read loads it (``Toolkit._get``).

    Raises:
        ToolInputError: the handle could not be loaded (the caller, an LLM's tool call, sees why).
    """

    def __init__(self, toolkit: Toolkit, name: str) -> None:
        self._toolkit, self._name = toolkit, name

    def __getattr__(self, attr: str) -> Any:
        handle = self._toolkit._get(self._name)
        if handle is None:
            from crsagent.agent.errors import ToolInputError

            why = self._toolkit.missing.get(self._name, "not built")
            raise ToolInputError(f"the {self._name} model is not available ({why})")
        return getattr(handle, attr)


def _loaders(settings: Settings, domain: str, store: ArtifactStore) -> dict[str, Callable[[Toolkit], Any]]:
    def db(tk: Toolkit) -> Any:
        from crsagent.tools.catalog.db import ProductDB

        return ProductDB.for_domain(settings, domain)

    def index(tk: Toolkit) -> Any:
        from crsagent.tools.search.index import VectorIndex

        path = store.path("search")
        if settings.chroma_url:  # the published collection on a chroma server (tools/search/remote.py)
            from crsagent.tools.search.remote import collection_name

            return VectorIndex.load(
                path,
                embed=tk.embed,
                db=tk.db,
                chroma_url=settings.chroma_url,
                chroma_collection=collection_name(domain, path),
            )
        return VectorIndex.load(path, embed=tk.embed, db=tk.db)

    def linker(tk: Toolkit) -> Any:
        from crsagent.tools.linker.linker import EntityLinker

        aliases = tk.db.aliases() if hasattr(tk.db, "aliases") else None
        return EntityLinker.from_items(tk.items().values(), aliases)

    def lexicon(tk: Toolkit) -> Any:
        from crsagent.tools.linker.lexicon import AttributeLexicon

        return AttributeLexicon.from_items(tk.items().values())

    def cf(tk: Toolkit) -> Any:
        from crsagent.tools.cf.model import CFModel

        return CFModel.load(store.path("cf"))

    def seq(tk: Toolkit) -> Any:
        from crsagent.tools.seq import SeqModel

        return SeqModel.load(store.path("seq"))

    def intent(tk: Toolkit) -> Any:
        from crsagent.tools.intent import IntentScorer

        # the scorer keeps its own copy of the behaviour encoder; texts go through the cache
        return IntentScorer.load(store.path("intent"), embed_fn=tk.embed)

    def explainer(tk: Toolkit) -> Any:
        from crsagent.tools.explain.explainer import Explainer

        return Explainer(tk.db, tk.cf.neighbour_source() if tk.cf is not None else None)

    def prior(tk: Toolkit) -> Any:
        if not domain_spec(domain).dialogues:
            return None
        from crsagent.tools.prior.stage import NAME, load_built_prior

        # the train-half counts are built; the smoothing base comes from the data folder
        if store.has(NAME):
            return load_built_prior(store, settings.data_dir, tk.db.source_map("redial"))
        from crsagent.tools.prior.redial import load_prior

        log.warning("toolkit %s: no 'prior' artifact; learning the ReDial prior now (run `crsagent build`)", domain)
        return load_prior(settings.data_dir, tk.db.source_map("redial"))

    def itemsim(tk: Toolkit) -> Any:
        from crsagent.tools.prior.stage import load_built_itemsim

        return load_built_itemsim(store)

    def ranker(tk: Toolkit) -> Any:
        from crsagent.tools.ranker.stage import load_ranker

        return load_ranker(store)

    return {
        "db": db,
        "index": index,
        "linker": linker,
        "lexicon": lexicon,
        "cf": cf,
        "seq": seq,
        "intent": intent,
        "explainer": explainer,
        "prior": prior,
        "itemsim": itemsim,
        "ranker": ranker,
    }
