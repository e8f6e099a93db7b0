"""Product catalogue: build, database and tools.

- :mod:`~crsagent.tools.catalog.schema`: :class:`Item`, :class:`ItemFilter`, :class:`ScoredItem`.
- :mod:`~crsagent.tools.catalog.build`: join the raw sources into :class:`CatalogData`.
- :mod:`~crsagent.tools.catalog.stage`: the ``catalog`` build stage (``catalog.sqlite``).
- :mod:`~crsagent.tools.catalog.db`: :class:`ProductDB`, read-only typed queries.
- :mod:`~crsagent.tools.catalog.tool`: LangChain tools over a :class:`ProductDB`.
"""

from crsagent.tools.catalog.build import CatalogData, SourceLink, build_domain, build_movies, build_office
from crsagent.tools.catalog.db import DB_FILE, ProductDB, as_filter
from crsagent.tools.catalog.schema import Item, ItemFilter, ScoredItem
from crsagent.tools.catalog.titles import parse_title, title_key

_TOOL_EXPORTS = ("make_catalog_tools", "ProductCard", "SearchProductsResult", "GetItemsResult")

__all__ = [
    "Item",
    "ItemFilter",
    "ScoredItem",
    "CatalogData",
    "SourceLink",
    "build_domain",
    "build_movies",
    "build_office",
    "ProductDB",
    "DB_FILE",
    "as_filter",
    "parse_title",
    "title_key",
    *_TOOL_EXPORTS,
]


def __getattr__(name: str) -> object:
    """The LangChain tools load on first use, so the database needs no LangChain import."""
    if name in _TOOL_EXPORTS:
        from crsagent.tools.catalog import tool

        return getattr(tool, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
