"""Property tests of the state reducers: belief merging and per-turn usage."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crsagent.graphs.dialogue.belief import (
    DICT_FIELDS,
    LIST_FIELDS,
    belief_filter,
    disliked_ids,
    excluded_ids,
    liked_ids,
    merge_belief,
    resolved_constraints,
)
from crsagent.graphs.state import USAGE_COUNTERS, add_usage

IDS = st.sampled_from([f"tt{i:07d}" for i in range(8)])
GENRES = st.sampled_from(["horror", "comedy", "drama", "sci-fi"])
SOURCES = st.sampled_from(["linker", "llm", "user-reject", "profile"])
YEARS = st.one_of(st.none(), st.integers(1900, 2030))

opinions = st.dictionaries(
    IDS, st.fixed_dictionaries({"opinion": st.sampled_from(["liked", "disliked"]), "source": SOURCES}), max_size=4
)
constraints = st.dictionaries(
    st.sampled_from(["year_min", "year_max", "min_rating", "brand"]),
    st.one_of(YEARS, st.just(3.5), st.just("Acme")),
    max_size=3,
).map(
    lambda d: {
        k: (
            v
            if (k in ("year_min", "year_max") and (v is None or isinstance(v, int) and not isinstance(v, bool)))
            else (3.5 if k == "min_rating" else ("Acme" if k == "brand" else None))
        )
        for k, v in d.items()
    }
)
updates = st.fixed_dictionaries(
    {},
    optional={
        "constraints": constraints,
        "genres": st.dictionaries(GENRES, st.sampled_from(["like", "dislike"]), max_size=3),
        "people": st.dictionaries(st.sampled_from(["Kent", "Peele"]), st.sampled_from(["like", "dislike"]), max_size=2),
        "items": opinions,
        "soft": st.lists(st.sampled_from(["scary", "funny", "slow burn"]), max_size=2),
        "rejected": st.lists(IDS, max_size=3),
        "mentioned": st.lists(IDS, max_size=3),
        "recommended": st.lists(IDS, max_size=3),
        "asked": st.lists(st.sampled_from(["genre", "decade"]), max_size=2),
    },
)


def canon(b: dict[str, Any]) -> dict[str, Any]:
    """Order-sensitive form (dict equality ignores order; recency lives in the order)."""
    out: dict[str, Any] = {}
    for f in DICT_FIELDS:
        if b.get(f):
            out[f] = list(b[f].items())
    for f in LIST_FIELDS:
        if b.get(f):
            out[f] = list(b[f])
    return out


@settings(max_examples=200, deadline=None)
@given(updates, updates, updates)
def test_merge_is_associative(a: Any, b: Any, c: Any) -> None:
    left = merge_belief(merge_belief(a, b), c)
    right = merge_belief(a, merge_belief(b, c))
    assert canon(left) == canon(right)


@settings(max_examples=200, deadline=None)
@given(updates, updates)
def test_merge_is_idempotent_for_a_repeated_update(a: Any, b: Any) -> None:
    once = merge_belief(a, b)
    assert canon(merge_belief(once, b)) == canon(once)


@settings(max_examples=100, deadline=None)
@given(updates)
def test_empty_update_is_identity(a: Any) -> None:
    normal: Any = merge_belief({}, a)  # merging normalises (a list holds each value once)
    assert canon(merge_belief(a, {})) == canon(normal)
    assert canon(merge_belief(normal, None)) == canon(normal)
    for f in LIST_FIELDS:
        assert sorted(set(normal.get(f) or [])) == sorted(normal.get(f) or [])


@settings(max_examples=200, deadline=None)
@given(st.lists(updates, min_size=1, max_size=5))
def test_no_item_is_both_liked_and_disliked_and_latest_opinion_wins(seq: list[Any]) -> None:
    b: Any = {}
    last: dict[str, str] = {}
    for u in seq:
        b = merge_belief(b, u)
        last.update({i: o["opinion"] for i, o in (u.get("items") or {}).items()})
    assert not set(liked_ids(b)) & set(disliked_ids(b))
    assert {i: "liked" for i in liked_ids(b)} | {i: "disliked" for i in disliked_ids(b)} == last


@settings(max_examples=200, deadline=None)
@given(st.lists(updates, min_size=1, max_size=5))
def test_constraints_always_resolve_to_a_valid_filter(seq: list[Any]) -> None:
    b: Any = {}
    for u in seq:
        b = merge_belief(b, u)
    c = resolved_constraints(b)
    if "year_min" in c and "year_max" in c:
        assert c["year_min"] <= c["year_max"]
    f = belief_filter(b)  # would raise InvalidFilterError on a contradiction
    assert set(f.exclude_ids) == set(excluded_ids(b))


@settings(max_examples=100, deadline=None)
@given(updates, st.lists(IDS, min_size=1, max_size=3), st.lists(updates, max_size=3))
def test_rejected_items_stay_excluded_whatever_comes_later(a: Any, rejected: list[str], later: list[Any]) -> None:
    b = merge_belief(a, {"rejected": rejected})
    for u in later:
        b = merge_belief(b, u)
    assert set(rejected) <= set(belief_filter(b).exclude_ids)


def test_last_stated_year_bound_wins_a_contradiction() -> None:
    b = merge_belief({"constraints": {"year_min": 2010}}, {"constraints": {"year_max": 2000}})
    assert resolved_constraints(b) == {"year_max": 2000}
    b = merge_belief(b, {"constraints": {"year_min": 1990}})
    assert resolved_constraints(b) == {"year_min": 1990, "year_max": 2000}


counters = st.fixed_dictionaries(
    {k: st.integers(0, 5) for k in USAGE_COUNTERS},
    optional={"degraded": st.booleans(), "notes": st.lists(st.sampled_from(["a", "b"]), max_size=2)},
)


@settings(max_examples=100, deadline=None)
@given(counters, counters, counters)
def test_usage_sums_associatively(a: Any, b: Any, c: Any) -> None:
    assert add_usage(add_usage(a, b), c) == add_usage(a, add_usage(b, c))
    total: Any = add_usage(add_usage(a, b), c)
    for k in USAGE_COUNTERS:
        assert total[k] == a[k] + b[k] + c[k]
    assert total["degraded"] == any(x.get("degraded", False) for x in (a, b, c))


@settings(max_examples=50, deadline=None)
@given(counters, counters)
def test_usage_reset_starts_a_new_turn(a: Any, b: Any) -> None:
    fresh = add_usage(a, {**b, "reset": True})
    assert fresh == add_usage(None, b)
