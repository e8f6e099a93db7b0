"""The product database as LangChain tools: ``search_products`` and ``get_items``.

Both tools take pydantic arguments and return a pydantic result: the tool message's content
is the result as JSON text for the LLM, the typed result is its artifact. A bad argument
(contradictory filter, unknown id) comes back as a tool error whose message says what to fix,
so the LLM can correct its call; it never raises out of the tool.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crsagent.agent.errors import ToolInputError
from crsagent.tools.catalog.db import ProductDB
from crsagent.tools.catalog.schema import Item, ItemFilter

__all__ = [
    "ProductCard",
    "SearchProductsArgs",
    "SearchProductsResult",
    "GetItemsArgs",
    "GetItemsResult",
    "make_catalog_tools",
    "validation_message",
]

MAX_RESULTS = 50
MAX_IDS = 20
PLOT_CHARS = 240


class ProductCard(BaseModel):
    """A compact view of an item for search results (the LLM's context is small).

    ``title`` is the display title, ``Title (Year)`` when the item has a year, the same
    format as every other tool's results.
    """

    item_id: str
    title: str
    year: int | None = None
    genres: list[str] = Field(default_factory=list)
    directors: list[str] = Field(default_factory=list)
    cast: list[str] = Field(default_factory=list)
    brand: str | None = None
    rating_mean: float | None = None
    popularity: float = 0.0
    summary: str = ""

    @classmethod
    def from_item(cls, item: Item) -> ProductCard:
        """The card of an item; the plot or description is cut to a short summary."""
        plot = item.plot
        if len(plot) > PLOT_CHARS:
            plot = plot[:PLOT_CHARS].rsplit(" ", 1)[0] + " ..."
        return cls(
            item_id=item.item_id,
            title=item.display_title,
            year=item.year,
            genres=item.genres,
            directors=item.directors,
            cast=item.cast,
            brand=item.brand,
            rating_mean=round(item.rating_mean, 2) if item.rating_mean is not None else None,
            popularity=item.popularity,
            summary=plot,
        )


class SearchProductsArgs(BaseModel):
    """Arguments of ``search_products``."""

    model_config = ConfigDict(extra="forbid")

    filter: ItemFilter = Field(
        default_factory=ItemFilter,
        description="Hard constraints; every field is optional and set fields must all hold.",
    )
    limit: int = Field(default=10, ge=1, le=MAX_RESULTS, description="How many items to return (1-50).")
    order_by: Literal["popularity", "rating", "year", "title"] = Field(
        default="popularity", description="Sort key: popularity (default), rating, year (newest first) or title."
    )


class SearchProductsResult(BaseModel):
    """Result of ``search_products``: how many items match, and the first ``limit`` of them."""

    total: int
    items: list[ProductCard]


class GetItemsArgs(BaseModel):
    """Arguments of ``get_items``."""

    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(
        min_length=1, max_length=MAX_IDS, description="Catalogue item ids, as returned by a search or recommendation."
    )


class GetItemsResult(BaseModel):
    """Result of ``get_items``: the full records, in the order asked."""

    items: list[Item]


def validation_message(exc: ValidationError) -> str:
    """A short, actionable message for invalid tool arguments."""
    problems = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"]) or "arguments"
        msg = str(e.get("msg", "invalid"))
        problems.append(f"{where}: {msg.removeprefix('Value error, ')}")
    return "invalid arguments: " + "; ".join(problems) + ". Fix these fields and call the tool again."


def make_catalog_tools(db: ProductDB) -> list[BaseTool]:
    """The catalogue's LangChain tools, bound to one database.

    Args:
        db: the product database of the domain.

    Returns:
        ``[search_products, get_items]``; each returns ``(json_text, typed_result)``
        (``response_format="content_and_artifact"``).
    """

    def search_products(
        filter: ItemFilter | None = None, limit: int = 10, order_by: str = "popularity"
    ) -> tuple[str, SearchProductsResult]:
        f = filter or ItemFilter()
        try:
            found = db.filter(f, limit=limit, order_by=order_by)
            total = db.count(f) if len(found) >= limit else len(found)
        except ToolInputError as exc:
            raise ToolException(str(exc)) from exc
        result = SearchProductsResult(total=total, items=[ProductCard.from_item(i) for i in found])
        return result.model_dump_json(exclude_defaults=True), result

    def get_items(ids: list[str]) -> tuple[str, GetItemsResult]:
        try:
            result = GetItemsResult(items=db.get_items(ids))
        except ToolInputError as exc:
            raise ToolException(str(exc)) from exc
        return result.model_dump_json(exclude_defaults=True), result

    common: dict[str, Any] = {
        "response_format": "content_and_artifact",
        "handle_tool_error": True,
        "handle_validation_error": validation_message,
    }
    search: Any = StructuredTool.from_function(
        func=search_products,
        name="search_products",
        description=(
            "Find catalogue items that satisfy hard constraints (genres, year range, people, brand, minimum "
            "rating or popularity, ids to include or exclude, text in the title or description). Returns the "
            "number of matches and the best items by the chosen order, with their ids."
        ),
        args_schema=SearchProductsArgs,
        **common,
    )
    get: Any = StructuredTool.from_function(
        func=get_items,
        name="get_items",
        description="Get the full records (all facts) of catalogue items by id, in the order given.",
        args_schema=GetItemsArgs,
        **common,
    )
    return [search, get]
