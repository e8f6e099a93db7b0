"""Vector search over the real movies catalogue (bundled data, built by the pipeline)."""

from __future__ import annotations

import pytest

from crsagent.tools.catalog.db import ProductDB
from crsagent.tools.catalog.schema import ItemFilter
from crsagent.tools.search.stage import load_index


@pytest.fixture(scope="module")
def real(movies_home):
    db = ProductDB.for_domain(movies_home, "movies")
    index = load_index(movies_home, "movies", db=db)
    yield index, db
    index.close()
    db.close()


def test_index_covers_the_catalogue(real) -> None:
    index, db = real
    assert len(index) == db.count() > 10_000
    assert set(index.ids) == set(db.ids())


def test_semantic_query_returns_fitting_items(real) -> None:
    index, db = real
    hits = index.query("a scary horror movie about a haunted house and ghosts", k=10)
    assert len(hits) == 10
    items = db.get_items([h.item_id for h in hits])
    assert sum("horror" in it.genres for it in items) >= 7
    space = db.get_items([h.item_id for h in index.query("astronauts stranded in outer space", k=10)])
    assert sum("sci-fi" in it.genres for it in space) >= 6


def test_filtered_search_respects_every_constraint(real) -> None:
    index, db = real
    f = ItemFilter(genres_any=["comedy"], year_min=1990, year_max=1999, exclude_genres=["animation"])
    hits = index.query("friends on a road trip", k=50, filter=f)
    assert 10 <= len(hits) <= 50
    for it in db.get_items([h.item_id for h in hits]):
        assert "comedy" in it.genres and "animation" not in it.genres
        assert it.year is not None and 1990 <= it.year <= 1999


def test_chroma_search_agrees_with_exact_search(real) -> None:
    index, _ = real
    for text in ("a heist that goes wrong", "a dog and its owner", "world war two soldiers"):
        approx = [h.item_id for h in index.query(text, k=20)]
        exact = [h.item_id for h in index.query(text, k=20, candidate_ids=index.ids)]
        assert len(set(approx) & set(exact)) >= 18
        assert approx[0] == exact[0]
