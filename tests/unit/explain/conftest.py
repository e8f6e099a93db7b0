"""Fixtures for the explainer's unit tests: the real bundled catalogues, held in memory.

The items come from the catalogue builder's own join of the bundled data (no SQLite build
needed), so the explanations are checked against real records.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from crsagent.agent.errors import UnknownItemError
from crsagent.agent.settings import default_data_dir
from crsagent.tools.catalog.build import build_domain
from crsagent.tools.catalog.schema import Item, ScoredItem


class MemoryCatalog:
    """A dict-backed stand-in for ProductDB with the same lookup contract."""

    def __init__(self, items: Sequence[Item]) -> None:
        self.items = {i.item_id: i for i in items}

    def get_items(self, ids: list[str]) -> list[Item]:
        missing = [i for i in ids if i not in self.items]
        if missing:
            raise UnknownItemError(missing)
        return [self.items[i] for i in ids]

    def get_item(self, item_id: str) -> Item:
        return self.get_items([item_id])[0]


class TableCF:
    """A CF stand-in whose neighbour lists are given by the test."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[tuple[str, int]] = []

    def neighbours(self, item_id: str, k: int) -> list[ScoredItem]:
        self.calls.append((item_id, k))
        if item_id not in self.table:
            raise UnknownItemError([item_id], "no CF vector")
        return [ScoredItem(item_id=i, score=1.0 - n / 100) for n, i in enumerate(self.table[item_id][:k])]


@pytest.fixture(scope="session")
def movie_catalog() -> MemoryCatalog:
    """The real movie catalogue (MovieLens joined with ReDial)."""
    return MemoryCatalog(build_domain(default_data_dir(), "movies").items)


@pytest.fixture(scope="session")
def office_catalog() -> MemoryCatalog:
    """The real office-products catalogue."""
    return MemoryCatalog(build_domain(default_data_dir(), "office").items)


@pytest.fixture()
def table_cf() -> type[TableCF]:
    """The CF stand-in class."""
    return TableCF
