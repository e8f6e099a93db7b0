"""The vector index on a real chroma server (``chroma run``, started by :mod:`crsagent.tests.support.chroma`).

``crsagent build`` with ``CRSAGENT_CHROMA_URL`` publishes the built movies index to the
server; a toolkit loaded with that URL searches through ``chromadb.HttpClient`` and must give
the same answers as the local index folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from crsagent.agent.cli import app
from crsagent.agent.errors import DataError
from crsagent.agent.settings import Settings
from crsagent.tests.support.chroma import chroma_server
from crsagent.tools.search.index import VectorIndex
from crsagent.tools.search.remote import collection_name, http_client
from crsagent.tools.search.stage import index_path, load_index, publish_index
from crsagent.tools.toolkit import Toolkit

pytestmark = pytest.mark.slow

QUERIES = [
    "a scary horror movie about a haunted house and ghosts",
    "astronauts stranded in outer space",
    "a heartwarming animated film for kids",
]


@pytest.fixture(scope="module")
def chroma_url() -> Iterator[str]:
    """A chroma server on loopback for the module."""
    with chroma_server() as server:
        yield server.url


@pytest.fixture(scope="module")
def published(movies_home: Settings, chroma_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """``crsagent build --stage search`` with CRSAGENT_CHROMA_URL: the built index goes to the server."""
    result = CliRunner().invoke(
        app,
        ["build", "--domain", "movies", "--stage", "search", "--home", str(movies_home.home)],
        env={"CRSAGENT_CHROMA_URL": chroma_url, "CRSAGENT_HOME": str(movies_home.home)},
    )
    assert result.exit_code == 0, result.output
    assert "published on" in result.output
    return replace(movies_home, chroma_url=chroma_url)


def test_build_publishes_the_index_once(published: Settings) -> None:
    path = index_path(published, "movies")
    name = collection_name("movies", path)
    client = http_client(published.chroma_url or "")
    try:
        assert client.get_collection(name).count() == len(VectorIndex.load(path, use_chroma=False))
    finally:
        client.close()
    again = publish_index(published, "movies")
    assert again == {"collection": name, "items": again["items"], "published": False}


def test_search_through_the_server_matches_the_local_index(published: Settings, movies_home: Settings) -> None:
    remote = Toolkit.load(published, "movies", cache=False).index
    local = Toolkit.load(movies_home, "movies").index
    assert remote._client.get_settings().chroma_api_impl.endswith("FastAPI")  # HTTP to the server
    assert local._client.get_settings().chroma_api_impl.endswith("RustBindingsAPI")  # the local folder
    for text in QUERIES:
        got, want = remote.query(text, k=10), local.query(text, k=10)
        assert [h.item_id for h in got] == [h.item_id for h in want]
        assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-4)
    remote.close()
    direct = load_index(published, "movies")  # the stage's loader takes the server too
    assert direct._client.get_settings().chroma_api_impl.endswith("FastAPI")
    assert [h.item_id for h in direct.query(QUERIES[0], k=5)] == [h.item_id for h in local.query(QUERIES[0], k=5)]
    direct.close()


def test_an_unpublished_index_is_refused_with_the_fix(movies_home: Settings, chroma_url: str) -> None:
    with pytest.raises(DataError, match="crsagent build"):
        VectorIndex.load(index_path(movies_home, "movies"), chroma_url=chroma_url, chroma_collection="crsagent-none-0")
