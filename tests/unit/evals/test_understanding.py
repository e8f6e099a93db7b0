"""Belief extraction scored against the ReDial annotations."""

from __future__ import annotations

import pytest

from crsagent.agent.settings import default_data_dir
from crsagent.agent.turns import TurnResult
from crsagent.evals.datasets import ReplayTurn, TitleResolver
from crsagent.evals.understanding import belief_sets, gold_sets, load_seeker_opinions, prf, run_understanding


def test_prf_by_hand():
    assert prf(2, 1, 1) == {"precision": 0.6667, "recall": 0.6667, "f1": 0.6667}
    assert prf(0, 0, 3) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert prf(3, 0, 1)["f1"] == round(2 * 1 * 0.75 / 1.75, 4)


def test_belief_sets_reads_both_forms():
    view = {
        "liked": [{"item_id": "a", "source": "linker"}],
        "disliked": [{"item_id": "b", "source": "llm"}],
        "mentioned": ["c"],
        "genres_liked": ["Horror"],
        "genres_disliked": ["comedy"],
        "people_liked": ["Tom Hanks"],
    }
    raw = {
        "items": {"a": {"opinion": "liked", "source": "linker"}, "b": {"opinion": "disliked", "source": "llm"}},
        "mentioned": ["c"],
        "genres": {"horror": "like", "comedy": "dislike"},
        "people": {"Tom Hanks": "like"},
    }
    for b in (view, raw):
        s = belief_sets(b)
        assert s == {"items": {"a", "b", "c"}, "liked": {"a"}, "genres": {"horror", "comedy"}, "people": {"tom hanks"}}


@pytest.fixture
def small(fake_item_cls):
    items = [fake_item_cls("bab", "The Babadook", 2014), fake_item_cls("shi", "The Shining", 1980)]
    return TitleResolver(
        items, {"1": {"name": "The Babadook (2014)", "imdb_id": "bab"}, "2": {"name": "Gone (1900)", "imdb_id": "zz"}}
    )


def test_gold_sets(small):
    turn = ReplayTurn(
        dialog_id="d",
        turn_id=1,
        context=["", "hi"],
        entity=["horror", "scary", "Robert De Niro", "The Babadook (2014)", "The Shining (1980)", "Gone (1900)"],
    )
    gold, unmapped = gold_sets(turn, small, {"horror", "comedy"}, {"The Babadook (2014)": 1, "The Shining (1980)": 0})
    assert gold == {"items": {"bab", "shi"}, "liked": {"bab"}, "genres": {"horror"}, "people": {"robert de niro"}}
    assert unmapped == 1


def test_run_understanding_exact_scores(small, fake_runner_cls):
    turns = [
        ReplayTurn(
            dialog_id="d",
            turn_id=1,
            context=["", "I like horror like The Babadook (2014)"],
            entity=["horror", "The Babadook (2014)"],
        ),
        ReplayTurn(
            dialog_id="d",
            turn_id=3,
            context=["", "x", "y", "z", "comedy with Tom Hanks?"],
            entity=["comedy", "Tom Hanks", "The Shining (1980)"],
        ),
    ]
    beliefs = {
        "I like horror like The Babadook (2014)": {
            "liked": [{"item_id": "bab", "source": "linker"}],
            "genres_liked": ["horror", "drama"],
        },
        "comedy with Tom Hanks?": {"genres_liked": ["comedy"], "people_liked": ["Tom Hanks"], "mentioned": []},
    }

    class BeliefRunner(fake_runner_cls):
        def run_history(self, messages, *, user_id=None, ranking_k=50):
            return TurnResult(reply="", belief=beliefs[messages[-1].content])

    res = run_understanding(
        BeliefRunner(lambda m: []),
        turns,
        small,
        ["horror", "comedy", "drama"],
        opinions={"d": {"The Babadook (2014)": 1}},
    )
    s = res.summary
    assert s["genres"] == {"precision": 0.6667, "recall": 1.0, "f1": 0.8, "gold": 2, "predicted": 3}
    assert s["items"]["precision"] == 1.0 and s["items"]["recall"] == 0.5
    assert s["liked"]["f1"] == 1.0
    assert s["people"]["f1"] == 1.0


def test_seeker_opinions_from_the_dialogues():
    ops = load_seeker_opinions(default_data_dir())
    assert ops["16162"]["The Babadook (2014)"] == 1
    assert len(ops) == 1000


def test_the_agents_own_recommendations_are_not_understanding():
    view = {"liked": [{"item_id": "a", "source": "linker"}], "mentioned": ["a", "r1", "c"]}
    assert belief_sets(view, ignore=["r1", "a"])["items"] == {"a", "c"}
