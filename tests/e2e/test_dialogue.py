"""The full variant against the real vLLM server: a multi-turn dialogue with the bundled model.

The small model may write anything; the agent's guarantees must hold regardless: every
recommendation satisfies the constraint, a rejected item is never recommended again, no turn
crashes, at most three LLM calls per turn, and the profile persists into a new thread.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crsagent.agent.llm.client import make_chat_model
from crsagent.agent.persistence import open_persistence
from crsagent.agent.settings import Settings
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.toolkit import Toolkit

pytestmark = pytest.mark.e2e

BABADOOK = "tt2321549"


def test_full_variant_dialogue_on_the_bundled_model(
    llm_settings: Settings, movies_home: Settings, tmp_path: Path
) -> None:
    toolkit = Toolkit.load(movies_home, "movies", eager=True)
    pers = open_persistence(llm_settings, f"sqlite://{tmp_path}")
    agent = CRSAgent.create(
        llm_settings,
        variant="full",
        toolkit=toolkit,
        llm=make_chat_model(llm_settings),
        checkpointer=pers.checkpointer,
        store=pers.store,
    )
    rejected: set[str] = set()
    try:
        script = [
            "Hi! I loved the babadook, something from after 2010 please.",
            "Not that one, I've seen it.",
            "Any other suggestions?",
        ]
        results = []
        for text in script:
            r = agent.turn(text, thread_id="e2e-1", user_id="e2e-user")
            results.append(r)
            assert r.reply.strip()
            assert r.usage.llm_calls <= 3
            assert r.action in ("elicit", "recommend", "answer", "explain", "chitchat")
            shown = [x.item_id for x in r.recommendations]
            assert not set(shown) & rejected, "a rejected item was recommended again"
            for iid in shown:
                item = toolkit.item(iid)
                assert item is not None and item.year is not None and item.year >= 2011, item
            rejected |= set(r.belief["rejected"])
        assert {"item_id": BABADOOK, "source": "linker"} in results[0].belief["liked"]
        assert results[0].belief["constraints"].get("year_min") == 2011
        assert results[1].belief["rejected"], "the rejection was not understood"
        assert any(r.action == "recommend" and r.recommendations for r in results)
        # a new thread of the same user starts from the profile memory
        r = agent.turn("Hello again, what do you have for me?", thread_id="e2e-2", user_id="e2e-user")
        # the new thread never names it: it can only come from the profile memory (read as the
        # profile's own entry, or by the LLM from the profile summary in its prompt)
        assert BABADOOK in {x["item_id"] for x in r.belief["liked"]}
        assert not {x.item_id for x in r.recommendations} & rejected
    finally:
        pers.close()
