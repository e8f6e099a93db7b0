"""Vector search as a LangChain tool: ``vector_search``.

It takes pydantic arguments and returns a pydantic result; the tool message's content is the
result as JSON text for the LLM, the typed result is its artifact. A bad argument (blank
query, unknown candidate id, contradictory filter) comes back as a tool error whose message
says what to fix, so the LLM can correct its call.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field

from crsagent.agent.errors import ToolInputError, UserError
from crsagent.tools.catalog.schema import ItemFilter
from crsagent.tools.catalog.tool import validation_message
from crsagent.tools.search.index import VectorIndex

__all__ = ["VectorSearchArgs", "SearchHit", "VectorSearchResult", "make_search_tools", "MAX_TOOL_K", "MAX_CANDIDATES"]

MAX_TOOL_K = 50
MAX_CANDIDATES = 5000


class VectorSearchArgs(BaseModel):
    """Arguments of ``vector_search``."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(
        min_length=1,
        max_length=1000,
        description="What the user is looking for, in words (mood, plot, themes, 'like X but ...').",
    )
    k: int = Field(default=10, ge=1, le=MAX_TOOL_K, description="How many items to return (1-50).")
    filter: ItemFilter | None = Field(
        default=None, description="Optional hard constraints (genres, years, people, brand ...) the items must meet."
    )
    candidate_ids: list[str] | None = Field(
        default=None,
        max_length=MAX_CANDIDATES,
        description="Optional: rank only these item ids (e.g. from another tool).",
    )


class SearchHit(BaseModel):
    """One result: the item, its display title (``Title (Year)``) and its cosine similarity to the
    query (higher is closer)."""

    item_id: str
    title: str | None = None
    score: float


class VectorSearchResult(BaseModel):
    """Result of ``vector_search``, best first."""

    query: str
    items: list[SearchHit]


def _display_titles(db: Any, ids: list[str]) -> dict[str, str]:
    """Item id -> ``Title (Year)`` from the product database (the index keeps bare titles)."""
    if db is None or not ids or not hasattr(db, "get_items"):
        return {}
    try:
        return {it.item_id: it.display_title for it in db.get_items(ids)}
    except ToolInputError:  # an id the database lacks: keep the index's titles
        return {}


def make_search_tools(index: VectorIndex, db: Any = None) -> list[BaseTool]:
    """The vector-search LangChain tool, bound to one index and product database.

    Args:
        index: the domain's vector index.
        db: the product database used for filters (a :class:`ProductDB`); without it a
            filter is refused with a tool error.

    Returns:
        ``[vector_search]``, returning ``(json_text, VectorSearchResult)``
        (``response_format="content_and_artifact"``).
    """

    def vector_search(
        query: str, k: int = 10, filter: ItemFilter | None = None, candidate_ids: list[str] | None = None
    ) -> tuple[str, VectorSearchResult]:
        try:
            hits = index.query(query, k=k, filter=filter, candidate_ids=candidate_ids, db=db)
        except ToolInputError as exc:
            raise ToolException(str(exc)) from exc
        except UserError as exc:  # a filter but no product database wired in
            raise ToolException(f"{exc}; call vector_search without a filter") from exc
        titles = _display_titles(db, [h.item_id for h in hits])
        result = VectorSearchResult(
            query=query,
            items=[
                SearchHit(item_id=h.item_id, title=titles.get(h.item_id, h.title), score=round(h.score, 4))
                for h in hits
            ],
        )
        return result.model_dump_json(exclude_none=True), result

    tool: Any = StructuredTool.from_function(
        func=vector_search,
        name="vector_search",
        description=(
            "Semantic search over the catalogue: finds the items whose title, attributes and plot or "
            "description are closest in meaning to a free-text query. Optionally restricted by hard "
            "constraints (filter) or to given item ids. Returns item ids with similarity scores, best first."
        ),
        args_schema=VectorSearchArgs,
        response_format="content_and_artifact",
        handle_tool_error=True,
        handle_validation_error=validation_message,
    )
    return [tool]
