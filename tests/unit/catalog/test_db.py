"""ProductDB on a real SQLite catalogue built from the tiny fixture files."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import delete, inspect
from sqlalchemy.exc import DatabaseError

from crsagent.agent.errors import DataError, InvalidFilterError, NotBuiltError, UnknownItemError
from crsagent.agent.settings import Settings
from crsagent.tools.artifacts import ArtifactStore
from crsagent.tools.catalog.db import DB_FILE, ProductDB, as_filter
from crsagent.tools.catalog.schema import ItemFilter
from crsagent.tools.catalog.tables import items as items_table

HOSTILE = [
    "'; DROP TABLE items; --",
    '" OR 1=1 --',
    "%",
    "_",
    "%' OR '1'='1",
    "/",
    "x\x00y",
    "Robert'); DELETE FROM item_genres; --",
]


def test_counts_and_popularity_order(movies_db: ProductDB) -> None:
    assert movies_db.count() == 10
    ids = movies_db.filter_ids()
    pops = movies_db.popularity(ids)
    assert [pops[i] for i in ids] == sorted(pops.values(), reverse=True)
    assert ids[0] == "tt0114709"  # Toy Story: 2 ratings + 20 mentions


def test_filter_semantics(movies_db: ProductDB) -> None:
    def ids(**kw: object) -> set[str]:
        return set(movies_db.filter_ids(ItemFilter(**kw)))

    assert ids(genres_any=["HORROR"]) == {"tt2321549"}
    assert ids(genres_all=["action", "thriller"]) == {"tt0133093", "tt1590193"}
    assert "tt0133093" not in ids(exclude_genres=["sci-fi"])
    assert ids(year_min=2014, year_max=2017) == {"tt2321549", "tt2543472", "tt5765000"}
    assert ids(year_min=2017) == {"tt2543472", "tt1590193"}
    assert ids(people=["wachow"]) == {"tt0133093"}  # substring, case-insensitive
    assert ids(people=["lana wachowski", "nobody at all"]) == set()  # every name must match
    # ReDial's Babadook entry carries another film's IMDb id: its people are not the item's
    assert ids(people=["kent"]) == set()
    assert ids(min_rating=4.0) == {"tt0133093", "tt2321549"}  # Toy Story has 3.5
    assert ids(min_rating=3.5) == {"tt0133093", "tt2321549", "tt0114709"}
    assert ids(min_popularity=20) == {"tt0114709"}
    assert ids(include_ids=["tt0133093", "tt0000000"]) == {"tt0133093"}
    assert ids(include_ids=[]) == set()
    assert ids(exclude_ids=["tt0133093"]) == set(movies_db.filter_ids()) - {"tt0133093"}
    assert ids(text_contains="HACKER") == {"tt0133093"}  # plot
    assert ids(text_contains="babadook") == {"tt2321549"}  # title
    assert movies_db.count(ItemFilter(genres_any=["drama"], year_max=2016)) == 3


def test_filter_returns_full_items_and_orders(movies_db: ProductDB) -> None:
    top = movies_db.filter(ItemFilter(genres_any=["action", "horror"]), limit=2)
    assert [i.item_id for i in top] == ["tt0133093", "tt2321549"]
    assert top[0].title == "The Matrix" and top[0].directors == ["Lana Wachowski"]
    by_year = movies_db.filter_ids(ItemFilter(), order_by="year")
    assert by_year[:2] == ["tt1590193", "tt2543472"]  # 2018, 2017
    assert by_year[-3:] == ["tt0112682", "tt0114369", "tt0114709"]  # 1995, ties by id
    by_rating = movies_db.filter(None, limit=None, order_by="rating")
    ratings = [i.rating_mean for i in by_rating]
    rated = [r for r in ratings if r is not None]
    assert rated == sorted(rated, reverse=True) and ratings[len(rated) :] == [None] * (len(ratings) - len(rated))
    titles = [i.title.lower() for i in movies_db.filter(None, limit=None, order_by="title")]
    assert titles == sorted(titles)
    assert movies_db.filter(None, limit=0) == []


def test_get_items_preserves_order_and_reports_unknown(movies_db: ProductDB) -> None:
    got = movies_db.get_items(["tt2321549", "tt0133093", "tt2321549"])
    assert [i.item_id for i in got] == ["tt2321549", "tt0133093", "tt2321549"]
    with pytest.raises(UnknownItemError) as exc:
        movies_db.get_items(["tt0133093", "tt404", "nope"])
    assert exc.value.ids == ["nope", "tt404"] and "tt404" in str(exc.value)
    with pytest.raises(UnknownItemError):
        movies_db.get_item("'; DROP TABLE items; --")
    assert movies_db.get_item("tt0133093").ml_id == 1
    assert movies_db.get_items([]) == []


def test_all_items_has_popularity(movies_db: ProductDB) -> None:
    everything = movies_db.all_items()
    assert len(everything) == 10 and movies_db.all_items() == everything
    assert movies_db.has("tt0133093") and not movies_db.has("tt404")
    assert movies_db.popularity(["tt0133093", "tt404"]) == {"tt0133093": 15.0}


def test_source_map_aliases_genres_meta(movies_db: ProductDB) -> None:
    redial = movies_db.source_map("redial")
    assert redial["101"] == redial["100"] == "tt0133093" and len(redial) == 9
    assert movies_db.source_map("movielens")["7"] == "tt2321549"
    assert "Se7en" in movies_db.aliases()["tt0114369"]
    assert list(movies_db.genres())[0] in {"drama", "action", "thriller"}
    assert movies_db.meta()["stats"]["items"] == 10
    with pytest.raises(Exception, match="unknown source"):
        movies_db.source_map("netflix")


def test_absurd_filters_get_clear_errors(movies_db: ProductDB) -> None:
    with pytest.raises(InvalidFilterError, match="year_min \\(2010\\) is after year_max \\(1990\\)"):
        as_filter({"year_min": 2010, "year_max": 1990})
    with pytest.raises(InvalidFilterError, match="min_rating"):
        movies_db.filter({"min_rating": 9})
    with pytest.raises(InvalidFilterError, match="year_min"):
        movies_db.filter_ids({"year_min": 99999})
    with pytest.raises(InvalidFilterError, match="genres both required and excluded"):
        movies_db.count({"genres_all": ["Drama"], "exclude_genres": ["drama"]})
    with pytest.raises(InvalidFilterError, match="colour"):
        movies_db.filter({"colour": "red"})
    with pytest.raises(InvalidFilterError, match="order_by"):
        movies_db.filter(None, order_by="price; DROP TABLE items")
    with pytest.raises(InvalidFilterError, match="limit"):
        movies_db.filter(None, limit=-1)
    # The pydantic model itself refuses too (tool boundaries convert this error).
    with pytest.raises(ValidationError):
        ItemFilter(year_min=2010, year_max=1990)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_strings_are_data(movies_db: ProductDB, hostile: str) -> None:
    before = movies_db.count()
    f = ItemFilter(
        genres_any=[hostile],
        people=[hostile],
        text_contains=hostile,
        brand=hostile,
        include_ids=[hostile],
        exclude_ids=[hostile],
    )
    assert movies_db.filter_ids(f) == []
    assert movies_db.filter_ids(ItemFilter(text_contains=hostile)) == []  # % and _ are literal
    assert set(movies_db.filter_ids(ItemFilter(exclude_ids=[hostile], exclude_genres=[hostile]))) == set(
        movies_db.filter_ids()
    )
    assert movies_db.count() == before == 10
    assert set(inspect(movies_db.engine).get_table_names()) >= {"items", "item_genres", "item_people"}


def test_read_only_connection_cannot_write(movies_db: ProductDB) -> None:
    with pytest.raises(DatabaseError, match="readonly|read-only|query_only|not authorized"):
        with movies_db.engine.begin() as conn:
            conn.execute(delete(items_table))
    assert movies_db.count() == 10


def test_open_errors(tmp_path: Path, tiny_settings: Settings) -> None:
    with pytest.raises(DataError, match="no catalogue database"):
        ProductDB.open(tmp_path / "missing.sqlite")
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("create table t (x)").connection.commit()
    with pytest.raises(DataError, match="no 'items' table"):
        ProductDB.open(other)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DataError, match="cannot open"):
        ProductDB.open(junk)
    with pytest.raises(NotBuiltError, match="crsagent build --domain movies"):
        ProductDB.for_domain(tiny_settings, "movies")


def test_for_domain_honours_database_url(built_settings: Settings) -> None:
    path = ArtifactStore(built_settings.home, "movies").path("catalog") / DB_FILE
    with ProductDB.for_domain(replace(built_settings, database_url=f"sqlite:///{path}"), "movies") as db:
        assert db.count() == 10 and db.domain == "movies"
    with ProductDB.for_domain(replace(built_settings, database_url=f"sqlite:///{path}"), "office") as db:
        assert db.count() == 0  # the URL's database holds only movies


def test_load_into_and_export_round_trip(movies_db: ProductDB, office_db: ProductDB, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'both.sqlite'}"
    ProductDB.load_into(url, movies_db.export())
    ProductDB.load_into(url, office_db.export())
    ProductDB.load_into(url, movies_db.export())  # replacing a domain leaves the other alone
    with ProductDB.open(url, domain="movies") as m, ProductDB.open(url, domain="office") as o:
        assert m.all_items() == movies_db.all_items() and o.all_items() == office_db.all_items()
        assert m.source_map("redial") == movies_db.source_map("redial")
        assert m.aliases() == movies_db.aliases()
        f = ItemFilter(genres_any=["drama"], min_rating=1)
        assert m.filter_ids(f) == movies_db.filter_ids(f)
        assert o.filter_ids(ItemFilter(brand=" hp ")) == ["amz-0"]
    with ProductDB.open(url) as both:
        assert both.count() == 14


def test_office_filters(office_db: ProductDB) -> None:
    assert office_db.filter_ids(ItemFilter(brand="swingline")) == ["amz-1"]
    assert office_db.filter_ids(ItemFilter(text_contains="ink")) == ["amz-0", "amz-3"]
    assert office_db.filter_ids(ItemFilter(year_min=2000)) == []  # no years in office
    item = office_db.get_item("amz-0")
    assert item.domain == "office" and "<" not in item.plot
