"""The catalogue's LangChain tools: typed arguments and results, errors an LLM can act on."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import ToolMessage

from crsagent.tools.catalog.db import ProductDB
from crsagent.tools.catalog.tool import GetItemsResult, SearchProductsResult, make_catalog_tools


@pytest.fixture()
def tools(movies_db: ProductDB) -> dict:
    return {t.name: t for t in make_catalog_tools(movies_db)}


def _call(tool, args: dict) -> ToolMessage:
    return tool.invoke({"name": tool.name, "args": args, "id": "call-1", "type": "tool_call"})


def test_tool_names_and_schemas(tools: dict) -> None:
    assert set(tools) == {"search_products", "get_items"}
    schema = tools["search_products"].tool_call_schema.model_json_schema()
    assert set(schema["properties"]) == {"filter", "limit", "order_by"}
    assert "genres_any" in json.dumps(schema)  # the filter's fields are visible to the LLM
    assert tools["get_items"].tool_call_schema.model_json_schema()["required"] == ["ids"]


def test_search_products_returns_typed_result(tools: dict, movies_db: ProductDB) -> None:
    msg = _call(tools["search_products"], {"filter": {"genres_any": ["Horror", "Action"]}, "limit": 2})
    assert msg.status == "success" and isinstance(msg.artifact, SearchProductsResult)
    assert msg.artifact.total == movies_db.count({"genres_any": ["horror", "action"]}) == 3
    assert [c.item_id for c in msg.artifact.items] == ["tt0133093", "tt2321549"]
    content = json.loads(msg.content)
    assert (
        content["total"] == 3 and content["items"][0]["title"] == "The Matrix (1999)"
    )  # the display title, as every tool


def test_search_products_order_and_default_filter(tools: dict) -> None:
    msg = _call(tools["search_products"], {"order_by": "year", "limit": 1})
    assert msg.artifact.items[0].year == 2018 and msg.artifact.total == 10


def test_get_items_keeps_order(tools: dict) -> None:
    msg = _call(tools["get_items"], {"ids": ["tt2321549", "tt0133093"]})
    assert isinstance(msg.artifact, GetItemsResult)
    assert [i.item_id for i in msg.artifact.items] == ["tt2321549", "tt0133093"]
    assert msg.artifact.items[1].directors == ["Lana Wachowski"]
    assert msg.artifact.items[0].directors == []  # ReDial's entry describes another IMDb id (audit)


@pytest.mark.parametrize(
    ("name", "args", "needle"),
    [
        ("get_items", {"ids": ["tt0133093", "tt404"]}, "unknown item id(s): tt404"),
        ("get_items", {"ids": []}, "ids: List should have at least 1 item"),
        (
            "search_products",
            {"filter": {"year_min": 2010, "year_max": 1990}},
            "year_min (2010) is after year_max (1990)",
        ),
        (
            "search_products",
            {"filter": {"min_rating": 9}},
            "filter.min_rating: Input should be less than or equal to 5",
        ),
        ("search_products", {"filter": {"colour": "red"}}, "filter.colour: Extra inputs are not permitted"),
        ("search_products", {"limit": 500}, "limit: Input should be less than or equal to 50"),
        ("search_products", {"order_by": "price"}, "order_by"),
    ],
)
def test_bad_arguments_become_tool_errors(tools: dict, name: str, args: dict, needle: str) -> None:
    msg = _call(tools[name], args)
    assert msg.status == "error" and needle in msg.content


def test_hostile_strings_through_the_tool(tools: dict, movies_db: ProductDB) -> None:
    msg = _call(tools["search_products"], {"filter": {"text_contains": "'; DROP TABLE items; --", "people": ["%"]}})
    assert msg.status == "success" and msg.artifact.total == 0
    assert movies_db.count() == 10
