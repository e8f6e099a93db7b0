"""A small hand-made movie catalogue, its product database, a real chromadb vector index and a real encoder export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crsagent.tools.catalog.build import CatalogData
from crsagent.tools.catalog.db import ProductDB
from crsagent.tools.catalog.schema import Item
from crsagent.tools.search.index import VectorIndex


def _movie(item_id: str, title: str, year: int, genres: list[str], plot: str, pop: float = 10.0, **kw: Any) -> Item:
    return Item(item_id=item_id, domain="movies", title=title, year=year, genres=genres, plot=plot,
                popularity=pop, **kw)  # fmt: skip


_ROWS = [  # id, title, year, genres, plot
    ("tt0000001", "Ghost Manor", 1999, ["horror"], "A family moves into an old house haunted by vengeful ghosts."),
    ("tt0000002", "Night Terrors", 2015, ["horror", "thriller"], "A babysitter is stalked by a masked killer."),
    ("tt0000003", "Laugh Riot", 2004, ["comedy"], "Two clumsy friends open a bakery and everything goes wrong."),
    ("tt0000004", "Wedding Crashers Club", 2010, ["comedy", "romance"], "A funny romantic comedy about a wedding."),
    ("tt0000005", "Star Voyage", 1986, ["sci-fi", "adventure"], "Astronauts travel far and fight alien robots."),
    ("tt0000006", "Mars Colony", 2016, ["sci-fi", "drama"], "Settlers struggle to survive on Mars after a crash."),
    ("tt0000007", "The Heist", 1995, ["crime", "thriller"], "A crew of thieves plans to rob a casino in Las Vegas."),
    ("tt0000008", "Mafia Family", 1972, ["crime", "drama"], "The aging patriarch of a mafia family hands power on."),
    ("tt0000009", "Puppy Days", 2012, ["animation", "family"], "An animated dog learns to make friends in the city."),
    ("tt0000010", "Tears of Autumn", 1990, ["drama", "romance"], "A sad love story about two lovers split by war."),
]
_PEOPLE: dict[str, dict[str, Any]] = {"tt0000007": {"directors": ["Ann Director"], "cast": ["Bob Actor"]}}
SMALL_MOVIES: list[Item] = [_movie(*row, **_PEOPLE.get(row[0], {})) for row in _ROWS]


@pytest.fixture(scope="session")
def small_movies() -> list[Item]:
    """The hand-made catalogue."""
    return list(SMALL_MOVIES)


@pytest.fixture(scope="session")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProductDB]:
    """A real SQLite product database holding the small catalogue."""
    path = tmp_path_factory.mktemp("small-db") / "catalog.sqlite"
    ProductDB.load_into(f"sqlite:///{path}", CatalogData("movies", list(SMALL_MOVIES), []))
    db = ProductDB.open(path, domain="movies")
    yield db
    db.close()


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index folder built from the small catalogue (real chromadb, real MiniLM)."""
    path = tmp_path_factory.mktemp("small-index") / "search"
    VectorIndex.write(SMALL_MOVIES, path)
    return path


@pytest.fixture(scope="session")
def index(index_dir: Path, small_db: ProductDB) -> Iterator[VectorIndex]:
    """The small index, loaded read-only with the product database for filters."""
    idx = VectorIndex.load(index_dir, db=small_db)
    yield idx
    idx.close()


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """A real encoder export (fp32 and int8, the int8 checked on the shipped ReDial turns) and its figures."""
    from crsagent.agent.settings import default_data_dir
    from crsagent.tools.encoder.export import export_encoder
    from crsagent.tools.encoder.quantize import TURNS_FILE, seeker_utterances

    folder = tmp_path_factory.mktemp("encoder")
    meta = export_encoder(folder, seeker_utterances(default_data_dir() / TURNS_FILE))
    return folder, meta


@pytest.fixture()
def no_active():
    """No process-wide ONNX encoder before and after the test."""
    from crsagent.tools.encoder import runtime

    runtime.deactivate()
    yield
    runtime.deactivate()
