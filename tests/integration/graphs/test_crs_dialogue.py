"""crs-only over the real movie build: a three-turn dialogue, rejections, and profile memory."""

from __future__ import annotations

from pathlib import Path

from crsagent.agent.persistence import open_persistence
from crsagent.agent.settings import Settings
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.toolkit import Toolkit

BABADOOK = "tt2321549"


def test_three_turn_dialogue_with_constraint_rejection_and_profile(
    movies_home: Settings, movies_toolkit: Toolkit, tmp_path: Path
) -> None:
    pers = open_persistence(movies_home, f"sqlite://{tmp_path}")
    agent = CRSAgent.create(
        movies_home, variant="crs-only", toolkit=movies_toolkit, checkpointer=pers.checkpointer, store=pers.store
    )
    try:
        r1 = agent.turn("I loved the babadook, something from after 2010", thread_id="t1", user_id="ann")
        assert {"item_id": BABADOOK, "source": "linker"} in r1.belief["liked"]
        assert r1.belief["constraints"].get("year_min") == 2011
        assert r1.action == "recommend" and len(r1.recommendations) == 3
        assert all((movies_toolkit.item(r.item_id).year or 0) >= 2011 for r in r1.recommendations + r1.ranking)
        assert BABADOOK not in [r.item_id for r in r1.recommendations]
        # the catalogue ranking may hold it only as a re-mention (never a candidate)
        assert all(set(r.signals) == {"remention"} for r in r1.ranking if r.item_id == BABADOOK)
        assert r1.usage.llm_calls == 0

        previous = [r.item_id for r in r1.recommendations]
        rejected = previous[:1]  # "that one" after a list is its first item, not the whole list
        r2 = agent.turn("Not that one, I've seen it.", thread_id="t1", user_id="ann")
        assert set(rejected) <= set(r2.belief["rejected"])
        assert not set(previous[1:]) & set(r2.belief["rejected"])
        assert r2.recommendations
        shown = [r.item_id for r in r2.recommendations + r2.ranking]
        assert not {r.item_id for r in r2.recommendations} & set(previous)  # nothing already suggested comes back
        assert all(set(r.signals) == {"remention"} for r in r2.ranking if r.item_id in previous)  # only as re-mentions
        assert all((movies_toolkit.item(i).year or 0) >= 2011 for i in shown)

        r3 = agent.turn("Why would I like the first one?", thread_id="t1", user_id="ann")
        assert r3.action == "explain"
        assert r3.recommendations[0].item_id == r2.recommendations[0].item_id
        assert r3.recommendations[0].explanation

        # a new thread of the same user starts from the profile memory
        r4 = agent.turn("any good horror?", thread_id="t2", user_id="ann")
        assert {"item_id": BABADOOK, "source": "profile"} in r4.belief["liked"]
        assert set(rejected) <= set(r4.belief["rejected"])
        assert not set(rejected) & {r.item_id for r in r4.recommendations + r4.ranking}
        profile = agent.profile("ann")
        assert profile is not None and BABADOOK in profile["facts"]["liked"]
        assert "The Babadook" in profile["summary"]
    finally:
        pers.close()
