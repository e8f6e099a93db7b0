"""The act node: ranking every turn, then what the action needs."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage

from crsagent.graphs.nodes.act import make_act
from crsagent.graphs.ranking import FusionWeights
from crsagent.graphs.variants import VARIANT_SPECS

LIKED_BABADOOK = {"items": {"tt0000001": {"opinion": "liked", "source": "linker"}}, "constraints": {"year_min": 2015}}


def _state(action: str, **kw: Any) -> dict[str, Any]:
    return {"action": action, "belief": LIKED_BABADOOK, "messages": [HumanMessage(content="something spooky")], **kw}


def test_recommend_ranks_and_explains_the_top_items(runtime: Any, fakes: Any) -> None:
    runtime.context.weights = FusionWeights(intent=0.5)  # the intent scorer runs only with a weight
    out = make_act(VARIANT_SPECS["crs-only"])(_state("recommend"), runtime)
    ids = [c["item_id"] for c in out["candidates"]]
    assert ids and all(fakes.BY_ID[i].year >= 2015 for i in ids) and fakes.BABADOOK not in ids
    recs = out["recommendations"]
    assert [r["item_id"] for r in recs] == ids[:3]
    assert all(r["explanation"] and r["title"] == fakes.BY_ID[r["item_id"]].display_title for r in recs)
    assert recs[0]["score"] == out["candidates"][0]["score"] and recs[0]["signals"]
    assert out["intent_label"] == "spooky horror"


def test_other_actions_rank_but_do_not_recommend(runtime: Any, fakes: Any) -> None:
    act = make_act(VARIANT_SPECS["crs-only"])
    elicit = act(_state("elicit"), runtime)
    assert elicit["candidates"] and elicit["recommendations"] == []
    answer = act(_state("answer", focus=[fakes.US, "tt9999999"]), runtime)
    assert [f["item_id"] for f in answer["facts"]] == [fakes.US]
    assert answer["facts"][0]["directors"] == ["Jordan Peele"]
    explain = act(_state("explain", focus=[fakes.HEREDITARY]), runtime)
    assert [r["item_id"] for r in explain["recommendations"]] == [fakes.HEREDITARY]
    assert explain["recommendations"][0]["explanation"]


def test_llm_only_does_not_rank(runtime: Any, fakes: Any) -> None:
    out = make_act(VARIANT_SPECS["llm-only"])(_state("recommend"), runtime)
    assert out["candidates"] == [] and out["recommendations"] == []
