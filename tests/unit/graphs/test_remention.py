"""Re-mentions (``remention``): re-mention candidates and the catalogue ranking of a turn (the rates: test_priors)."""

from __future__ import annotations

import dataclasses
from typing import Any

from crsagent.agent.settings import Settings
from crsagent.agent.turns import ChatMessage
from crsagent.graphs.ranking import DEFAULT_WEIGHTS, catalogue_ranking, remention_candidates
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.prior.redial import RedialPrior


def test_remention_candidates_skip_rejected_items_and_need_a_weight(fakes: Any) -> None:
    tk = fakes.make_toolkit(prior=RedialPrior(remention_rates=(0.4, 0.2)))
    belief = {"mentioned": [fakes.ALIEN, fakes.BABADOOK, fakes.GET_OUT], "rejected": [fakes.GET_OUT]}
    assert remention_candidates(tk, belief, dataclasses.replace(DEFAULT_WEIGHTS, remention=0.0)) == []
    got = remention_candidates(tk, belief, dataclasses.replace(DEFAULT_WEIGHTS, remention=10.0))
    assert [c["item_id"] for c in got] == [fakes.BABADOOK, fakes.ALIEN]  # Get Out was rejected
    assert [c["score"] for c in got] == [10.0, 5.0] and got[0]["signals"] == {"remention": 1.0}
    assert (
        remention_candidates(
            fakes.make_toolkit(prior=None), belief, dataclasses.replace(DEFAULT_WEIGHTS, remention=10.0)
        )
        == []
    )


def test_catalogue_ranking_merges_by_score_with_fused_candidates_first_at_ties() -> None:
    cands = [{"item_id": "p", "score": 3.0, "signals": {}}, {"item_id": "q", "score": 1.0, "signals": {}}]
    rementions = [
        {"item_id": "e", "score": 3.0, "signals": {"remention": 1.0}},
        {"item_id": "f", "score": 2.0, "signals": {"remention": 0.5}},
    ]
    assert [c["item_id"] for c in catalogue_ranking(cands, rementions)] == ["p", "e", "f", "q"]
    assert catalogue_ranking(cands, []) == cands


def test_the_ranking_holds_re_mentions_and_the_recommendations_never_do(settings: Settings, fakes: Any) -> None:
    tk = fakes.make_toolkit(prior=RedialPrior(remention_rates=(0.5, 0.25)))
    agent = CRSAgent.create(
        settings, variant="crs-only", toolkit=tk, weights=dataclasses.replace(DEFAULT_WEIGHTS, remention=100.0)
    )
    try:
        r = agent.run_history(
            [ChatMessage(role="user", content="I loved The Babadook, any horror films?")], ranking_k=5
        )
    finally:
        agent.close()
    assert r.ranking[0].item_id == fakes.BABADOOK and r.ranking[0].signals == {"remention": 1.0}
    assert r.recommendations and fakes.BABADOOK not in {x.item_id for x in r.recommendations}
    assert len(r.ranking) == 5


def test_the_remention_tuner_picks_recall_at_10_plus_50_then_1_then_the_smallest_weight() -> None:
    from crsagent.evals.tuning.remention import ECHO_GRID, choose

    def row(w: float, r: list[float]) -> dict[str, Any]:
        return {"remention": w, "tune": {"recall": r}}

    assert ECHO_GRID[0] == 0.0 and list(ECHO_GRID) == sorted(ECHO_GRID)
    assert choose([row(0, [0.1, 0.2, 0.3]), row(8, [0.0, 0.3, 0.3])])["remention"] == 8
    assert choose([row(8, [0.0, 0.3, 0.3]), row(16, [0.0, 0.3, 0.4])])["remention"] == 16
    assert choose([row(40, [0.1, 0.3, 0.4]), row(100, [0.1, 0.3, 0.4])])["remention"] == 40
    assert choose([row(16, [0.0, 0.3, 0.3]), row(24, [0.0, 0.2, 0.5])])["remention"] == 24  # the sum decides
    assert choose([row(16, [0.1, 0.3, 0.4]), row(24, [0.2, 0.3, 0.4])])["remention"] == 24  # then Recall@1
