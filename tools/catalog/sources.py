"""Readers for the raw dataset files in ``data/``.

Each reader checks that the file exists and has the columns or keys it needs, and raises
:class:`~crsagent.agent.errors.DataError` (with the file's path) when it does not, so a
build fails before it writes anything. Readers return plain frozen records; joining and
cleaning happen in :mod:`crsagent.tools.catalog.build`.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crsagent.agent.errors import DataError

__all__ = [
    "MovieLensMovie",
    "RatingStats",
    "RedialMovie",
    "OfficeItem",
    "OfficeSequence",
    "movielens_files",
    "redial_files",
    "office_files",
    "read_movielens_movies",
    "read_movielens_links",
    "read_movielens_rating_stats",
    "read_movielens_tags",
    "read_redial_movies",
    "read_redial_mentions",
    "read_office_items",
    "read_office_sequences",
]

ML_DIR, REDIAL_DIR, OFFICE_DIR = "movielens-latest-small", "redial", "amazon-office"


@dataclass(frozen=True, slots=True)
class MovieLensMovie:
    """A row of ``movies.csv`` (raw title, ``|``-separated genres split)."""

    ml_id: int
    title: str
    genres: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RatingStats:
    """Mean and count of one movie's MovieLens ratings."""

    mean: float
    count: int


@dataclass(frozen=True, slots=True)
class RedialMovie:
    """An entry of ReDial's ``movie_info.json``."""

    redial_id: int
    name: str
    genres: tuple[str, ...]
    plot: str
    directors: tuple[str, ...]
    writers: tuple[str, ...]
    cast: tuple[str, ...]
    imdb_id: str | None


@dataclass(frozen=True, slots=True)
class OfficeItem:
    """An entry of ``items.json`` (raw description, still a stringified list with HTML)."""

    source_id: str
    title: str
    description: str
    brand: str
    categories: str


@dataclass(frozen=True, slots=True)
class OfficeSequence:
    """A row of ``valid.csv``: a user's earlier items and the next one."""

    user_id: str
    history: tuple[str, ...]
    target: str


def movielens_files(data_dir: Path) -> dict[str, Path]:
    """The MovieLens files the catalogue reads."""
    d = Path(data_dir) / ML_DIR
    return {n: d / f"{n}.csv" for n in ("movies", "links", "ratings", "tags")}


def redial_files(data_dir: Path) -> dict[str, Path]:
    """The ReDial files the catalogue reads."""
    d = Path(data_dir) / REDIAL_DIR
    return {"movie_info": d / "movie_info.json", "mentions": d / "movies_with_mentions.csv"}


def office_files(data_dir: Path) -> dict[str, Path]:
    """The Amazon Office files the catalogue reads."""
    d = Path(data_dir) / OFFICE_DIR
    return {"items": d / "items.json", "valid": d / "valid.csv"}


# -- helpers -----------------------------------------------------------------------------
def _csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV file as dicts, after checking that the header has ``required``."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                raise DataError(f"missing column(s) {missing}; header is {header}", path)
            for row in reader:
                yield reader.line_num, row
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text: {exc}", path) from exc
    except csv.Error as exc:
        raise DataError(f"malformed CSV: {exc}", path) from exc


def _int(value: Any, path: Path, line: int, column: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise DataError(f"line {line}: column '{column}' is not an integer: {value!r}", path) from None


def _float(value: Any, path: Path, line: int, column: str) -> float:
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        raise DataError(f"line {line}: column '{column}' is not a number: {value!r}", path) from None


def _json(path: Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path)
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"malformed JSON: {exc}", path) from exc


def _str_list(value: Any, path: Path, key: str, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value.strip(),) if value.strip() else ()
    if not isinstance(value, list):
        raise DataError(f"entry {key}: '{field}' must be a list of strings, got {type(value).__name__}", path)
    return tuple(str(v).strip() for v in value if str(v).strip())


# -- MovieLens ---------------------------------------------------------------------------
def read_movielens_movies(path: Path) -> list[MovieLensMovie]:
    """Read ``movies.csv`` (movieId, title, genres)."""
    out: list[MovieLensMovie] = []
    for line, row in _csv_rows(path, ("movieId", "title", "genres")):
        genres = tuple(g for g in (row["genres"] or "").split("|") if g)
        out.append(MovieLensMovie(_int(row["movieId"], path, line, "movieId"), row["title"] or "", genres))
    return out


def read_movielens_links(path: Path) -> dict[int, str]:
    """Read ``links.csv``: movieId -> IMDb id with the ``tt`` prefix (``tt0114709``)."""
    out: dict[int, str] = {}
    for line, row in _csv_rows(path, ("movieId", "imdbId")):
        raw = (row["imdbId"] or "").strip()
        if not raw:
            continue
        if not raw.isdigit():
            raise DataError(f"line {line}: imdbId is not numeric: {raw!r}", path)
        out[_int(row["movieId"], path, line, "movieId")] = "tt" + raw.zfill(7)
    return out


