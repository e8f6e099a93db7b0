"""Property: ``ProductDB.filter_ids`` equals a pure-Python filter over the same rows.

The reference below restates the documented semantics of :class:`ItemFilter` independently
of the SQL translation; hypothesis draws item sets and filters whose values overlap (so
filters match some items), including LIKE metacharacters and non-ASCII text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from crsagent.tools.catalog.build import CatalogData
from crsagent.tools.catalog.db import ProductDB
from crsagent.tools.catalog.schema import Item, ItemFilter
from crsagent.tools.catalog.tables import write_catalog

WORDS = ["Star", "star", "WARS", "100%", "1000", "a_b", "axb", "o/p", "Ünïcode", "ß", "the", " ", "'", "x"]
GENRES = ["drama", "Horror", "sci-fi", " comedy ", "film-noir"]
PEOPLE = ["Ann Lee", "ann", "Bob O'Neil", "Zoë Ångström", "AL_X", "ALEX", "50% man"]
BRANDS = ["HP", "hp ", "Bic", "3M", None]

texts = st.lists(st.sampled_from(WORDS), max_size=3).map(" ".join)
query_text = st.one_of(
    st.sampled_from(WORDS), texts, st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=3)
)


@st.composite
def item_sets(draw: st.DrawFn) -> list[Item]:
    n = draw(st.integers(min_value=0, max_value=30))
    out = []
    for k in range(n):
        out.append(
            Item(
                item_id=f"tt{k:07d}",
                domain="movies",
                title=draw(texts) or "untitled",
                year=draw(st.one_of(st.none(), st.integers(1990, 2000))),
                genres=draw(st.lists(st.sampled_from(GENRES), max_size=3, unique=True)),
                directors=draw(st.lists(st.sampled_from(PEOPLE), max_size=2, unique=True)),
                writers=draw(st.lists(st.sampled_from(PEOPLE), max_size=1)),
                cast=draw(st.lists(st.sampled_from(PEOPLE), max_size=2, unique=True)),
                plot=draw(texts),
                brand=draw(st.sampled_from(BRANDS)),
                rating_mean=draw(st.one_of(st.none(), st.sampled_from([0.5, 2.0, 3.5, 3.75, 5.0]))),
                popularity=float(draw(st.integers(0, 5))),
            )
        )
    return out


FIELDS = [
    "genres_any", "genres_all", "exclude_genres", "year_min", "year_max", "people", "brand",
    "min_rating", "min_popularity", "include_ids", "exclude_ids", "text_contains",
]  # fmt: skip


@st.composite
def filters(draw: st.DrawFn) -> ItemFilter:
    """A filter setting one to three fields (more would rarely match anything)."""
    ids = st.lists(st.sampled_from([f"tt{k:07d}" for k in range(30)] + ["'; DROP TABLE items; --"]), max_size=8)
    genre_vals = st.sampled_from(GENRES + ["HORROR", "western", "%"])
    values = {
        "genres_any": st.lists(genre_vals, min_size=1, max_size=3),
        "genres_all": st.lists(genre_vals, min_size=1, max_size=2),
        "exclude_genres": st.lists(genre_vals, min_size=1, max_size=2),
        "year_min": st.integers(1989, 2001),
        "year_max": st.integers(1989, 2001),
        "people": st.lists(
            st.one_of(st.sampled_from(PEOPLE + ["lee", "%", "_", "o'n"]), query_text), min_size=1, max_size=2
        ),
        "brand": st.sampled_from(["hp", "HP", " bic", "3m", "nobrand", "%"]),
        "min_rating": st.sampled_from([0.0, 2.0, 3.75, 5.0]),
        "min_popularity": st.integers(0, 6).map(float),
        "include_ids": ids,
        "exclude_ids": ids,
        "text_contains": query_text,
    }
    chosen = draw(st.sets(st.sampled_from(FIELDS), min_size=1, max_size=3))
    kw: dict[str, Any] = {name: draw(values[name]) for name in sorted(chosen)}
    if "year_min" in kw and "year_max" in kw and kw["year_min"] > kw["year_max"]:
        kw["year_min"], kw["year_max"] = kw["year_max"], kw["year_min"]
    if "genres_all" in kw and "exclude_genres" in kw:
        low = {g.strip().lower() for g in kw["genres_all"]}
        kw["exclude_genres"] = [g for g in kw["exclude_genres"] if g.strip().lower() not in low]
    return ItemFilter(**kw)


def _n(s: str) -> str:
    return s.strip().lower()


def reference(items: list[Item], f: ItemFilter) -> list[str]:
    """The documented filter semantics in plain Python; popularity desc, then id."""

    def ok(it: Item) -> bool:
        genres = {_n(g) for g in it.genres}
        people = [p.lower() for p in it.directors + it.writers + it.cast]
        return all(
            [
                not f.genres_any or bool(genres & {_n(g) for g in f.genres_any}),
                all(_n(g) in genres for g in f.genres_all),
                not genres & {_n(g) for g in f.exclude_genres},
                f.year_min is None or (it.year is not None and it.year >= f.year_min),
                f.year_max is None or (it.year is not None and it.year <= f.year_max),
                all(any(_n(q) in p for p in people) for q in f.people),
                f.brand is None or (it.brand is not None and _n(it.brand) == _n(f.brand)),
                f.min_rating is None or (it.rating_mean is not None and it.rating_mean >= f.min_rating),
                f.min_popularity is None or it.popularity >= f.min_popularity,
                f.include_ids is None or it.item_id in f.include_ids,
                it.item_id not in f.exclude_ids,
                f.text_contains is None
                or _n(f.text_contains) in it.title.lower()
                or _n(f.text_contains) in it.plot.lower(),
            ]
        )

    return [i.item_id for i in sorted((i for i in items if ok(i)), key=lambda i: (-i.popularity, i.item_id))]


@pytest.fixture(params=[True, False], ids=["genre-bits", "genre-join"])
def make_db(request: pytest.FixtureRequest) -> Iterator:
    """Builds an in-memory catalogue; genres are tested by bit mask, then by join table."""
    engines = []

    def make(items: list[Item]) -> ProductDB:
        engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
        engines.append(engine)
        write_catalog(engine, CatalogData("movies", items, []))
        return ProductDB(engine, domain="movies", use_genre_bits=request.param)

    yield make
    for e in engines:
        e.dispose()


def _it(k: int, title: str, people: list[str], plot: str = "") -> Item:
    return Item(item_id=f"tt{k:07d}", domain="movies", title=title, cast=people, plot=plot, popularity=float(k))


# LIKE metacharacters must match literally: "%" and "_" in a query are not wildcards.
_LIKE_ITEMS = [_it(1, "100% pure", ["AL_X"]), _it(2, "1000 ways", ["ALEX"], plot="axb"), _it(3, "a_b", ["o/p"], "o/p")]
_LIKE_FILTERS = [
    ItemFilter(people=["l_x"]), ItemFilter(people=["%"]), ItemFilter(text_contains="0%"),
    ItemFilter(text_contains="a_b"), ItemFilter(text_contains="_"), ItemFilter(people=["o/p"]),
]  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(items=_LIKE_ITEMS, fs=_LIKE_FILTERS)
@given(items=item_sets(), fs=st.lists(filters(), min_size=1, max_size=5))
def test_filter_ids_equals_python_filter(make_db, items: list[Item], fs: list[ItemFilter]) -> None:
    db = make_db(items)
    for f in fs:
        expected = reference(items, f)
        assert db.filter_ids(f) == expected
        assert db.count(f) == len(expected)
        assert [i.item_id for i in db.filter(f, limit=3)] == expected[:3]
    assert db.count() == len(items)  # hostile values changed nothing


def test_reference_is_not_trivial() -> None:
    """Guard the property test: its strategies produce filters that match some but not all items."""
    items = [
        Item(item_id="tt0000001", domain="movies", title="Star Wars", genres=["sci-fi"], popularity=2),
        Item(item_id="tt0000002", domain="movies", title="100% drama", genres=["drama"], brand="HP"),
    ]
    assert reference(items, ItemFilter(text_contains="100%")) == ["tt0000002"]
    assert reference(items, ItemFilter(genres_any=["SCI-FI "])) == ["tt0000001"]
    assert reference(items, ItemFilter(brand="hp")) == ["tt0000002"]
    assert reference(items, ItemFilter()) == ["tt0000001", "tt0000002"]


def test_more_genres_than_bits(make_db) -> None:
    """Genres beyond the 62 bits are matched through the join table, with the same results."""
    genres = [f"g{k:02d}" for k in range(70)]
    items = [
        Item(
            item_id=f"tt{k:07d}",
            domain="movies",
            title=f"t{k}",
            genres=[genres[k % 70], genres[(k * 7) % 70]],
            popularity=float(k % 9),
        )
        for k in range(140)
    ]
    db = make_db(items)
    if db.use_genre_bits:
        assert db.genre_bits is not None and not db.genre_bits.complete and len(db.genre_bits.bits) == 62
    for f in [
        ItemFilter(genres_any=["g69", "g00"]),
        ItemFilter(genres_any=["g65"]),
        ItemFilter(genres_all=["g03", "g21"]),
        ItemFilter(genres_all=["g66"], exclude_genres=["g02"]),
        ItemFilter(exclude_genres=["g64", "g01", "nope"]),
        ItemFilter(genres_any=["nope"]),
    ]:
        assert db.filter_ids(f) == reference(items, f)
