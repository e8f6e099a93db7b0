"""``act``: run the deterministic recommend pipeline and gather what the reply needs.

Every turn ranks the catalogue (the ranking is also the turn's output for replay evaluation);
then, by action: the top items with grounded explanations (``recommend``), the facts of the
items in focus (``answer``), or their explanations (``explain``). Variants without ranking
(``llm-only``) still fetch facts and explanations for the items in focus.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.runtime import Runtime

from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.belief import Belief, merge_belief
from crsagent.graphs.dialogue.explaining import explain, item_facts
from crsagent.graphs.dialogue.prompting import dialogue_text
from crsagent.graphs.handoff import recommendation_records
from crsagent.graphs.ranking import rank_candidates, remention_candidates
from crsagent.graphs.state import Candidate, CRSState
from crsagent.graphs.variants import VariantSpec

__all__ = ["make_act", "recommendation_records"]


def make_act(spec: VariantSpec) -> Callable[[CRSState, Runtime[CRSContext]], dict[str, Any]]:
    """The ``act`` node of a variant."""

    def act(state: CRSState, runtime: Runtime[CRSContext]) -> dict[str, Any]:
        ctx = runtime.context
        tk = ctx.toolkit
        belief: Belief = merge_belief(state.get("belief"), {})
        action = state.get("action") or "recommend"
        candidates: list[Candidate] = []
        intent_label = None
        if spec.ranking:
            text = dialogue_text(state.get("messages") or [], ctx.history_window)
            recent = dialogue_text(state.get("messages") or [], 1)
            candidates, intent_label = rank_candidates(
                tk, belief, text, k=ctx.ranking_k, weights=ctx.weights, recent=recent
            )
        out: dict[str, Any] = {
            "candidates": candidates,
            "rementions": remention_candidates(tk, belief, ctx.weights) if spec.ranking else [],
            "recommendations": [],
            "facts": [],
            "intent_label": intent_label,
        }
        focus = [i for i in (state.get("focus") or []) if tk.has(i)]
        if action == "recommend" and candidates:
            top = [c["item_id"] for c in candidates[: ctx.n_recommend]]
            why = explain(tk, top, belief, candidates, intent_label)
            out["recommendations"] = recommendation_records(tk, top, candidates, why)
        elif action == "answer":
            out["facts"] = item_facts(tk, focus)
        elif action == "explain":
            why = explain(tk, focus, belief, candidates, intent_label)
            out["recommendations"] = recommendation_records(tk, focus, candidates, why)
        return out

    return act
