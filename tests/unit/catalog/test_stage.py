"""The catalog build stage: atomic, input-hashed, and a failed build swaps nothing in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crsagent.agent.errors import BuildError
from crsagent.agent.settings import Settings
from crsagent.tools.artifacts import ArtifactStore
from crsagent.tools.catalog import stage
from crsagent.tools.catalog.db import DB_FILE, ProductDB
from crsagent.tools.catalog.schema import Item
from crsagent.tools.pipeline import BuildContext

from .conftest import build_catalog, write_csv


def _ctx(settings: Settings, domain: str = "movies") -> BuildContext:
    return BuildContext(settings=settings, domain=domain, store=ArtifactStore(settings.home, domain))


def test_stage_writes_sqlite_jsonl_and_stats(tiny_settings: Settings) -> None:
    path = build_catalog(tiny_settings, "movies")
    assert path.name.startswith("catalog-") and (path / DB_FILE).is_file()
    lines = (path / stage.ITEMS_FILE).read_text().splitlines()
    items = [Item.model_validate_json(line) for line in lines]
    with ProductDB.open(path / DB_FILE) as db:
        assert sorted(i.item_id for i in items) == sorted(db.filter_ids())
    assert json.loads((path / "stats.json").read_text())["items"] == len(items) == 10
    manifest = ArtifactStore(tiny_settings.home, "movies").manifest()["catalog"]
    assert manifest["items"] == 10 and manifest["dir"] == path.name


def test_rebuild_is_a_noop_until_an_input_changes(tiny_settings: Settings) -> None:
    first = build_catalog(tiny_settings, "movies")
    h1 = stage.input_hash(_ctx(tiny_settings))
    mtime = (first / DB_FILE).stat().st_mtime_ns
    assert build_catalog(tiny_settings, "movies") == first
    assert (first / DB_FILE).stat().st_mtime_ns == mtime
    ratings = tiny_settings.data_dir / "movielens-latest-small" / "ratings.csv"
    ratings.write_text(ratings.read_text() + "9,8,1.0,0\n")
    assert stage.input_hash(_ctx(tiny_settings)) != h1
    second = build_catalog(tiny_settings, "movies")
    assert second != first and not first.exists()
    with ProductDB.open(second / DB_FILE) as db:
        assert db.get_item("tt5765000").rating_mean == 1.0


@pytest.mark.parametrize(
    ("relpath", "damage"),
    [
        ("redial/movie_info.json", lambda p: p.write_text('{"1": {"name": ')),
        ("movielens-latest-small/movies.csv", lambda p: write_csv(p, ["movieId", "name"], [(1, "x")])),
        ("movielens-latest-small/links.csv", lambda p: write_csv(p, ["movieId", "imdbId"], [("one", "1")])),
        ("redial/movies_with_mentions.csv", lambda p: p.unlink()),
    ],
)
def test_malformed_input_keeps_the_previous_catalogue(tiny_settings: Settings, relpath: str, damage) -> None:
    good = build_catalog(tiny_settings, "movies")
    damage(tiny_settings.data_dir / relpath)
    with pytest.raises(BuildError) as exc:
        build_catalog(tiny_settings, "movies")
    assert Path(relpath).name in str(exc.value)  # the DataError names the file
    store = ArtifactStore(tiny_settings.home, "movies")
    assert store.path("catalog") == good and (good / DB_FILE).is_file()
    assert [p.name for p in store.root.iterdir() if p.name.startswith(".catalog-")] == []
    with ProductDB.for_domain(tiny_settings, "movies") as db:
        assert db.count() == 10


def test_office_stage(tiny_settings: Settings) -> None:
    path = build_catalog(tiny_settings, "office")
    with ProductDB.open(path / DB_FILE, domain="office") as db:
        assert db.count() == 4 and db.source_map("amazon")["3"] == "amz-3"


def test_input_files_per_domain(tiny_settings: Settings) -> None:
    names = [p.name for p in stage.input_files(tiny_settings.data_dir, "office")]
    assert names == ["items.json", "valid.csv"]
    assert stage.NAME == "catalog" and stage.DEPENDS == ()
