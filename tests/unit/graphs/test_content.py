"""The ``content`` signal: items whose description is close to the dialogue's items."""

from __future__ import annotations

from typing import Any

import pytest

from crsagent.graphs.ranking import FusionWeights, collect_signals, rank_candidates
from crsagent.graphs.ranking.content import content_scores


def test_the_closest_items_to_the_context_profile_come_first(fakes: Any) -> None:
    idx = fakes.FakeIndex()
    got = content_scores(idx, [fakes.GET_OUT], 3, exclude={fakes.GET_OUT})
    assert fakes.GET_OUT not in got and len(got) == 3
    assert set(list(got)[:2]) == {fakes.IT_FOLLOWS, fakes.US}  # two of its three genres each
    assert list(got.values()) == sorted(got.values(), reverse=True)
    assert got[fakes.US] == pytest.approx(2 / (3**0.5 * 2**0.5), abs=1e-6)


def test_candidates_unknown_ids_and_empty_contexts(fakes: Any) -> None:
    idx = fakes.FakeIndex()
    assert set(content_scores(idx, [fakes.GET_OUT], 5, candidate_ids=[fakes.SUPERBAD, fakes.ARRIVAL])) == {
        fakes.SUPERBAD,
        fakes.ARRIVAL,
    }
    assert content_scores(idx, ["tt9999999"], 5) == {}  # not in the index: no profile
    assert content_scores(idx, [], 5) == {}
    assert content_scores(idx, [fakes.GET_OUT], 0) == {}
    # a repeated or unknown context id does not change the profile
    assert content_scores(idx, [fakes.GET_OUT, fakes.GET_OUT, "tt9999999"], 4) == content_scores(
        idx, [fakes.GET_OUT], 4
    )


def test_the_pipeline_leaves_disliked_items_out_of_the_profile(fakes: Any) -> None:
    tk = fakes.make_toolkit(cf=None, intent=None)
    belief = {"mentioned": [fakes.ARRIVAL], "items": {fakes.ALIEN: {"opinion": "disliked", "source": "user"}}}
    table = collect_signals(tk, belief, "")
    excluded = {fakes.ARRIVAL, fakes.ALIEN}
    expected = content_scores(tk.index, [fakes.ARRIVAL], 200, exclude=excluded)
    assert table.scores["content"] == expected and not excluded & set(table.scores["content"])
    only_content = FusionWeights(vector=0, cf=0, intent=0, popularity=0, attr=0, prior=0, trans=0, crew=0, content=1)
    top = rank_candidates(tk, belief, "", k=1, weights=only_content)[0][0]["item_id"]
    assert expected[top] == max(expected.values())  # among equal scores the most popular
    assert "content" not in collect_signals(tk, belief, "", skip=frozenset({"content"})).scores
