"""The same catalogue and Core queries on a real PostgreSQL server give the same answers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError

from crsagent.agent.settings import Settings
from crsagent.tools.catalog.db import ProductDB
from crsagent.tools.catalog.schema import ItemFilter
from crsagent.tools.catalog.tables import items as items_table

pytestmark = pytest.mark.postgres

FILTERS = [
    ItemFilter(),
    ItemFilter(genres_any=["horror", "Thriller"], year_min=1990, year_max=2010, min_rating=3.5),
    ItemFilter(genres_all=["action", "sci-fi"], exclude_genres=["comedy"]),
    ItemFilter(people=["nolan"]),
    ItemFilter(people=["Tom Hanks", "spielberg"]),
    ItemFilter(text_contains="Space"),
    ItemFilter(text_contains="100%"),
    ItemFilter(text_contains="'; DROP TABLE items; --", people=["_"]),
    ItemFilter(min_popularity=100, exclude_ids=["tt0133093"]),
    ItemFilter(include_ids=["tt0133093", "tt2321549", "tt404"]),
    ItemFilter(brand="hp"),
]


@pytest.fixture(scope="module")
def both(movies_home: Settings, postgres_url: str) -> Iterator[tuple[ProductDB, ProductDB]]:
    with ProductDB.for_domain(movies_home, "movies") as lite:
        ProductDB.load_into(postgres_url, lite.export())
        with ProductDB.for_domain(replace(movies_home, database_url=postgres_url), "movies") as pg:
            yield lite, pg


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: f.model_dump_json(exclude_defaults=True)[:60])
@pytest.mark.parametrize("order_by", ["popularity", "rating", "year"])
def test_same_results_as_sqlite(both: tuple[ProductDB, ProductDB], f: ItemFilter, order_by: str) -> None:
    lite, pg = both
    assert pg.filter_ids(f, limit=200, order_by=order_by) == lite.filter_ids(f, limit=200, order_by=order_by)
    assert pg.count(f) == lite.count(f)


def test_records_sources_and_aliases_round_trip(both: tuple[ProductDB, ProductDB]) -> None:
    lite, pg = both
    assert pg.get_items(["tt2321549", "tt0133093"]) == lite.get_items(["tt2321549", "tt0133093"])
    assert pg.source_map("redial") == lite.source_map("redial")
    assert pg.aliases() == lite.aliases()
    assert pg.meta()["stats"] == lite.meta()["stats"]


def test_read_only_on_postgres(both: tuple[ProductDB, ProductDB]) -> None:
    lite, pg = both
    with pytest.raises(DBAPIError, match="read-only"):
        with pg.engine.begin() as conn:
            conn.execute(delete(items_table))
    assert pg.count() == lite.count()
