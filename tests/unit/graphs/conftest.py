"""Small fakes of the domain tools for unit tests of the graph's logic.

The catalogue is twelve hand-made movies; the fakes implement the tool interfaces the graph
uses (``filter_ids``, ``link``, ``extract``, ``recommend``, ``query``, ``score``) with plain
Python so every expected answer can be worked out by hand. Integration tests use the real
tools over the real build.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from langchain_core.tools import StructuredTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from pydantic import BaseModel, Field

from crsagent.agent.errors import UnknownItemError
from crsagent.graphs.context import CRSContext
from crsagent.tools.catalog.schema import Item, ItemFilter, ScoredItem
from crsagent.tools.linker.linker import Mention
from crsagent.tools.toolkit import Toolkit


def _m(i: int, title: str, year: int, genres: str, director: str, pop: float, cast: str = "") -> Item:
    return Item(
        item_id=f"tt{i:07d}",
        domain="movies",
        title=title,
        year=year,
        genres=genres.split("|"),
        directors=[director],
        cast=[c for c in cast.split("|") if c],
        plot=f"A {genres.replace('|', ' ')} film.",
        popularity=pop,
    )


ITEMS: list[Item] = [
    _m(1, "The Babadook", 2014, "horror|drama", "Jennifer Kent", 40, "Essie Davis"),
    _m(2, "It Follows", 2014, "horror|mystery", "David Robert Mitchell", 35, "Maika Monroe"),
    _m(3, "Get Out", 2017, "horror|mystery|thriller", "Jordan Peele", 80, "Daniel Kaluuya"),
    _m(4, "Hereditary", 2018, "horror|drama|mystery", "Ari Aster", 50, "Toni Collette"),
    _m(5, "The Shining", 1980, "horror|drama", "Stanley Kubrick", 90, "Jack Nicholson"),
    _m(6, "Toy Story", 1995, "animation|comedy|children", "John Lasseter", 100, "Tom Hanks"),
    _m(7, "Paddington 2", 2017, "comedy|children|adventure", "Paul King", 30, "Ben Whishaw"),
    _m(8, "Us", 2019, "horror|thriller", "Jordan Peele", 45, "Lupita Nyong'o"),
    _m(9, "The Witch", 2015, "horror|drama", "Robert Eggers", 25, "Anya Taylor-Joy"),
    _m(10, "Alien", 1979, "horror|sci-fi", "Ridley Scott", 85, "Sigourney Weaver"),
    _m(11, "Superbad", 2007, "comedy", "Greg Mottola", 60, "Jonah Hill"),
    _m(12, "Arrival", 2016, "sci-fi|drama", "Denis Villeneuve", 55, "Amy Adams"),
]
BY_ID = {i.item_id: i for i in ITEMS}
BABADOOK, IT_FOLLOWS, GET_OUT, HEREDITARY, SHINING = (f"tt{i:07d}" for i in range(1, 6))
TOY_STORY, PADDINGTON, US, WITCH, ALIEN, SUPERBAD, ARRIVAL = (f"tt{i:07d}" for i in range(6, 13))


def passes(item: Item, f: ItemFilter) -> bool:
    """A pure-Python ItemFilter (the subset the graph uses)."""
    if f.genres_any and not set(f.genres_any) & set(item.genres):
        return False
    if set(f.exclude_genres) & set(item.genres):
        return False
    if f.year_min is not None and (item.year is None or item.year < f.year_min):
        return False
    if f.year_max is not None and (item.year is None or item.year > f.year_max):
        return False
    if f.include_ids is not None and item.item_id not in f.include_ids:
        return False
    if item.item_id in f.exclude_ids:
        return False
    if f.brand is not None and (item.brand or "").lower() != f.brand.lower():
        return False
    names = [n.lower() for n in item.directors + item.writers + item.cast]
    return all(any(p.lower() in n for n in names) for p in f.people)


class FakeDB:
    """The ProductDB methods the graph calls, over ``ITEMS``."""

    domain = "movies"

    def __init__(self, items: Sequence[Item] = ITEMS) -> None:
        self.items = list(items)
        self.calls: list[ItemFilter] = []

    def all_items(self) -> list[Item]:
        return sorted(self.items, key=lambda i: -i.popularity)

    def filter_ids(
        self, f: ItemFilter | None = None, limit: int | None = None, order_by: str = "popularity"
    ) -> list[str]:
        f = f or ItemFilter()
        self.calls.append(f)
        ids = [i.item_id for i in self.all_items() if passes(i, f)]
        return ids if limit is None else ids[:limit]

    def get_items(self, ids: Sequence[str]) -> list[Item]:
        missing = [i for i in ids if i not in BY_ID]
        if missing:
            raise UnknownItemError(missing)
        return [BY_ID[i] for i in ids]

    def aliases(self) -> dict[str, list[str]]:
        return {}


class FakeLinker:
    """Case-insensitive exact title matching, longest title first, no overlaps."""

    def __init__(self, items: Sequence[Item] = ITEMS) -> None:
        self.items = sorted(items, key=lambda i: -len(i.title))

    def link(self, text: str, min_confidence: float | None = None) -> list[Mention]:
        low, taken, out = text.lower(), [False] * len(text), []
        for it in self.items:
            for m in re.finditer(r"\b" + re.escape(it.title.lower()) + r"\b", low):
                if any(taken[m.start() : m.end()]):
                    continue
                for k in range(m.start(), m.end()):
                    taken[k] = True
                out.append(
                    Mention(
                        item_id=it.item_id,
                        start=m.start(),
                        end=m.end(),
                        surface=text[m.start() : m.end()],
                        title=it.title,
                        year=it.year,
                        confidence=0.9,
                    )
                )
        return sorted(out, key=lambda m: m.start)


@dataclass
class Extraction:
    genres_liked: list[str] = field(default_factory=list)
    genres_disliked: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    brands: list[str] = field(default_factory=list)


class FakeLexicon:
    """Genres (with "no X" negation), "after/before YYYY", and director surnames."""

    GENRES = ("horror", "comedy", "drama", "sci-fi", "thriller", "animation", "mystery")

    def extract(self, text: str) -> Extraction:
        low, ex = text.lower(), Extraction()
        for g in self.GENRES:
            if re.search(rf"\b(no|not|hate) {re.escape(g)}", low):
                ex.genres_disliked.append(g)
            elif re.search(rf"\b{re.escape(g)}\b", low):
                ex.genres_liked.append(g)
        if m := re.search(r"after (\d{4})", low):
            ex.year_min = int(m.group(1)) + 1
        if m := re.search(r"before (\d{4})", low):
            ex.year_max = int(m.group(1)) - 1
        for it in ITEMS:
            for d in it.directors:
                if d.split()[-1].lower() in low.split():
                    ex.people.append(d)
        ex.people = list(dict.fromkeys(ex.people))
        return ex


class FakeCF:
    """Scores items by genre overlap with the liked items (disliked overlap subtracts)."""

    def recommend(
        self,
        liked: Sequence[str],
        disliked: Sequence[str] = (),
        k: int = 50,
        candidate_ids: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
    ) -> list[ScoredItem]:
        for i in list(liked) + list(disliked):
            if i not in BY_ID:
                raise UnknownItemError([i])
        like = {g for i in liked for g in BY_ID[i].genres}
        dis = {g for i in disliked for g in BY_ID[i].genres}
        pool = candidate_ids if candidate_ids is not None else list(BY_ID)
        drop = set(liked) | set(disliked) | set(exclude)
        scored = [
            (i, len(like & set(BY_ID[i].genres)) - 0.5 * len(dis & set(BY_ID[i].genres))) for i in pool if i not in drop
        ]
        scored.sort(key=lambda t: (-t[1], t[0]))
        return [ScoredItem(item_id=i, score=float(s)) for i, s in scored[:k]]

    def recommend_scores(
        self,
        liked: Sequence[str],
        disliked: Sequence[str] = (),
        k: int = 50,
        candidate_ids: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
    ) -> dict[str, float]:
        return {h.item_id: h.score for h in self.recommend(liked, disliked, k, candidate_ids, exclude)}


class FakeIndex:
    """Word overlap between the query and an item's title, genres and plot."""

    def query(
        self, text: str, k: int = 10, filter: Any = None, candidate_ids: Sequence[str] | None = None, db: Any = None
    ) -> list[ScoredItem]:
        words = set(re.findall(r"[a-z-]+", text.lower()))
        pool = candidate_ids if candidate_ids is not None else list(BY_ID)
        out = []
        for i in pool:
            it = BY_ID[i]
            doc = set(re.findall(r"[a-z-]+", f"{it.title} {' '.join(it.genres)} {it.plot}".lower()))
            out.append((i, len(words & doc) / (len(words) or 1)))
        out.sort(key=lambda t: (-t[1], t[0]))
        return [ScoredItem(item_id=i, score=s) for i, s in out[:k]]

    def query_scores(
        self, text: str, k: int = 10, filter: Any = None, candidate_ids: Sequence[str] | None = None, db: Any = None
    ) -> dict[str, float]:
        return {h.item_id: h.score for h in self.query(text, k, filter, candidate_ids, db)}

    # item embeddings: one axis per genre of the catalogue, unit length
    _AXES = sorted({g for it in ITEMS for g in it.genres})

    def __contains__(self, item_id: object) -> bool:
        return item_id in BY_ID

    def item_vectors(self, ids: Sequence[str]) -> list[list[float]]:
        rows = []
        for i in ids:
            v = [1.0 if g in BY_ID[i].genres else 0.0 for g in self._AXES]
            n = sum(x * x for x in v) ** 0.5 or 1.0
            rows.append([x / n for x in v])
        return rows

    def vector_scores(
        self,
        vec: Sequence[float],
        k: int = 10,
        candidate_ids: Sequence[str] | None = None,
        exclude_ids: Sequence[str] = (),
    ) -> dict[str, float]:
        pool = [i for i in (candidate_ids if candidate_ids is not None else list(BY_ID)) if i not in set(exclude_ids)]
        out = [(i, sum(a * b for a, b in zip(vec, self.item_vectors([i])[0]))) for i in pool]
        out.sort(key=lambda t: (-t[1], t[0]))
        return dict(out[:k])


