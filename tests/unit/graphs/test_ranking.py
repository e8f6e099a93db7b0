"""Ranking fusion: signals, weights, hard constraints and exclusions."""

from __future__ import annotations

from typing import Any

import pytest

from crsagent.graphs.ranking import (
    FusionWeights,
    SignalTable,
    collect_signals,
    fuse,
    rank_candidates,
)


def test_fuse_is_a_weighted_sum_of_min_max_normalised_signals() -> None:
    t = SignalTable()
    t.add("cf", {"a": 10.0, "b": 5.0, "c": 0.0})
    t.add("vector", {"c": 0.9, "a": 0.5})
    t.scores["popularity"] = {"a": 0.1, "b": 0.9, "c": 0.5}
    out = fuse(t, FusionWeights(vector=2.0, cf=1.0, intent=0.0, popularity=0.5, attr=0.0), k=3)
    got = {c["item_id"]: c for c in out}
    assert got["a"]["signals"] == {"cf": 1.0, "vector": 0.0, "popularity": 0.1}
    assert got["c"]["signals"]["vector"] == 1.0 and got["b"]["signals"]["vector"] == 0.0  # b: not returned
    assert got["a"]["score"] == pytest.approx(1.0 + 0.05)
    assert got["c"]["score"] == pytest.approx(2.0 + 0.25)
    assert [c["item_id"] for c in out] == ["c", "a", "b"]


def test_ties_break_by_popularity_then_id() -> None:
    t = SignalTable()
    t.add("cf", {"x": 1.0, "y": 1.0, "z": 1.0})
    t.scores["popularity"] = {"x": 0.2, "y": 0.8, "z": 0.2}
    assert [c["item_id"] for c in fuse(t, FusionWeights(popularity=0.0), 3)] == ["y", "x", "z"]


def test_hard_constraints_and_exclusions_hold(toolkit: Any, fakes: Any) -> None:
    belief = {
        "items": {fakes.BABADOOK: {"opinion": "liked", "source": "linker"}},
        "constraints": {"year_min": 2015},
        "genres": {"horror": "like"},
        "rejected": [fakes.GET_OUT],
        "mentioned": [fakes.US],
    }
    every = FusionWeights(vector=1.0, cf=1.0, intent=0.5, popularity=0.3, attr=0.5)
    cands, label = rank_candidates(toolkit, belief, "something scary", k=20, weights=every)
    ids = [c["item_id"] for c in cands]
    assert ids and set(ids) == {fakes.HEREDITARY, fakes.WITCH}  # horror, >= 2015, not excluded
    assert label == "spooky horror"
    assert all(set(c["signals"]) >= {"cf", "popularity", "intent"} for c in cands)


def test_missing_tools_are_skipped_and_liked_items_drive_cf(fakes: Any) -> None:
    bare = fakes.make_toolkit(cf=None, index=None, intent=None)
    belief = {"items": {fakes.TOY_STORY: {"opinion": "liked", "source": "linker"}}}
    table = collect_signals(bare, belief, "")
    assert set(table.scores) == {"popularity"}
    assert fakes.TOY_STORY not in table.pool  # liked items are excluded
    full = collect_signals(fakes.make_toolkit(), belief, "")
    assert set(full.scores) >= {"cf", "popularity", "intent", "content"}
    top = fuse(
        full, FusionWeights(vector=0, cf=1, intent=0, popularity=0, attr=0, prior=0, trans=0, crew=0, content=0), k=1
    )[0]
    assert top["item_id"] == fakes.PADDINGTON  # shares the most genres with Toy Story


def test_impossible_constraints_give_no_candidates(toolkit: Any) -> None:
    cands, _ = rank_candidates(toolkit, {"constraints": {"year_min": 2090}}, "")
    assert cands == []


def test_liked_person_filters_then_relaxes_and_boosts_when_soft(toolkit: Any, fakes: Any) -> None:
    belief = {"people": {"Ari Aster": "like", "Jordan Peele": "like"}}
    cands, _ = rank_candidates(toolkit, belief, "", k=12)
    assert {c["item_id"] for c in cands} == {fakes.GET_OUT, fakes.US}  # the latest person only
    seen = {**belief, "mentioned": [fakes.GET_OUT, fakes.US]}
    relaxed, _ = rank_candidates(toolkit, seen, "", k=12)
    assert len(relaxed) == 10  # every Peele film is excluded: the person constraint is dropped
    soft, _ = rank_candidates(toolkit, belief, "", k=12, weights=FusionWeights(people_filter=False))
    by_id = {c["item_id"]: c for c in soft}
    assert by_id[fakes.GET_OUT]["signals"]["attr"] == 1.0 and by_id[fakes.ALIEN]["signals"]["attr"] == 0.0
    assert soft[0]["item_id"] in (fakes.GET_OUT, fakes.US, fakes.HEREDITARY)


def test_signals_with_zero_weight_are_not_computed(toolkit: Any, fakes: Any) -> None:
    belief = {"items": {fakes.BABADOOK: {"opinion": "liked", "source": "linker"}}, "soft": ["slow creepy drama"]}
    both, _ = rank_candidates(toolkit, belief, "creepy", k=5, weights=FusionWeights(vector=1.0, cf=1.0))
    assert {"vector", "cf"} <= set(both[0]["signals"])
    no_vec, _ = rank_candidates(toolkit, belief, "creepy", k=5, weights=FusionWeights(vector=0.0, cf=1.0))
    assert "vector" not in no_vec[0]["signals"] and "cf" in no_vec[0]["signals"]


def test_the_person_filter_holds_while_the_latest_message_names_the_person(toolkit: Any, fakes: Any) -> None:
    belief = {"people": {"Jordan Peele": "like"}}
    asked, _ = rank_candidates(toolkit, belief, "", k=12, recent="anything else by peele?")
    assert {c["item_id"] for c in asked} == {fakes.GET_OUT, fakes.US}
    later, _ = rank_candidates(toolkit, belief, "", k=12, recent="now something funny")
    assert len(later) > 2 and {fakes.GET_OUT, fakes.US} <= {c["item_id"] for c in later}
    assert later[0]["signals"]["attr"] == 1.0  # the liked person still lifts his films


def test_named_in_matches_full_names_and_surnames_as_words() -> None:
    from crsagent.graphs.ranking import named_in

    assert named_in("Jordan Peele", "a film by Jordan Peele, please")
    assert named_in("Jordan Peele", "more peele.")
    assert not named_in("Jordan Peele", "peeled apples")
    assert not named_in("Ed Oh", "oh no") and not named_in("", "anything")
