"""Property tests (hypothesis) of the state that must survive restarts: profile facts and checkpoints.

``tests/unit/graphs/test_belief_properties.py`` covers the belief and usage reducers' algebra;
what is added here is what durability needs on top: the profile-memory merge
(:func:`~crsagent.agent.memory.merge_facts`) keeps its invariants whatever the order of
threads, and every belief, usage record and profile comes back from the checkpointer's
serializer and the store's JSON exactly as it went in, order included (recency lives in the
order), so a restarted server continues from the same state.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from crsagent.agent.memory import MAX_FACT_ITEMS, Profile, ProfileFacts, merge_facts, summarize
from crsagent.graphs.dialogue.belief import merge_belief
from crsagent.graphs.state import add_usage

IDS = st.sampled_from([f"tt{i:07d}" for i in range(12)])
GENRES = st.sampled_from(["horror", "comedy", "drama", "sci-fi", "romance"])
ids = st.lists(IDS, max_size=8)
genres = st.lists(GENRES, max_size=4)
facts = st.builds(
    ProfileFacts,
    liked=ids,
    disliked=ids,
    rejected=ids,
    genres_liked=genres,
    genres_disliked=genres,
    people_liked=st.lists(st.sampled_from(["Jordan Peele", "Ari Aster", "Nora Ephron"]), max_size=3),
)
many_ids = st.lists(st.integers(0, 500).map(lambda i: f"tt{i:07d}"), min_size=0, max_size=120)


def fold(seq: list[ProfileFacts]) -> ProfileFacts:
    out = ProfileFacts()
    for f in seq:
        out = merge_facts(out, f)
    return out


@given(st.lists(facts, min_size=1, max_size=6))
def test_profile_facts_stay_consistent(seq: list[ProfileFacts]) -> None:
    merged = fold(seq)
    for name in ProfileFacts.model_fields:
        values = getattr(merged, name)
        assert len(values) == len(set(values)) <= MAX_FACT_ITEMS
    assert not set(merged.liked) & set(merged.disliked)
    assert not set(merged.genres_liked) & set(merged.genres_disliked)
    last = seq[-1]
    for i in set(last.liked) - set(last.disliked):
        assert i in merged.liked  # the newest thread's statement wins
    for i in set(last.disliked) - set(last.liked):
        assert i in merged.disliked


@given(facts, facts)
def test_merging_the_same_thread_twice_changes_nothing(a: ProfileFacts, b: ProfileFacts) -> None:
    once = merge_facts(a, b)
    assert merge_facts(once, b) == once


@given(many_ids, many_ids)
def test_profile_lists_are_bounded_and_keep_the_newest(old: list[str], new: list[str]) -> None:
    merged = merge_facts(ProfileFacts(liked=old), ProfileFacts(liked=new))
    assert len(merged.liked) <= MAX_FACT_ITEMS
    fresh = list(dict.fromkeys(new))
    assert merged.liked[-min(len(fresh), MAX_FACT_ITEMS) :] == fresh[-MAX_FACT_ITEMS:] or not fresh


belief_updates = st.fixed_dictionaries(
    {},
    optional={
        "constraints": st.dictionaries(st.sampled_from(["year_min", "year_max"]), st.integers(1900, 2030), max_size=2),
        "genres": st.dictionaries(GENRES, st.sampled_from(["like", "dislike"]), max_size=3),
        "items": st.dictionaries(
            IDS,
            st.fixed_dictionaries(
                {
                    "opinion": st.sampled_from(["liked", "disliked"]),
                    "source": st.sampled_from(["linker", "llm", "profile"]),
                }
            ),
            max_size=4,
        ),
        "soft": st.lists(st.text(max_size=30), max_size=2),
        "rejected": st.lists(IDS, max_size=3),
        "mentioned": st.lists(IDS, max_size=3),
        "recommended": st.lists(IDS, max_size=3),
    },
)
usage_updates = st.fixed_dictionaries(
    {},
    optional={
        "llm_calls": st.integers(0, 3),
        "tool_calls": st.integers(0, 4),
        "prompt_tokens": st.integers(0, 10_000),
        "degraded": st.booleans(),
        "notes": st.lists(st.text(max_size=40), max_size=2),
        "reset": st.booleans(),
    },
)
SERDE = JsonPlusSerializer()


def ordered(obj: Any) -> Any:
    """A form whose equality also compares the order of dict keys (recency)."""
    if isinstance(obj, dict):
        return [(k, ordered(v)) for k, v in obj.items()]
    if isinstance(obj, list):
        return [ordered(v) for v in obj]
    return obj


@settings(max_examples=150)
@given(st.lists(belief_updates, min_size=1, max_size=6), st.lists(usage_updates, max_size=5))
def test_belief_and_usage_survive_the_checkpoint_serializer(updates: list[Any], usages: list[Any]) -> None:
    belief: Any = {}
    for u in updates:
        belief = merge_belief(belief, u)
    usage: Any = None
    for u in usages:
        usage = add_usage(usage, u)
    for value in (belief, usage):
        back = SERDE.loads_typed(SERDE.dumps_typed(value))
        assert ordered(back) == ordered(value)
    # resuming from the restored state and applying one more update gives the same state
    extra = updates[0]
    restored = SERDE.loads_typed(SERDE.dumps_typed(belief))
    assert ordered(merge_belief(restored, extra)) == ordered(merge_belief(belief, extra))


@given(facts, st.text(min_size=1, max_size=40).filter(str.strip), st.integers(0, 1000))
def test_profiles_survive_the_store_json(f: ProfileFacts, user: str, threads: int) -> None:
    profile = Profile(user_id=user, facts=f, threads=threads, summary=summarize(f))
    stored = json.loads(json.dumps(profile.model_dump(mode="json")))  # what the store keeps
    assert Profile.model_validate(stored) == profile
