"""CF model: checkerboard, cold start, unknown ids, dislikes, fallbacks, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from crsagent.agent.errors import UnknownItemError
from crsagent.tools.cf.model import CFModel, recency_weights, top_k

from .conftest import A, B


def _ids(items):
    return [i.item_id for i in items]


def test_checkerboard_recommends_own_group(cf_model):
    # the cold items share their group's content, so they may be recommended too
    for liked, own in ((["a1", "a2"], set(A) | {"cold-a"}), (["b3", "b4"], set(B) | {"cold-b"})):
        rec = _ids(cf_model.recommend(liked, k=6))
        assert len(rec) == 6
        assert set(rec) <= own, rec


def test_liked_disliked_and_excluded_never_returned(cf_model):
    rec = _ids(cf_model.recommend(["a1"], disliked=["a2"], k=50, exclude=["a3", "not-an-id"]))
    assert not {"a1", "a2", "a3"} & set(rec)
    assert len(rec) == len(cf_model.item_ids) - 3


def test_cold_start_is_popularity_order(cf_model, checkerboard):
    m, ids = checkerboard
    counts = np.asarray(m.sum(axis=0)).ravel()
    rec = _ids(cf_model.recommend([], k=5))
    got = [counts[ids.index(i)] for i in rec]
    assert got == sorted(got, reverse=True)
    assert got == sorted(counts, reverse=True)[:5]


def test_unknown_ids_raise_typed_error(cf_model):
    with pytest.raises(UnknownItemError) as exc:
        cf_model.recommend(["a1", "zz9"])
    assert exc.value.ids == ["zz9"]
    with pytest.raises(UnknownItemError):
        cf_model.recommend(["a1"], disliked=["nope"])
    with pytest.raises(UnknownItemError):
        cf_model.recommend(["a1"], candidate_ids=["a2", "nope"])
    with pytest.raises(UnknownItemError):
        cf_model.neighbours("nope")
    with pytest.raises(UnknownItemError):
        cf_model.score(["a1"], ["nope"])


def test_disliked_items_push_similar_items_down(cf_model):
    items = A[3:] + B[3:]
    before = cf_model.score(["a1", "b1"], items)
    after = cf_model.score(["a1", "b1"], items, disliked=["b2"])
    n_a = len(A[3:])
    # B items (similar to the disliked one) lose more than A items
    assert (before[n_a:] - after[n_a:]).mean() > (before[:n_a] - after[:n_a]).mean() + 1e-3
    rec = _ids(cf_model.recommend(["a1", "b1"], disliked=["b2"], k=5))
    assert set(rec) <= set(A) | {"cold-a"}


def test_candidates_restrict_the_ranking(cf_model):
    rec = _ids(cf_model.recommend(["a1"], k=10, candidate_ids=["b5", "b6", "a7"]))
    assert rec[0] == "a7"
    assert set(rec) == {"b5", "b6", "a7"}


def test_items_without_interactions_fall_back_to_content(cf_model):
    s = cf_model.score(["a1", "a2"], ["cold-a", "cold-b"])
    assert np.all(np.isfinite(s)) and s[0] > s[1]
    assert set(_ids(cf_model.neighbours("cold-a", k=5))) <= set(A)
    # a session of only cold items still ranks by content, no error
    rec = _ids(cf_model.recommend(["cold-b"], k=5))
    assert set(rec) <= set(B)
    assert cf_model.recommend(["cold-a"], k=1)[0].item_id.startswith("a")


def test_neighbours_are_from_the_same_group(cf_model):
    nb = cf_model.neighbours("b2", k=5)
    assert set(_ids(nb)) <= set(B) and "b2" not in _ids(nb)
    assert [n.score for n in nb] == sorted((n.score for n in nb), reverse=True)


def test_pairs_match_the_result_objects(cf_model):
    """The hot path's id -> score answers are the tool's answers without the result objects."""
    for liked, disliked, cands in (
        (["a1", "a2"], [], None),
        (["b3"], ["a1"], ["a2", "b1", "b2", "cold-b"]),
        ([], [], None),
    ):
        full = cf_model.recommend(liked, disliked, k=5, candidate_ids=cands, exclude=["b1"])
        pairs = cf_model.recommend_scores(liked, disliked, k=5, candidate_ids=cands, exclude=["b1"])
        assert list(pairs.items()) == [(h.item_id, h.score) for h in full]
        assert full
    nb = cf_model.neighbours("b2", k=4)
    assert cf_model.neighbour_pairs("b2", k=4) == [(n.item_id, n.score) for n in nb]
    assert cf_model.neighbour_source().neighbours("b2", 4) == [(n.item_id, n.score) for n in nb]
    with pytest.raises(UnknownItemError):
        cf_model.recommend_scores(["nope"])


def test_save_load_round_trip_gives_identical_scores(cf_model, tmp_path):
    cf_model.save(tmp_path / "cf")
    loaded = CFModel.load(tmp_path / "cf")
    for liked, disliked in ((["a1"], []), (["a1", "b2"], ["b3"]), ([], []), (["cold-a"], [])):
        assert np.array_equal(cf_model.scores_all(liked, disliked), loaded.scores_all(liked, disliked))
    assert loaded.neighbours("a1", 3) == cf_model.neighbours("a1", 3)


def test_top_k_orders_and_skips_non_finite():
    s = np.array([0.1, np.inf * -1, 3.0, 2.0, -np.inf], dtype=np.float32)
    assert top_k(s, 10).tolist() == [2, 3, 0]
    assert top_k(s, 1).tolist() == [2]


def test_recency_weights_favour_the_latest_items():
    assert recency_weights(3, 0.0, 2.0).tolist() == [1.0, 1.0, 1.0]
    w = recency_weights(4, 10.0, 2.0)
    assert w[-1] == pytest.approx(11.0) and np.all(np.diff(w) > 0)
    assert recency_weights(0, 10.0, 2.0).size == 0


def test_recency_boost_makes_the_latest_like_dominate(cf_model):
    boosted = CFModel(
        cf_model.item_ids,
        cf_model.factors,
        cf_model.counts,
        {**cf_model.params, "recency_boost": 20.0, "recency_tau": 1.0},
        cf_model.content,
    )
    a_rest, b_rest = A[3:], B[3:]
    for liked, own, other in ((["a1", "a2", "b1"], b_rest, a_rest), (["b1", "b2", "a1"], a_rest, b_rest)):
        s_plain = cf_model.score(liked, own).mean() - cf_model.score(liked, other).mean()
        s_boost = boosted.score(liked, own).mean() - boosted.score(liked, other).mean()
        assert s_boost > s_plain  # the last liked item's group gains ground
    # an item liked twice counts once, at its latest position
    assert np.allclose(boosted.scores_all(["b1", "a1", "a2", "b1"]), boosted.scores_all(["a1", "a2", "b1"]))
    # without a boost, order does not matter (plain ALS fold-in)
    assert np.allclose(cf_model.scores_all(["a1", "b1"]), cf_model.scores_all(["b1", "a1"]), atol=1e-5)


def test_validation_levels_step_back_one_positive_at_a_time():
    from crsagent.tools.cf.data import UserHistory
    from crsagent.tools.cf.tune import holdout_level

    h = UserHistory("ml-1", ["x1", "x2", "x3", "x4", "x5"], [4.0, 4.0, 2.0, 5.0, 1.0], "movielens")
    train, targets = holdout_level([h], 0)
    assert targets == {"ml-1": "x4"} and train[0].items == ["x1", "x2", "x3"]
    train, targets = holdout_level([h], 1)
    assert targets == {"ml-1": "x2"} and train[0].items == ["x1"]
    assert holdout_level([h], 2)[1] == {}  # no positive left before the target