@dataclass
class IntentResult:
    intents: list[tuple[int, float, str]]
    items: list[ScoredItem]


class FakeIntent:
    """One intent, "spooky horror", that favours horror items."""

    def score(
        self, liked_ids: Sequence[str], dialogue_text: str, k: int = 50, candidate_ids: Sequence[str] | None = None
    ) -> IntentResult:
        pool = candidate_ids if candidate_ids is not None else list(BY_ID)
        items = [ScoredItem(item_id=i, score=1.0 if "horror" in BY_ID[i].genres else 0.1) for i in pool]
        items.sort(key=lambda s: (-s.score, s.item_id))
        return IntentResult(intents=[(0, 0.9, "spooky horror")], items=items[:k])

    def score_pairs(
        self, liked_ids: Sequence[str], dialogue_text: str, k: int = 50, candidate_ids: Sequence[str] | None = None
    ) -> tuple[list[tuple[int, float, str]], dict[str, float]]:
        res = self.score(liked_ids, dialogue_text, k, candidate_ids)
        return res.intents, {h.item_id: h.score for h in res.items}


class GetItemsArgs(BaseModel):
    ids: list[str] = Field(min_length=1, description="catalogue ids")


class SearchArgs(BaseModel):
    query: str = Field(min_length=1)
    k: int = Field(default=5, ge=1, le=50)


