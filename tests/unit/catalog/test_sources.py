"""Raw-file readers: good files parse; missing files, columns and bad JSON raise DataError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crsagent.agent.errors import DataError
from crsagent.tools.catalog import sources as src

from .conftest import write_csv


def test_readers_parse_the_tiny_files(tiny_data: Path) -> None:
    ml, rd, of = src.movielens_files(tiny_data), src.redial_files(tiny_data), src.office_files(tiny_data)
    movies = src.read_movielens_movies(ml["movies"])
    assert movies[0].ml_id == 1 and movies[0].title == "Matrix, The (1999)"
    assert movies[0].genres == ("Action", "Sci-Fi", "Thriller")
    assert src.read_movielens_links(ml["links"])[1] == "tt0133093"
    stats = src.read_movielens_rating_stats(ml["ratings"])
    assert stats[1].count == 3 and stats[1].mean == pytest.approx(4.5)
    assert src.read_movielens_tags(ml["tags"]) == {1: {"cyberpunk": 2}}
    redial = {m.redial_id: m for m in src.read_redial_movies(rd["movie_info"])}
    assert redial[102].imdb_id == "tt9999991" and redial[102].directors == ("Jennifer Kent",)
    assert src.read_redial_mentions(rd["mentions"])[106] == 20
    items = src.read_office_items(of["items"])
    assert [i.source_id for i in items] == ["0", "1", "2", "3"]
    seqs = src.read_office_sequences(of["valid"])
    assert seqs[2].history == ("1", "0", "3") and seqs[2].target == "0"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found") as exc:
        src.read_movielens_movies(tmp_path / "movies.csv")
    assert exc.value.path == tmp_path / "movies.csv"


def test_missing_column(tmp_path: Path) -> None:
    p = tmp_path / "movies.csv"
    write_csv(p, ["movieId", "name"], [(1, "x")])
    with pytest.raises(DataError, match=r"missing column\(s\) \['title', 'genres'\]"):
        src.read_movielens_movies(p)


def test_non_integer_id(tmp_path: Path) -> None:
    p = tmp_path / "links.csv"
    write_csv(p, ["movieId", "imdbId"], [("abc", "0114709")])
    with pytest.raises(DataError, match="line 2: column 'movieId' is not an integer"):
        src.read_movielens_links(p)


def test_rating_out_of_range(tmp_path: Path) -> None:
    p = tmp_path / "ratings.csv"
    write_csv(p, ["userId", "movieId", "rating"], [(1, 1, 9.0)])
    with pytest.raises(DataError, match="outside 0-5"):
        src.read_movielens_rating_stats(p)


def test_bad_json(tmp_path: Path) -> None:
    p = tmp_path / "movie_info.json"
    p.write_text('{"1": {"name": "x"')
    with pytest.raises(DataError, match="malformed JSON"):
        src.read_redial_movies(p)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2], "expected a JSON object"),
        ({"1": "x"}, "expected an object"),
        ({"abc": {"name": "x"}}, "ReDial ids are integers"),
        ({"1": {"genre": []}}, "missing 'name'"),
        ({"1": {"name": "x", "genre": 5}}, "'genre' must be a list"),
    ],
)
def test_bad_redial_entries(tmp_path: Path, payload: object, message: str) -> None:
    p = tmp_path / "movie_info.json"
    p.write_text(json.dumps(payload))
    with pytest.raises(DataError, match=message):
        src.read_redial_movies(p)


def test_bad_office_history(tmp_path: Path) -> None:
    p = tmp_path / "valid.csv"
    write_csv(p, ["user_id", "history_item_id", "item_id"], [("u", "not a list", 3)])
    with pytest.raises(DataError, match="history_item_id is not a list"):
        src.read_office_sequences(p)


def test_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "movies.csv"
    p.write_bytes(b"movieId,title,genres\n1,\xff\xfe,Drama\n")
    with pytest.raises(DataError, match="not UTF-8"):
        src.read_movielens_movies(p)