def read_movielens_rating_stats(path: Path) -> dict[int, RatingStats]:
    """Read ``ratings.csv`` into per-movie mean rating and count."""
    sums: dict[int, float] = defaultdict(float)
    counts: dict[int, int] = defaultdict(int)
    for line, row in _csv_rows(path, ("userId", "movieId", "rating")):
        mid = _int(row["movieId"], path, line, "movieId")
        r = _float(row["rating"], path, line, "rating")
        if not 0.0 <= r <= 5.0:
            raise DataError(f"line {line}: rating {r} outside 0-5", path)
        sums[mid] += r
        counts[mid] += 1
    return {m: RatingStats(mean=sums[m] / counts[m], count=counts[m]) for m in counts}


def read_movielens_tags(path: Path) -> dict[int, dict[str, int]]:
    """Read ``tags.csv`` into movieId -> {lower-case tag: number of users who gave it}."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for line, row in _csv_rows(path, ("userId", "movieId", "tag")):
        tag = " ".join((row["tag"] or "").lower().split())
        if tag:
            tags = out[_int(row["movieId"], path, line, "movieId")]
            tags[tag] = tags.get(tag, 0) + 1
    return dict(out)


# -- ReDial ------------------------------------------------------------------------------
def read_redial_movies(path: Path) -> list[RedialMovie]:
    """Read ReDial's ``movie_info.json`` (ReDial id -> name, genre, plot, people, imdb_id)."""
    data = _json(path)
    if not isinstance(data, dict):
        raise DataError(f"expected a JSON object keyed by ReDial id, got {type(data).__name__}", path)
    out: list[RedialMovie] = []
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise DataError(f"entry {key}: expected an object", path)
        if not str(key).strip().isdigit():
            raise DataError(f"entry {key!r}: ReDial ids are integers", path)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"entry {key}: missing 'name'", path)
        imdb = entry.get("imdb_id")
        imdb = imdb.strip() if isinstance(imdb, str) and imdb.strip().startswith("tt") else None
        plot = entry.get("plot") or ""
        out.append(
            RedialMovie(
                redial_id=int(key),
                name=name,
                genres=_str_list(entry.get("genre"), path, key, "genre"),
                plot=str(plot).strip(),
                directors=_str_list(entry.get("director"), path, key, "director"),
                writers=_str_list(entry.get("writer"), path, key, "writer"),
                cast=_str_list(entry.get("star"), path, key, "star"),
                imdb_id=imdb,
            )
        )
    return out


def read_redial_mentions(path: Path) -> dict[int, int]:
    """Read ``movies_with_mentions.csv``: ReDial id -> number of mentions."""
    out: dict[int, int] = {}
    for line, row in _csv_rows(path, ("movieId", "movieName", "nbMentions")):
        out[_int(row["movieId"], path, line, "movieId")] = _int(row["nbMentions"], path, line, "nbMentions")
    return out


# -- Amazon Office -----------------------------------------------------------------------
def read_office_items(path: Path) -> list[OfficeItem]:
    """Read ``items.json`` (id -> title, description, brand, categories)."""
    data = _json(path)
    if not isinstance(data, dict):
        raise DataError(f"expected a JSON object keyed by item id, got {type(data).__name__}", path)
    out: list[OfficeItem] = []
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise DataError(f"entry {key}: expected an object", path)
        title = entry.get("title")
        if not isinstance(title, str) or not title.strip():
            raise DataError(f"entry {key}: missing 'title'", path)
        cats = entry.get("categories") or ""
        if isinstance(cats, list):
            cats = " > ".join(str(c) for c in cats)
        out.append(
            OfficeItem(
                source_id=str(key).strip(),
                title=title,
                description=str(entry.get("description") or ""),
                brand=str(entry.get("brand") or ""),
                categories=str(cats),
            )
        )
    return out


def _id_list(raw: str, path: Path, line: int) -> tuple[str, ...]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise DataError(f"line {line}: history_item_id is not a list: {raw[:60]!r}", path) from None
    if not isinstance(value, list):
        raise DataError(f"line {line}: history_item_id is not a list: {raw[:60]!r}", path)
    return tuple(str(v) for v in value)


def read_office_sequences(path: Path) -> list[OfficeSequence]:
    """Read ``valid.csv``: per user, the item history (oldest first) and the next item."""
    out: list[OfficeSequence] = []
    for line, row in _csv_rows(path, ("user_id", "history_item_id", "item_id")):
        target = str(_int(row["item_id"], path, line, "item_id"))
        out.append(OfficeSequence(row["user_id"], _id_list(row["history_item_id"] or "[]", path, line), target))
    return out