def fake_tools() -> list[Any]:
    """``get_items`` and ``vector_search`` over the fakes, as LangChain tools with pydantic args."""
    db, index = FakeDB(), FakeIndex()

    def get_items(ids: list[str]) -> str:
        got = db.get_items(ids)
        return json.dumps(
            {"items": [i.model_dump(mode="json", include={"item_id", "title", "directors"}) for i in got]}
        )

    def vector_search(query: str, k: int = 5) -> str:
        return json.dumps({"items": [h.model_dump() for h in index.query(query, k=k)]})

    return [
        StructuredTool.from_function(
            get_items, name="get_items", description="Facts of items by id.", args_schema=GetItemsArgs
        ),
        StructuredTool.from_function(
            vector_search, name="vector_search", description="Semantic search.", args_schema=SearchArgs
        ),
    ]


def make_toolkit(**overrides: Any) -> Toolkit:
    """A toolkit of fakes (override or remove a handle with ``name=None``)."""
    handles: dict[str, Any] = {
        "db": FakeDB(),
        "linker": FakeLinker(),
        "lexicon": FakeLexicon(),
        "cf": FakeCF(),
        "index": FakeIndex(),
        "intent": FakeIntent(),
        "explainer": None,
        "tools": fake_tools(),
    }
    handles.update(overrides)
    return Toolkit("movies", **handles)


@pytest.fixture
def toolkit() -> Toolkit:
    """A toolkit of fakes over the twelve-movie catalogue."""
    return make_toolkit()


@pytest.fixture
def ctx(toolkit: Toolkit) -> CRSContext:
    """A run context without an LLM."""
    return CRSContext(toolkit=toolkit)


@dataclass
class FakeRuntime:
    """What nodes read from LangGraph's ``Runtime``: ``context`` and ``store``."""

    context: CRSContext
    store: Any = None


@pytest.fixture
def runtime(ctx: CRSContext) -> FakeRuntime:
    """A runtime over the fake toolkit, with an in-memory store."""
    return FakeRuntime(context=ctx, store=InMemoryStore())


@pytest.fixture
def memory() -> tuple[InMemorySaver, InMemoryStore]:
    """An in-memory checkpointer and store."""
    return InMemorySaver(), InMemoryStore()


@pytest.fixture
def fakes() -> Any:
    """The fake classes and catalogue constants, for tests that build their own."""
    import sys

    return sys.modules[__name__]
