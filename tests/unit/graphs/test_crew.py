"""The ``crew`` signal: items that share people with the dialogue's items."""

from __future__ import annotations

import math
from typing import Any

import pytest

from crsagent.graphs.ranking import FusionWeights, collect_signals, rank_candidates
from crsagent.graphs.ranking.crew import crew_scores


def test_a_shared_director_votes_with_a_weight_that_falls_with_their_filmography(fakes: Any) -> None:
    tk = fakes.make_toolkit()
    assert crew_scores(tk, [fakes.GET_OUT], 5, exclude={fakes.GET_OUT}) == pytest.approx({fakes.US: 1 / math.log(4)})
    assert crew_scores(tk, [fakes.GET_OUT, fakes.GET_OUT], 5, exclude={fakes.GET_OUT}) == pytest.approx(
        {fakes.US: 1 / math.log(4)}
    )  # a repeated context item counts once
    assert crew_scores(tk, [fakes.GET_OUT], 5, candidate_ids=[fakes.ALIEN], exclude={fakes.GET_OUT}) == {}
    assert crew_scores(tk, [fakes.BABADOOK], 5) == {}  # nobody of The Babadook made another film here
    assert crew_scores(tk, [fakes.GET_OUT], 0) == {}
    assert tk.films_by_person()["jordan peele"] == (fakes.GET_OUT, fakes.US)


def test_crew_joins_the_pool_and_can_decide_the_ranking(fakes: Any) -> None:
    tk = fakes.make_toolkit(cf=None, index=None, intent=None)
    belief = {"genres": {"horror": "like"}, "mentioned": [fakes.GET_OUT]}
    table = collect_signals(tk, belief, "")
    assert set(table.scores["crew"]) == {fakes.US}
    only_crew = FusionWeights(vector=0, cf=0, intent=0, popularity=0, attr=0, prior=0, trans=0, crew=1, content=0)
    assert rank_candidates(tk, belief, "", k=1, weights=only_crew)[0][0]["item_id"] == fakes.US
    off = collect_signals(tk, belief, "", skip=frozenset({"crew"}))
    assert "crew" not in off.scores
