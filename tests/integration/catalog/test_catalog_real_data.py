"""The catalogue built from the real bundled data: counts, joins and a few known facts."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator

import pytest

from crsagent.agent.settings import Settings
from crsagent.tools.catalog.db import ProductDB
from crsagent.tools.catalog.schema import ItemFilter
from crsagent.tools.catalog.tool import make_catalog_tools

ML_MOVIES, REDIAL_MOVIES, OFFICE_ITEMS = 9_742, 6_583, 3_459


@pytest.fixture(scope="module")
def movies(movies_home: Settings) -> Iterator[ProductDB]:
    with ProductDB.for_domain(movies_home, "movies") as db:
        yield db


@pytest.fixture(scope="module")
def office(office_home: Settings) -> Iterator[ProductDB]:
    with ProductDB.for_domain(office_home, "office") as db:
        yield db


def test_joined_table_size(movies: ProductDB) -> None:
    n = movies.count()
    assert ML_MOVIES <= n <= ML_MOVIES + REDIAL_MOVIES
    stats = movies.meta()["stats"]
    assert stats["items"] == n
    assert stats["joined_by_imdb"] + stats["joined_by_title_year"] + stats["redial_only_items"] <= REDIAL_MOVIES
    assert stats["joined_items"] >= 4_000  # the data README: about 4,200 share an IMDb id


def test_every_source_movie_present_exactly_once(movies: ProductDB, movies_home: Settings) -> None:
    data = movies_home.data_dir
    with (data / "movielens-latest-small" / "movies.csv").open(encoding="utf-8") as fh:
        ml_ids = {row["movieId"] for row in csv.DictReader(fh)}
    redial_ids = set(json.loads((data / "redial" / "movie_info.json").read_text(encoding="utf-8")))
    ml_map, rd_map = movies.source_map("movielens"), movies.source_map("redial")
    assert set(ml_map) == ml_ids and len(ml_ids) == ML_MOVIES
    assert set(rd_map) == redial_ids and len(redial_ids) == REDIAL_MOVIES
    all_ids = movies.ids()
    assert set(ml_map.values()) <= all_ids and set(rd_map.values()) <= all_ids
    items = movies.all_items()
    ml_on_items = [i.ml_id for i in items if i.ml_id is not None]
    assert len(ml_on_items) == len(set(ml_on_items)) == ML_MOVIES  # one MovieLens movie per item
    assert all(re.fullmatch(r"tt\d{7,8}", i.item_id) for i in items)
    assert {i.item_id for i in items if i.redial_id is not None} == set(rd_map.values())


def test_known_facts(movies: ProductDB) -> None:
    baba = movies.get_item("tt2321549")
    assert (baba.title, baba.year) == ("The Babadook", 2014)
    assert "horror" in baba.genres and baba.redial_id is not None and baba.ml_id is not None
    assert baba.directors == ["Jennifer Kent"] and baba.mentions > 0
    matrix = movies.get_item("tt0133093")
    assert (matrix.title, matrix.year, matrix.ml_id) == ("The Matrix", 1999, 2571)
    assert matrix.rating_count > 200 and 3.5 < (matrix.rating_mean or 0) <= 5
    assert "Keanu Reeves" in matrix.cast and "sci-fi" in matrix.genres
    toy = movies.get_item("tt0114709")
    assert toy.title == "Toy Story" and toy.ml_id == 1
    assert "(no genres listed)" not in movies.genres()
    assert all(g == g.lower() for g in movies.genres())


def test_typical_filters(movies: ProductDB) -> None:
    f = ItemFilter(genres_any=["horror"], year_min=2014, year_max=2014)
    assert "tt2321549" in movies.filter_ids(f)
    top = movies.filter(ItemFilter(genres_any=["horror", "thriller"], year_min=1990, year_max=2010, min_rating=3.5))
    assert len(top) == 50 and all(1990 <= (i.year or 0) <= 2010 and (i.rating_mean or 0) >= 3.5 for i in top)
    assert [i.popularity for i in top] == sorted((i.popularity for i in top), reverse=True)
    nolan = movies.filter(ItemFilter(people=["Christopher Nolan"]), limit=None)
    assert any(i.title == "Inception" for i in nolan)


def test_tools_on_the_real_catalogue(movies: ProductDB) -> None:
    search, get = make_catalog_tools(movies)
    msg = search.invoke(
        {
            "name": "search_products",
            "args": {"filter": {"genres_any": ["horror"], "year_min": 2014, "year_max": 2014}, "limit": 50},
            "id": "1",
            "type": "tool_call",
        }
    )
    assert msg.status == "success" and "tt2321549" in [c.item_id for c in msg.artifact.items]


def test_office_catalogue(office: ProductDB, office_home: Settings) -> None:
    items = office.all_items()
    assert len(items) == OFFICE_ITEMS and all(i.item_id.startswith("amz-") for i in items)
    assert set(office.source_map("amazon").values()) == office.ids()
    assert not any(
        re.search(r"<\s*/?\s*(p|br|div|b|li|ul|span)\b|\{[^}]*:[^}]*;|&(amp|nbsp|quot);", i.plot) for i in items
    )
    hp = office.filter(ItemFilter(brand="hp"), limit=None)
    assert hp and all(i.brand and i.brand.lower() == "hp" for i in hp)
    with (office_home.data_dir / "amazon-office" / "valid.csv").open(encoding="utf-8") as fh:
        occurrences = sum(len(json.loads(r["history_item_id"])) + 1 for r in csv.DictReader(fh))
    assert sum(i.popularity for i in items) == occurrences  # popularity counts histories + targets
