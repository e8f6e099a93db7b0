"""VectorIndex on a real chromadb collection with the real MiniLM embedder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crsagent.agent.errors import (
    BuildError,
    DataError,
    EmptyQueryError,
    InvalidFilterError,
    ToolInputError,
    UnknownItemError,
    UserError,
)
from crsagent.tools.catalog.schema import ItemFilter
from crsagent.tools.search.index import CHROMA_DIR, EMBEDDINGS_FILE, IDS_FILE, VectorIndex


def test_index_folder_holds_chroma_matrix_and_ids(index_dir: Path, small_movies) -> None:
    meta = json.loads((index_dir / IDS_FILE).read_text())
    assert meta["ids"] == [m.item_id for m in small_movies]
    matrix = np.load(index_dir / EMBEDDINGS_FILE)
    assert matrix.shape == (len(small_movies), 384)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)
    assert (index_dir / CHROMA_DIR).is_dir()


def test_query_finds_the_item_that_matches_the_meaning(index: VectorIndex) -> None:
    top = index.query("astronauts fighting alien robots in space", k=3)
    assert top[0].item_id == "tt0000005"
    assert [h.score for h in top] == sorted((h.score for h in top), reverse=True)
    assert top[0].title == "Star Voyage"
    assert -1.0 <= top[-1].score <= top[0].score <= 1.0


def test_chroma_and_exact_scoring_agree(index: VectorIndex) -> None:
    text = "a haunted house full of ghosts"
    via_chroma = index.query(text, k=5)
    exact = index.query(text, k=5, candidate_ids=list(index.ids))
    assert [h.item_id for h in via_chroma] == [h.item_id for h in exact]
    for a, b in zip(via_chroma, exact):
        assert a.score == pytest.approx(b.score, abs=1e-4)


def test_query_scores_are_the_query_without_result_objects(index: VectorIndex) -> None:
    for cands in (None, ["tt0000003", "tt0000008", "tt0000010", "tt0000005"]):
        hits = index.query("scary ghosts in space", k=3, candidate_ids=cands)
        assert list(index.query_scores("scary ghosts in space", k=3, candidate_ids=cands).items()) == [
            (h.item_id, h.score) for h in hits
        ]
    with pytest.raises(EmptyQueryError):
        index.query_scores("  ", k=3)


def test_k_larger_than_the_catalogue_returns_everything(index: VectorIndex) -> None:
    assert len(index.query("movie", k=1000)) == len(index)


def test_candidate_ids_restrict_the_search(index: VectorIndex) -> None:
    cands = ["tt0000003", "tt0000008", "tt0000010"]
    hits = index.query("scary ghosts", k=10, candidate_ids=cands)
    assert sorted(h.item_id for h in hits) == sorted(cands)
    assert index.query("scary ghosts", k=10, candidate_ids=[]) == []


def test_filter_and_search_returns_only_matching_items(index: VectorIndex, small_db) -> None:
    f = ItemFilter(genres_any=["comedy"], year_min=2000)
    allowed = set(small_db.filter_ids(f))
    assert allowed == {"tt0000003", "tt0000004"}
    hits = index.query("ghosts in a haunted house", k=10, filter=f)
    assert {h.item_id for h in hits} == allowed
    both = index.query("romance", k=10, filter=f, candidate_ids=["tt0000004", "tt0000010"])
    assert [h.item_id for h in both] == ["tt0000004"]
    none = index.query("anything", k=5, filter=ItemFilter(genres_any=["western"]))
    assert none == []


def test_filter_as_dict_is_validated(index: VectorIndex) -> None:
    assert {h.item_id for h in index.query("crime", k=5, filter={"genres_any": ["crime"]})} == {
        "tt0000007",
        "tt0000008",
    }
    with pytest.raises(InvalidFilterError):
        index.query("crime", k=5, filter={"year_min": 2010, "year_max": 2000})
    with pytest.raises(InvalidFilterError):
        index.query("crime", k=5, filter={"colour": "red"})


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_blank_query_raises_empty_query_error(index: VectorIndex, text: str) -> None:
    with pytest.raises(EmptyQueryError):
        index.query(text)


@pytest.mark.parametrize("k", [0, -1, 1001, 2.5, True, "10"])
def test_bad_k_raises_tool_input_error(index: VectorIndex, k: object) -> None:
    with pytest.raises(ToolInputError, match="k must be"):
        index.query("ghosts", k=k)


def test_unknown_candidate_ids_raise_unknown_item_error(index: VectorIndex) -> None:
    with pytest.raises(UnknownItemError) as err:
        index.query("ghosts", candidate_ids=["tt0000001", "tt9999999", "nope"])
    assert err.value.ids == ["nope", "tt9999999"]
    with pytest.raises(ToolInputError, match="list"):
        index.query("ghosts", candidate_ids="tt0000001")


def test_filter_without_database_is_a_user_error(index_dir: Path) -> None:
    idx = VectorIndex.load(index_dir, use_chroma=False)
    with pytest.raises(UserError, match="product database"):
        idx.query("ghosts", filter=ItemFilter(genres_any=["horror"]))
    # an empty filter needs no database
    assert len(idx.query("ghosts", k=2, filter=ItemFilter())) == 2


def test_item_vectors_and_similar(index: VectorIndex) -> None:
    vecs = index.item_vectors(["tt0000005", "tt0000006"])
    assert vecs.shape == (2, 384)
    with pytest.raises(UnknownItemError):
        index.item_vectors(["tt0000005", "missing"])
    similar = index.similar(["tt0000005"], k=3)
    assert "tt0000005" not in [h.item_id for h in similar]
    assert similar[0].item_id == "tt0000006"  # the other space film
    with pytest.raises(ToolInputError):
        index.similar([])


def test_write_refuses_a_used_folder_and_bad_input(index_dir: Path, small_movies, tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="already holds"):
        VectorIndex.write(small_movies, index_dir)
    with pytest.raises(BuildError, match="no items"):
        VectorIndex.write([], tmp_path / "empty")
    with pytest.raises(BuildError, match="repeat"):
        VectorIndex.write([small_movies[0], small_movies[0]], tmp_path / "dup")


def test_load_rejects_missing_or_inconsistent_files(index_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError):
        VectorIndex.load(tmp_path / "nothing")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / IDS_FILE).write_text((index_dir / IDS_FILE).read_text())
    np.save(broken / EMBEDDINGS_FILE, np.zeros((3, 384), dtype=np.float32))
    with pytest.raises(DataError, match="does not match"):
        VectorIndex.load(broken)


def test_rebuild_reuses_embeddings_of_unchanged_documents(index_dir: Path, small_movies, tmp_path: Path) -> None:
    from crsagent.tools.search.embedding import embed_texts

    seen: list[str] = []

    def counting(texts):
        seen.extend(texts)
        return embed_texts(texts)

    changed = small_movies[0].model_copy(update={"plot": "A completely different plot about pirates."})
    meta = VectorIndex.write([changed, *small_movies[1:]], tmp_path / "v2", embed=counting, reuse=index_dir)
    assert meta["reused"] == len(small_movies) - 1
    assert len(seen) == 1 and "pirates" in seen[0]
    old = np.load(index_dir / EMBEDDINGS_FILE)
    new = np.load(tmp_path / "v2" / EMBEDDINGS_FILE)
    np.testing.assert_array_equal(old[1:], new[1:])
    assert not np.allclose(old[0], new[0])
    fresh = VectorIndex.write(small_movies, tmp_path / "v3", embed=counting, reuse=tmp_path / "missing")
    assert fresh["reused"] == 0


def test_linker_and_lexicon_build_from_a_product_database(small_db) -> None:
    from crsagent.tools.linker.lexicon import AttributeLexicon
    from crsagent.tools.linker.linker import EntityLinker

    linker = EntityLinker.from_db(small_db)
    assert [m.item_id for m in linker.link("have you seen mafia family?")] == ["tt0000008"]
    lex = AttributeLexicon.from_db(small_db)
    assert lex.extract("no horror, a funny movie with bob actor").people == ["Bob Actor"]


def test_vector_scores_are_query_vector_as_a_dict(index: VectorIndex) -> None:
    v = index.item_vectors(["tt0000001"])[0]
    full = index.query_vector(v, 4, candidate_ids=["tt0000002", "tt0000003", "tt0000005"], exclude_ids=["tt0000003"])
    got = index.vector_scores(v, 4, candidate_ids=["tt0000002", "tt0000003", "tt0000005"], exclude_ids=["tt0000003"])
    assert got == {h.item_id: h.score for h in full} and list(got) == [h.item_id for h in full]
    assert set(got) == {"tt0000002", "tt0000005"}  # the excluded candidate is left out
    assert all(type(x) is float for x in got.values())  # plain floats (checkpoints serialise them)
    assert "tt0000001" not in index.vector_scores(v, 3, exclude_ids=["tt0000001"])
    with pytest.raises(ToolInputError):
        index.vector_scores(v[:10], 3)
    with pytest.raises(ToolInputError):
        index.vector_scores(v, 0)
    with pytest.raises(UnknownItemError):
        index.vector_scores(v, 3, candidate_ids=["nope"])
