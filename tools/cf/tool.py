"""The recommender models as LangChain tools: ``recommend_cf`` and ``score_intents``.

Both take pydantic arguments and return ``(json_text, typed_result)``
(``response_format="content_and_artifact"``). Bad arguments (unknown ids, a contradictory
filter) come back as tool errors whose message says what to fix; they never raise out.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crsagent.agent.errors import ToolInputError
from crsagent.tools.catalog.schema import ItemFilter, ScoredItem
from crsagent.tools.catalog.tool import validation_message
from crsagent.tools.cf.model import CFModel

__all__ = [
    "RecommendCFArgs",
    "RecommendCFResult",
    "ScoreIntentsArgs",
    "IntentWeight",
    "ScoreIntentsResult",
    "make_model_tools",
]

MAX_K = 50
MAX_IDS = 50
TOP_INTENTS = 3


class RecommendCFArgs(BaseModel):
    """Arguments of ``recommend_cf``."""

    model_config = ConfigDict(extra="forbid")

    liked: list[str] = Field(default_factory=list, max_length=MAX_IDS, description="Ids of items the user liked.")
    disliked: list[str] = Field(default_factory=list, max_length=MAX_IDS, description="Ids of items the user disliked.")
    k: int = Field(default=10, ge=1, le=MAX_K, description="How many items to return (1-50).")
    filter: ItemFilter | None = Field(default=None, description="Hard constraints the items must satisfy.")


class RecommendCFResult(BaseModel):
    """Result of ``recommend_cf``: items people with the same taste liked, best first."""

    items: list[ScoredItem]


class ScoreIntentsArgs(BaseModel):
    """Arguments of ``score_intents``."""

    model_config = ConfigDict(extra="forbid")

    liked: list[str] = Field(
        default_factory=list, max_length=MAX_IDS, description="Ids of items the user liked, oldest first."
    )
    dialogue_text: str = Field(default="", max_length=4000, description="What the user said so far.")
    k: int = Field(default=10, ge=1, le=MAX_K, description="How many items to return (1-50).")


class IntentWeight(BaseModel):
    """One latent intent with its probability and readable label."""

    intent_id: int
    probability: float
    label: str


class ScoreIntentsResult(BaseModel):
    """Result of ``score_intents``: the most likely intents and the items they favour."""

    intents: list[IntentWeight]
    items: list[ScoredItem]


def _rounded(items: list[ScoredItem]) -> list[ScoredItem]:
    return [ScoredItem(item_id=i.item_id, score=round(i.score, 4), title=i.title) for i in items]


def make_model_tools(cf: CFModel | None, intent: Any | None, db: Any | None) -> list[BaseTool]:
    """The model tools, bound to loaded models.

    Args:
        cf: the CF model; without it there is no ``recommend_cf``.
        intent: the :class:`~crsagent.tools.intent.scorer.IntentScorer`; without it there is
            no ``score_intents``.
        db: the product database (:class:`~crsagent.tools.catalog.db.ProductDB`) that
            resolves ``filter``; without it a filter is refused.

    Returns:
        The tools whose models exist.
    """

    def recommend_cf(
        liked: list[str] | None = None, disliked: list[str] | None = None, k: int = 10, filter: ItemFilter | None = None
    ) -> tuple[str, RecommendCFResult]:
        try:
            candidates = None
            if filter is not None and not filter.is_empty():
                if db is None:
                    raise ToolInputError("filters are not available here; call again without 'filter'")
                candidates = [i for i in db.filter_ids(filter) if i in cf]  # type: ignore[operator]
            items = cf.recommend(liked or [], disliked or [], k=k, candidate_ids=candidates)  # type: ignore[union-attr]
        except ToolInputError as exc:
            raise ToolException(str(exc)) from exc
        except ValidationError as exc:
            raise ToolException(validation_message(exc)) from exc
        result = RecommendCFResult(items=_rounded(items))
        return result.model_dump_json(exclude_none=True), result

    def score_intents(
        liked: list[str] | None = None, dialogue_text: str = "", k: int = 10
    ) -> tuple[str, ScoreIntentsResult]:
        try:
            res = intent.score(liked or [], dialogue_text, k=k)  # type: ignore[union-attr]
        except ToolInputError as exc:
            raise ToolException(str(exc)) from exc
        intents = [
            IntentWeight(intent_id=m, probability=round(p, 4), label=lab) for m, p, lab in res.intents[:TOP_INTENTS]
        ]
        result = ScoreIntentsResult(intents=intents, items=_rounded(res.items))
        return result.model_dump_json(exclude_none=True), result

    common: dict[str, Any] = {
        "response_format": "content_and_artifact",
        "handle_tool_error": True,
        "handle_validation_error": validation_message,
    }
    tools: list[BaseTool] = []
    if cf is not None:
        tools.append(
            StructuredTool.from_function(
                func=recommend_cf,
                name="recommend_cf",
                description=(
                    "Recommend items from collaborative filtering: what people who liked the user's liked items "
                    "also liked; items similar to disliked ones are pushed down. Optional hard constraints. "
                    "Returns item ids with scores (higher is better)."
                ),
                args_schema=RecommendCFArgs,
                **common,
            )
        )
    if intent is not None:
        tools.append(
            StructuredTool.from_function(
                func=score_intents,
                name="score_intents",
                description=(
                    "Infer the user's latent intents from their liked items and what they said, and score items "
                    "for those intents. Returns the top intents (with readable labels) and item ids with scores."
                ),
                args_schema=ScoreIntentsArgs,
                **common,
            )
        )
    return tools
