"""Tiny raw datasets, written in the real files' formats, and catalogues built from them.

The movie fixture is built so that each join rule has a case whose right answer is known:

- ReDial 100 and 101 share the IMDb id of MovieLens 1 (The Matrix): joined by IMDb id.
- ReDial 106 "Toy Story  (1995)" (double space) joins MovieLens 2 by IMDb id.
- ReDial 102 "The Babadook (2014)" has a wrong IMDb id: joined by title + year to ML 7
  "Babadook, The (2014)".
- ReDial 107 "Se7en (1995)" joins ML 4 "Seven (a.k.a. Se7en) (1995)" through the alias.
- ReDial 103 "The Commuter (2017)" joins ML 6 "Commuter, The (2018)" (a year apart).
- ReDial 104 and 105 are not in MovieLens and share an IMDb id: one new item.
- ReDial 108 "Wonder (2017)" must NOT join ML 8 "The Wonder (2016)".
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crsagent.agent.settings import Settings
from crsagent.tools.artifacts import ArtifactStore
from crsagent.tools.catalog.db import ProductDB

ML_MOVIES = [
    (1, "Matrix, The (1999)", "Action|Sci-Fi|Thriller"),
    (2, "Toy Story (1995)", "Adventure|Animation|Children|Comedy"),
    (3, "City of Lost Children, The (Cité des enfants perdus, La) (1995)", "Adventure|Drama|Fantasy"),
    (4, "Seven (a.k.a. Se7en) (1995)", "Mystery|Thriller"),
    (5, "Unwatched Film (2001)", "(no genres listed)"),
    (6, "Commuter, The (2018)", "Action|Thriller"),
    (7, "Babadook, The (2014)", "Drama|Horror"),
    (8, "Wonder, The (2016)", "Drama"),
]
ML_LINKS = {
    1: "0133093",
    2: "0114709",
    3: "0112682",
    4: "0114369",
    5: "0999999",
    6: "1590193",
    7: "2321549",
    8: "5765000",
}
ML_RATINGS = [(1, 1, 5.0), (2, 1, 4.0), (3, 1, 4.5), (1, 2, 3.0), (2, 2, 4.0), (1, 7, 4.0), (3, 4, 2.5)]

REDIAL = {
    "100": ("The Matrix (1999)", ["action", "sci-fi"], "A hacker learns the truth.", ["Lana Wachowski"], "tt0133093"),
    "101": ("The Matrix", ["action"], "", [], "tt0133093"),
    "102": (
        "The Babadook (2014)",
        ["horror", "thriller"],
        "A mother and her son face a monster.",
        ["Jennifer Kent"],
        "tt9999991",
    ),
    "103": (
        "The Commuter (2017)",
        ["action", "mystery"],
        "An insurance salesman on a train.",
        ["Jaume Collet-Serra"],
        "tt9999992",
    ),
    "104": ("Redial Only Film (2010)", ["comedy"], "Only in ReDial.", ["Jane Doe"], "tt0000104"),
    "105": ("Redial Only Film Again (2010)", ["comedy"], "Listed twice.", ["Jane Doe"], "tt0000104"),
    "106": ("Toy Story (1995)", ["animation", "family"], "Toys come alive.", ["John Lasseter"], "tt0114709"),
    "107": ("Se7en (1995)", ["crime"], "Two detectives hunt a killer.", ["David Fincher"], "tt9999993"),
    "108": ("Wonder (2017)", ["drama", "family"], "A boy with a facial difference.", ["Stephen Chbosky"], "tt2543472"),
}
MENTIONS = {"100": 10, "101": 2, "102": 7, "103": 1, "104": 3, "105": 4, "106": 20, "107": 5, "108": 6, "999": 1}

OFFICE_ITEMS = {
    "0": {
        "title": "HP 74 Black &amp; 75 Tri-color Ink",
        "description": repr(
            [
                "<p>Original <b>HP</b> ink &amp; more.</p>",
                " <!-- .headerM {color:#000000;font-size:24px;} ul {padding-left:1.1em;} --> ",
                "",
            ]
        ),
        "brand": "HP",
        "categories": "",
    },
    "1": {"title": "Stapler", "description": "['A stapler.']", "brand": "Swingline", "categories": ""},
    "2": {"title": "Sticky Notes", "description": "", "brand": "", "categories": ""},
    "3": {
        "title": "Broken Quotes Pen",
        "description": "['It's a 12\" pen', 'Blue ink']",
        "brand": "BIC",
        "categories": "",
    },
}
OFFICE_SEQUENCES = [("U1", [0, 1], 2), ("U2", [0], 1), ("U3", [1, 0, 3], 0)]


def write_csv(path: Path, header: list[str], rows: list[tuple[object, ...]]) -> None:
    """Write a CSV file (creating its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def write_tiny_data(root: Path) -> Path:
    """Write the tiny MovieLens, ReDial and Amazon Office files under ``root``."""
    ml = root / "movielens-latest-small"
    write_csv(ml / "movies.csv", ["movieId", "title", "genres"], ML_MOVIES)
    write_csv(ml / "links.csv", ["movieId", "imdbId", "tmdbId"], [(m, i, "") for m, i in ML_LINKS.items()])
    write_csv(ml / "ratings.csv", ["userId", "movieId", "rating", "timestamp"], [(*r, 0) for r in ML_RATINGS])
    write_csv(
        ml / "tags.csv", ["userId", "movieId", "tag", "timestamp"], [(1, 1, "Cyberpunk", 0), (2, 1, "cyberpunk", 0)]
    )
    rd = root / "redial"
    rd.mkdir(parents=True, exist_ok=True)
    info = {
        k: {"name": n, "genre": g, "plot": p, "director": d, "writer": d, "star": ["Some Actor"], "imdb_id": i}
        for k, (n, g, p, d, i) in REDIAL.items()
    }
    (rd / "movie_info.json").write_text(json.dumps(info), encoding="utf-8")
    names = {k: v[0] for k, v in REDIAL.items()} | {"999": "Not In Info (2000)"}
    write_csv(
        rd / "movies_with_mentions.csv",
        ["movieId", "movieName", "nbMentions"],
        [(k, names[k].replace(" (", "  ("), n) for k, n in MENTIONS.items()],
    )
    office = root / "amazon-office"
    office.mkdir(parents=True, exist_ok=True)
    (office / "items.json").write_text(json.dumps(OFFICE_ITEMS), encoding="utf-8")
    write_csv(
        office / "valid.csv",
        ["user_id", "history_item_title", "item_title", "history_item_id", "item_id"],
        [(u, "[]", "", json.dumps(h), t) for u, h, t in OFFICE_SEQUENCES],
    )
    return root


@pytest.fixture()
def tiny_data(tmp_path: Path) -> Path:
    """A data dir with the tiny raw files."""
    return write_tiny_data(tmp_path / "data")


@pytest.fixture()
def tiny_settings(tmp_path: Path, tiny_data: Path) -> Settings:
    """Settings over the tiny data with an empty home."""
    return Settings(home=tmp_path / "home", data_dir=tiny_data)


def build_catalog(settings: Settings, domain: str, force: bool = False) -> Path:
    """Run the catalog stage through the artifact store; returns the artifact folder."""
    from crsagent.tools.artifacts import hash_inputs
    from crsagent.tools.catalog import stage
    from crsagent.tools.pipeline import BuildContext

    ctx = BuildContext(settings=settings, domain=domain, store=ArtifactStore(settings.home, domain), force=force)
    path, _ = ctx.store.build(
        stage.NAME, hash_inputs([], stage.input_hash(ctx)), lambda out: stage.build(ctx, out), force=force
    )
    return path


@pytest.fixture(scope="module")
def built_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose home holds both tiny catalogues (built once per test module; read only)."""
    root = tmp_path_factory.mktemp("tiny")
    settings = Settings(home=root / "home", data_dir=write_tiny_data(root / "data"))
    build_catalog(settings, "movies")
    build_catalog(settings, "office")
    return settings


@pytest.fixture()
def movies_db(built_settings: Settings) -> Iterator[ProductDB]:
    """The tiny movies catalogue, built by the stage and opened read-only."""
    db = ProductDB.for_domain(built_settings, "movies")
    yield db
    db.close()


@pytest.fixture()
def office_db(built_settings: Settings) -> Iterator[ProductDB]:
    """The tiny office catalogue, built by the stage and opened read-only."""
    db = ProductDB.for_domain(built_settings, "office")
    yield db
    db.close()
