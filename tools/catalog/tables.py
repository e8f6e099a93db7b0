"""The catalogue's relational schema (SQLAlchemy Core) and its writer.

``items`` holds one row per item: the columns filters use, the genres as a bit mask (see
:mod:`~crsagent.tools.catalog.genre_bits`) and the whole
:class:`~crsagent.tools.catalog.schema.Item` as JSON (``record``), so a record comes back
from one column. Join tables ``item_genres`` and ``item_people`` (role director / writer /
cast) carry the indexed copies that filters use; ``item_sources`` maps every source id
(MovieLens, ReDial, Amazon) to its item and ``item_aliases`` keeps alternative titles.
Lower-cased copies (``*_lc``) are made in Python so case-insensitive matching is the same on
SQLite and PostgreSQL.

Nothing here is SQLite-specific: the same schema and writer serve a PostgreSQL database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
)

from crsagent.tools.catalog.build import CatalogData
from crsagent.tools.catalog.genre_bits import GenreBits
from crsagent.tools.catalog.schema import Item

__all__ = [
    "SCHEMA_VERSION",
    "metadata",
    "items",
    "item_genres",
    "item_people",
    "item_sources",
    "item_aliases",
    "catalog_meta",
    "ROLES",
    "norm",
    "item_row",
    "row_to_item",
    "write_catalog",
]

SCHEMA_VERSION = 4
ROLES: dict[str, str] = {"directors": "director", "writers": "writer", "cast": "cast"}

metadata = MetaData()

items = Table(
    "items",
    metadata,
    Column("item_id", String(64), primary_key=True),
    Column("domain", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("title_lc", Text, nullable=False),
    Column("year", Integer),
    Column("plot", Text, nullable=False, default=""),
    Column("plot_lc", Text, nullable=False, default=""),
    Column("brand", Text),
    Column("brand_lc", Text),
    Column("rating_mean", Float),
    Column("rating_count", Integer, nullable=False, default=0),
    Column("mentions", Integer, nullable=False, default=0),
    Column("popularity", Float, nullable=False, default=0.0),
    Column("ml_id", Integer),
    Column("redial_id", Integer),
    Column("source_id", String(64)),
    Column("genre_mask", BigInteger, nullable=False, default=0),
    Column("record", Text, nullable=False),
    # The typical filter (genres + year range + minimum rating, most popular first) is
    # answered from this covering index alone: walk by popularity, test year, rating and the
    # genre mask in the index, stop at the limit. (A separate index on year or rating would
    # tempt the planner away from it; popularity first, since a SQLite file holds one domain.)
    Index("ix_items_popularity_cover", "popularity", "year", "rating_mean", "genre_mask", "domain", "item_id"),
    Index("ix_items_brand_lc", "brand_lc"),
)

item_genres = Table(
    "item_genres",
    metadata,
    Column("genre", String(64), primary_key=True),
    Column("item_id", String(64), ForeignKey("items.item_id", ondelete="CASCADE"), primary_key=True),
    Index("ix_item_genres_item", "item_id"),
)

item_people = Table(
    "item_people",
    metadata,
    Column("item_id", String(64), ForeignKey("items.item_id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("name_lc", Text, nullable=False),
    Index("ix_item_people_name_lc", "name_lc"),
)

item_sources = Table(
    "item_sources",
    metadata,
    Column("source", String(16), primary_key=True),
    Column("source_id", String(64), primary_key=True),
    Column("item_id", String(64), ForeignKey("items.item_id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Index("ix_item_sources_item", "item_id"),
)

item_aliases = Table(
    "item_aliases",
    metadata,
    Column("item_id", String(64), ForeignKey("items.item_id", ondelete="CASCADE"), primary_key=True),
    Column("alias", Text, primary_key=True),
)

catalog_meta = Table(
    "catalog_meta",
    metadata,
    Column("domain", String(16), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


def norm(text: str) -> str:
    """Normalise text for matching: lower case, outer whitespace and NUL characters removed.

    Applied in Python to stored genres and brands and to every filter value, so matching
    does not depend on the database's own case rules.
    """
    return text.replace("\x00", "").strip().lower()


def item_row(item: Item, genre_bits: GenreBits | None = None) -> dict[str, Any]:
    """The ``items`` row of an item: filter columns, the genre mask and the record as JSON."""
    row = item.model_dump(include=set(items.c.keys()))
    row["genre_mask"] = genre_bits.mask(norm(g) for g in item.genres) if genre_bits else 0
    row["title_lc"] = item.title.lower()
    row["plot_lc"] = item.plot.lower()
    row["brand_lc"] = norm(item.brand) if item.brand else None
    row["record"] = item.model_dump_json()
    return row


def row_to_item(record: str) -> Item:
    """An :class:`Item` from the ``record`` column (validated by pydantic's JSON parser)."""
    return Item.model_validate_json(record)


def _batches(rows: Iterable[dict[str, Any]], size: int = 2000) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for r in rows:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _genre_rows(data: CatalogData) -> Iterator[dict[str, Any]]:
    for it in data.items:
        for g in dict.fromkeys(norm(g) for g in it.genres):
            yield {"genre": g, "item_id": it.item_id}


def _people_rows(data: CatalogData) -> Iterator[dict[str, Any]]:
    for it in data.items:
        for field, role in ROLES.items():
            for name in dict.fromkeys(getattr(it, field)):
                yield {"item_id": it.item_id, "role": role, "name": name, "name_lc": name.lower()}


def write_catalog(engine: Engine, data: CatalogData, meta: dict[str, Any] | None = None) -> None:
    """Create the schema if needed and write a domain's catalogue, replacing that domain's rows.

    Runs in one transaction: on PostgreSQL readers see the old or the new catalogue, never a
    mix. (Built SQLite files are written into a fresh folder and swapped in by the
    artifact store.)

    Args:
        engine: a writable engine (SQLite file or PostgreSQL).
        data: the domain's catalogue.
        meta: extra key/values for ``catalog_meta`` (stored as JSON).
    """
    metadata.create_all(engine)
    domain = data.domain
    with engine.begin() as conn:
        ids = select(items.c.item_id).where(items.c.domain == domain)
        for t in (item_genres, item_people, item_sources, item_aliases):
            conn.execute(delete(t).where(t.c.item_id.in_(ids)))
        conn.execute(delete(items).where(items.c.domain == domain))
        conn.execute(delete(catalog_meta).where(catalog_meta.c.domain == domain))
        bits = GenreBits.assign([norm(g) for g in it.genres] for it in data.items)
        for batch in _batches(item_row(it, bits) for it in data.items):
            conn.execute(insert(items), batch)
        for batch in _batches(_genre_rows(data)):
            conn.execute(insert(item_genres), batch)
        for batch in _batches(_people_rows(data)):
            conn.execute(insert(item_people), batch)
        links = {(s.source, s.source_id): s for s in data.links}
        for batch in _batches(
            {"source": s.source, "source_id": s.source_id, "item_id": s.item_id, "title": s.title}
            for s in links.values()
        ):
            conn.execute(insert(item_sources), batch)
        for batch in _batches(
            {"item_id": i, "alias": a} for i, names in data.aliases.items() for a in dict.fromkeys(names)
        ):
            conn.execute(insert(item_aliases), batch)
        info = {"schema_version": SCHEMA_VERSION, "stats": data.stats, "genre_bits": bits.to_json(), **(meta or {})}
        conn.execute(
            insert(catalog_meta),
            [{"domain": domain, "key": k, "value": json.dumps(v, default=str)} for k, v in info.items()],
        )
