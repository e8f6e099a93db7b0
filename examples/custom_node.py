"""A custom node in the CRS graph, and the graph run by ``CRSAgent.from_graph``.

The graph is wired from crsagent's public node factories (what ``build_crs_graph`` does) with
one node of yours between ``act`` and ``respond``: ``hide_seen`` drops the items your app
knows the user has seen and re-picks the recommendations. ``from_graph`` keeps everything a
built-in variant has: ``TurnResult``, checkpointed threads, the HTTP API and the eval harness.
Run: ``python examples/custom_node.py``.
"""

from __future__ import annotations

import json

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.memory import InMemoryStore

from crsagent.agent.settings import Settings
from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.belief import merge_belief
from crsagent.graphs.dialogue.explaining import explain
from crsagent.graphs.nodes import make_act, make_decide, make_respond, make_understand, remember
from crsagent.graphs.nodes.act import recommendation_records
from crsagent.graphs.runner import CRSAgent
from crsagent.graphs.state import CRSState
from crsagent.graphs.variants import get_variant

__all__ = ["make_hide_seen", "build", "main"]
ASK = "I loved The Babadook, something after 2010?"


def make_hide_seen(seen: set[str]):
    """A node: a partial state update without the ``seen`` items (never mutate ``state``)."""

    def hide_seen(state: CRSState, runtime: Runtime[CRSContext]) -> dict:
        ctx = runtime.context
        candidates = [c for c in state.get("candidates") or [] if c["item_id"] not in seen]
        out: dict = {"candidates": candidates}
        if state.get("action") == "recommend":
            top = [c["item_id"] for c in candidates[: ctx.n_recommend]]
            why = explain(
                ctx.toolkit, top, merge_belief(state.get("belief"), {}), candidates, state.get("intent_label")
            )
            out["recommendations"] = recommendation_records(ctx.toolkit, top, candidates, why)
        return out

    return hide_seen


def build(seen: set[str]) -> StateGraph:
    """understand -> decide -> act -> hide_seen -> respond -> remember, over crsagent's state."""
    spec = get_variant("crs-only")
    g = StateGraph(CRSState, context_schema=CRSContext)
    nodes = [("understand", make_understand(spec)), ("decide", make_decide(spec)), ("act", make_act(spec))]
    nodes += [("hide_seen", make_hide_seen(seen)), ("respond", make_respond(spec)), ("remember", remember)]
    g.add_sequence(nodes)  # the nodes, each wired to the next
    g.add_edge(START, "understand")
    g.add_edge("remember", END)
    return g


def main() -> dict:
    """The built-in crs-only answer, then the custom graph's answer with its first item seen."""
    settings = Settings.from_env()
    memory = {"checkpointer": InMemorySaver(), "store": InMemoryStore()}  # default: SQLite under the data home
    before = CRSAgent.create(settings, "movies", "crs-only", **memory).turn(ASK, thread_id="t1")
    seen = {before.recommendations[0].item_id}
    agent = CRSAgent.from_graph(build(seen), settings, name="crs-hide-seen", **memory)
    after = agent.turn(ASK, thread_id="t2")
    print(after.reply)
    ids = {"before": [r.item_id for r in before.recommendations], "after": [r.item_id for r in after.recommendations]}
    return {"variant": agent.variant, "seen": sorted(seen), **ids, "reply": after.reply}


if __name__ == "__main__":
    print(json.dumps(main()))
