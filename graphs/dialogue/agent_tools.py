"""The tools the ``agent`` variant's LLM may call: the toolkit's tools plus two graph-level ones.

* ``recommend`` — the fused CRS ranking (:func:`~crsagent.graphs.ranking.rank_candidates`) over
  the conversation's belief, with the hard constraints and exclusions applied. The LLM may add
  constraints (genres, years) and exclusions; it never has to repeat what the belief holds. Each
  item carries ``why``: the first sentence of the explainer's grounded reason, which a reply may
  quote (a small model copies it instead of inventing facts).
* ``suggest_question`` — the most informative question to ask next
  (:mod:`crsagent.graphs.dialogue.elicitation`), wrapping the deterministic policy's elicitation.

Both read the graph state and run context through LangGraph's ``ToolRuntime`` injection, so
their schemas show the LLM only the arguments it controls. Their content is compact JSON whose
items carry ``item_id`` keys (that is what makes an item grounded for the reply guard).
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langgraph.prebuilt import ToolRuntime
from pydantic import BaseModel, ConfigDict, Field

from crsagent.agent.errors import ToolInputError
from crsagent.graphs.dialogue.belief import Belief, belief_filter, excluded_ids, merge_belief
from crsagent.graphs.dialogue.elicitation import choose_question, question_text
from crsagent.graphs.dialogue.explaining import explain
from crsagent.graphs.dialogue.prompting import dialogue_text
from crsagent.graphs.dialogue.tool_schemas import first_sentence
from crsagent.graphs.ranking import rank_candidates

__all__ = [
    "AGENT_TOOL_NAMES",
    "RecommendArgs",
    "SuggestQuestionArgs",
    "make_graph_tools",
    "recommend_belief",
]

#: The tools the agent is offered, in the order its prompt lists them.
AGENT_TOOL_NAMES: tuple[str, ...] = (
    "recommend",
    "suggest_question",
    "get_items",
    "explain_items",
    "search_products",
    "vector_search",
    "score_intents",
)
MAX_RECOMMEND = 10
QUESTION_POOL = 100


class RecommendArgs(BaseModel):
    """Arguments of ``recommend`` (all optional: the conversation's belief is always applied)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    k: int = Field(default=3, ge=1, le=MAX_RECOMMEND, description="How many items to return (1-10).")
    genres: list[str] = Field(default_factory=list, max_length=5, description="Extra genres the items should have.")
    year_min: int | None = Field(default=None, ge=1870, le=2030, description="Earliest release year.")
    year_max: int | None = Field(default=None, ge=1870, le=2030, description="Latest release year.")
    exclude_ids: list[str] = Field(default_factory=list, max_length=50, description="Item ids not to return.")
    runtime: ToolRuntime = Field(default=None, exclude=True)  # type: ignore[arg-type]  # injected by ToolNode


class SuggestQuestionArgs(BaseModel):
    """Arguments of ``suggest_question`` (none the LLM must give)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    runtime: ToolRuntime = Field(default=None, exclude=True)  # type: ignore[arg-type]  # injected by ToolNode


def _state(runtime: Any) -> dict[str, Any]:
    state = getattr(runtime, "state", None)
    return state if isinstance(state, dict) else {}


def recommend_belief(
    belief: Belief,
    genres: list[str],
    year_min: int | None,
    year_max: int | None,
    exclude_ids: list[str],
    genre_vocab: frozenset[str],
) -> Belief:
    """The belief with a ``recommend`` call's extra constraints folded in.

    Raises:
        ToolInputError: an unknown genre, or ``year_min`` after ``year_max``.
    """
    unknown = [g for g in genres if g.lower() not in genre_vocab]
    if unknown:
        raise ToolInputError(f"unknown genre(s) {unknown}; use catalogue genres such as {sorted(genre_vocab)[:8]}")
    if year_min is not None and year_max is not None and year_min > year_max:
        raise ToolInputError(f"year_min {year_min} is after year_max {year_max}")
    constraints: dict[str, Any] = {}
    if year_min is not None:
        constraints["year_min"] = year_min
    if year_max is not None:
        constraints["year_max"] = year_max
    update: Belief = {
        "genres": {g.lower(): "like" for g in genres},
        "constraints": constraints,
        "rejected": list(exclude_ids),
    }
    return merge_belief(belief, update)


def make_graph_tools(toolkit: Any) -> list[BaseTool]:
    """``recommend`` and ``suggest_question`` over one toolkit.

    Args:
        toolkit: the domain's :class:`~crsagent.tools.toolkit.Toolkit`.

    Returns:
        The two tools; each returns ``(json_text, dict)`` (``content_and_artifact``).
    """

    def recommend(
        k: int = 3,
        genres: list[str] | None = None,
        year_min: int | None = None,
        year_max: int | None = None,
        exclude_ids: list[str] | None = None,
        runtime: ToolRuntime = None,  # type: ignore[assignment]  # injected by ToolNode
    ) -> tuple[str, dict[str, Any]]:
        state = _state(runtime)
        ctx = getattr(runtime, "context", None)
        try:
            belief = recommend_belief(
                merge_belief(state.get("belief"), {}),
                list(genres or []),
                year_min,
                year_max,
                list(exclude_ids or []),
                toolkit.genre_vocab(),
            )
        except ToolInputError as exc:
            raise ToolException(str(exc)) from exc
        messages = state.get("messages") or []
        window = getattr(ctx, "history_window", 6)
        kwargs: dict[str, Any] = {"k": max(getattr(ctx, "ranking_k", 50), k)}
        if ctx is not None:
            kwargs["weights"] = ctx.weights
        ranked, _ = rank_candidates(
            toolkit, belief, dialogue_text(messages, window), recent=dialogue_text(messages, 1), **kwargs
        )
        blocked = set(excluded_ids(belief))
        ranked = [c for c in ranked if c["item_id"] not in blocked]
        top = ranked[:k]
        why = explain(toolkit, [c["item_id"] for c in top], belief, ranked)
        items = [
            {"item_id": c["item_id"], "title": toolkit.title(c["item_id"]), "score": round(c["score"], 3)}
            | ({"why": first_sentence(why[c["item_id"]])} if why.get(c["item_id"]) else {})
            for c in top
        ]
        return json.dumps({"items": items}, ensure_ascii=False), {"items": items, "ranking": ranked}

    def suggest_question(runtime: ToolRuntime = None) -> tuple[str, dict[str, Any]]:  # type: ignore[assignment]
        state = _state(runtime)
        belief = merge_belief(state.get("belief"), {})
        ctx = getattr(runtime, "context", None)
        genres_hard = ctx.weights.genre_filter if ctx is not None else True
        ids = toolkit.db.filter_ids(belief_filter(belief, genres_hard=genres_hard), limit=QUESTION_POOL)
        q = choose_question(toolkit.domain, [it for it in map(toolkit.item, ids) if it is not None], belief)
        if q is None:
            out: dict[str, Any] = {"attribute": None, "question": "", "note": "nothing left to ask; recommend instead"}
        else:
            out = {"attribute": q.attribute, "question": question_text(q, toolkit.domain), "options": list(q.options)}
        return json.dumps(out, ensure_ascii=False), out

    common: dict[str, Any] = {"response_format": "content_and_artifact", "handle_tool_error": True}
    rec: Any = StructuredTool.from_function(
        func=recommend,
        name="recommend",
        description=(
            "Recommend items for this user: the recommender's ranking of the catalogue from everything "
            "the user said (liked items, genres, years, people), without items they turned down. "
            "Optionally add genres, a year range or ids to exclude. Returns item ids, titles and a grounded "
            "reason (why) per item, best first."
        ),
        args_schema=RecommendArgs,
        **common,
    )
    ask: Any = StructuredTool.from_function(
        func=suggest_question,
        name="suggest_question",
        description=(
            "Suggest the most informative question to ask the user next (when too little is known to "
            "recommend). Returns the question text."
        ),
        args_schema=SuggestQuestionArgs,
        **common,
    )
    return [rec, ask]
