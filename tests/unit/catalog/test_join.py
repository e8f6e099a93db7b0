"""Joining MovieLens and ReDial (IMDb id first, then title + year) and building office items."""

from __future__ import annotations

from pathlib import Path

import pytest

from crsagent.agent.errors import DataError
from crsagent.tools.catalog.build import build_domain, build_movies, build_office

from .conftest import ML_LINKS, ML_MOVIES, REDIAL


@pytest.fixture()
def movies(tiny_data: Path):
    return build_movies(tiny_data)


def _by_redial(data, rid: int):
    item_id = next(s.item_id for s in data.links if s.source == "redial" and s.source_id == str(rid))
    return next(i for i in data.items if i.item_id == item_id)


def test_every_source_id_maps_to_exactly_one_item(movies) -> None:
    ml = [s.source_id for s in movies.links if s.source == "movielens"]
    rd = [s.source_id for s in movies.links if s.source == "redial"]
    assert sorted(ml, key=int) == [str(m[0]) for m in ML_MOVIES]
    assert sorted(rd, key=int) == sorted(REDIAL, key=int)
    ids = [i.item_id for i in movies.items]
    assert len(ids) == len(set(ids))
    assert {s.item_id for s in movies.links} == set(ids)


def test_join_by_imdb_first(movies) -> None:
    matrix = _by_redial(movies, 100)
    assert matrix.item_id == "tt0133093" and matrix.ml_id == 1
    assert _by_redial(movies, 101).item_id == "tt0133093"  # ReDial lists it twice
    assert matrix.title == "The Matrix" and matrix.year == 1999
    assert matrix.redial_id == 100  # the primary entry: same title, most mentions
    assert matrix.mentions == 12  # 10 + 2
    assert matrix.rating_count == 3 and matrix.rating_mean == pytest.approx(4.5)
    assert matrix.popularity == 15.0
    assert matrix.genres == ["action", "sci-fi", "thriller"]  # merged, lower-case
    assert matrix.directors == ["Lana Wachowski"] and matrix.plot == "A hacker learns the truth."
    toy = _by_redial(movies, 106)  # double space before the year in the mentions file
    assert toy.item_id == "tt0114709" and toy.genres == ["adventure", "animation", "children", "comedy", "family"]


def test_join_by_title_and_year_when_imdb_differs(movies) -> None:
    baba = _by_redial(movies, 102)
    assert baba.item_id == "tt" + ML_LINKS[7] and baba.ml_id == 7  # IMDb id of MovieLens wins
    assert baba.title == "The Babadook" and baba.year == 2014 and "horror" in baba.genres
    seven = _by_redial(movies, 107)  # through MovieLens' a.k.a. title
    assert seven.ml_id == 4 and "Se7en" in movies.aliases[seven.item_id]


def test_join_a_year_apart_only_on_exact_title(movies) -> None:
    commuter = _by_redial(movies, 103)
    assert commuter.ml_id == 6 and commuter.year == 2018  # MovieLens' year is kept
    wonder = _by_redial(movies, 108)
    assert wonder.ml_id is None and wonder.item_id == "tt2543472" and wonder.year == 2017


def test_redial_only_items(movies) -> None:
    solo = _by_redial(movies, 104)
    assert _by_redial(movies, 105).item_id == solo.item_id == "tt0000104"
    assert solo.ml_id is None and solo.rating_mean is None and solo.rating_count == 0
    assert solo.redial_id == 105  # most mentions (4 > 3)
    assert solo.mentions == 7 and solo.popularity == 7.0


def test_movielens_only_items_and_no_genres(movies) -> None:
    unwatched = next(i for i in movies.items if i.ml_id == 5)
    assert unwatched.genres == [] and unwatched.redial_id is None and unwatched.rating_mean is None
    city = next(i for i in movies.items if i.ml_id == 3)
    assert city.title == "The City of Lost Children"
    assert movies.aliases[city.item_id] == ["La Cité des enfants perdus"]


def test_join_stats(movies) -> None:
    s = movies.stats
    assert s["items"] == len(movies.items) == 10  # 8 MovieLens + tt0000104 + Wonder
    assert s["joined_by_imdb"] == 3 and s["joined_by_title_year"] == 3
    assert s["redial_only_items"] == 2 and s["joined_items"] == 5


def test_office_items(tiny_data: Path) -> None:
    data = build_office(tiny_data)
    items = {i.item_id: i for i in data.items}
    hp = items["amz-0"]
    assert hp.title == "HP 74 Black & 75 Tri-color Ink" and hp.brand == "HP" and hp.source_id == "0"
    assert hp.plot == "Original HP ink & more."
    assert hp.popularity == 4.0  # three times in histories, once as a target
    assert items["amz-1"].popularity == 3.0 and items["amz-2"].popularity == 1.0
    assert items["amz-2"].brand is None and items["amz-2"].plot == ""
    assert items["amz-3"].plot == "It's a 12\" pen Blue ink"
    assert data.stats == {"items": 4, "sequences": 3, "unknown_sequence_ids": 0}
    assert {(s.source, s.source_id) for s in data.links} == {("amazon", k) for k in "0123"}


def test_unknown_domain(tiny_data: Path) -> None:
    with pytest.raises(DataError, match="unknown domain"):
        build_domain(tiny_data, "books")
