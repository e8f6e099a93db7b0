"""The ``search`` build stage: reads the catalog artifact, writes an index, atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from crsagent.agent.errors import NotBuiltError
from crsagent.agent.settings import Settings
from crsagent.tools.artifacts import ArtifactStore
from crsagent.tools.catalog.build import CatalogData
from crsagent.tools.catalog.db import DB_FILE, ProductDB
from crsagent.tools.pipeline import BuildContext
from crsagent.tools.search import stage
from crsagent.tools.search.index import EMBEDDINGS_FILE, IDS_FILE


def test_stage_builds_an_index_from_the_catalog_artifact(tmp_path: Path, small_movies) -> None:
    settings = Settings(home=tmp_path / "home", data_dir=tmp_path / "data")
    store = ArtifactStore(settings.home, "movies")
    store.build("catalog", "h1", lambda out: ProductDB.load_into(f"sqlite:///{out / DB_FILE}",
                                                                 CatalogData("movies", small_movies, [])))  # fmt: skip
    progress: list[int] = []

    def advance(n: int = 1) -> None:
        progress.append(n)

    ctx = BuildContext(settings=settings, domain="movies", store=store, progress=lambda desc, total: advance)
    assert stage.NAME == "search" and stage.DEPENDS == ("catalog",)
    assert stage.input_hash(ctx) == stage.input_hash(ctx)
    with pytest.raises(NotBuiltError):
        stage.index_path(settings, "movies")
    path, built = store.build(stage.NAME, stage.input_hash(ctx), lambda out: stage.build(ctx, out))
    assert built
    assert sum(progress) == len(small_movies)
    assert (path / EMBEDDINGS_FILE).is_file() and (path / IDS_FILE).is_file()
    assert store.manifest()["search"]["items"] == len(small_movies)
    idx = stage.load_index(settings, "movies")
    try:
        assert len(idx) == len(small_movies)
        assert idx.query("mafia patriarch", k=1)[0].item_id == "tt0000008"
    finally:
        idx.close()


def test_failed_stage_leaves_nothing_behind(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", data_dir=tmp_path / "data")
    store = ArtifactStore(settings.home, "movies")
    ctx = BuildContext(settings=settings, domain="movies", store=store)
    from crsagent.agent.errors import BuildError

    with pytest.raises(BuildError):  # no catalogue yet
        store.build(stage.NAME, "h", lambda out: stage.build(ctx, out))
    assert not store.has("search")
    assert not list((settings.home / "movies").glob("search-*"))
