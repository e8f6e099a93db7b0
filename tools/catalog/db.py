"""``ProductDB``: typed, read-only queries over a built catalogue (SQLite or PostgreSQL).

Open the artifact of a domain with :meth:`ProductDB.for_domain`, or any database with
:meth:`ProductDB.open`. SQLite files are opened through a ``file:...?mode=ro`` URI with
``PRAGMA query_only`` on and an authorizer that refuses writes, ``ATTACH`` and settings
pragmas, so nothing at query time can write (not even raw SQL that turns ``query_only`` off); built catalogues use the
rollback journal (not WAL), so read-only readers need no ``-shm`` file and never block each
other. PostgreSQL connections open with ``default_transaction_read_only``. Filters become
parameterised SQLAlchemy Core queries (:mod:`crsagent.tools.catalog.query`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from crsagent.agent.errors import ConfigError, DataError, InvalidFilterError, UnknownItemError
from crsagent.agent.settings import Settings
from crsagent.tools.artifacts import ArtifactStore
from crsagent.tools.catalog.build import CatalogData, SourceLink
from crsagent.tools.catalog.genre_bits import GenreBits
from crsagent.tools.catalog.query import ORDER_BY, select_count, select_ids, select_items
from crsagent.tools.catalog.schema import Item, ItemFilter
from crsagent.tools.catalog.tables import (
    catalog_meta,
    item_aliases,
    item_sources,
    items,
    row_to_item,
    write_catalog,
)

__all__ = ["ProductDB", "DB_FILE", "as_filter", "database_url"]

DB_FILE = "catalog.sqlite"
_CHUNK = 500


def as_filter(f: ItemFilter | dict[str, Any] | None) -> ItemFilter:
    """An :class:`ItemFilter` from a filter, a dict or None.

    Raises:
        InvalidFilterError: the dict is not a valid filter (unknown field, out-of-range value,
            contradiction); the message names the problem.
    """
    if f is None:
        return ItemFilter()
    if isinstance(f, ItemFilter):
        return f
    try:
        return ItemFilter.model_validate(f)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'filter'}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise InvalidFilterError(f"invalid filter: {problems}") from None


def database_url(url: str) -> str:
    """A SQLAlchemy URL with a driver: plain ``postgresql://`` (or ``postgres://``) uses psycopg 3,
    the driver crsagent depends on (SQLAlchemy's default would be psycopg2)."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


#: Pragmas that only read (with an argument: a table or index name) stay allowed.
_READ_PRAGMAS = frozenset(
    {"table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list",
     "database_list", "collation_list", "function_list", "compile_options"}
)  # fmt: skip
_READ_ACTIONS = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)


def _read_only_authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None) -> int:
    """SQLite authorizer of catalogue connections: reads only."""
    del db, source
    if action in _READ_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg2 is None and arg1 != "query_only" or arg1 in _READ_PRAGMAS):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_TRANSACTION:  # BEGIN / COMMIT of a read transaction
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _sqlite_engine(path: Path, read_only: bool) -> Engine:
    path = Path(path).resolve()
    if read_only:
        uri = f"{path.as_uri()}?mode=ro"

        def creator() -> sqlite3.Connection:
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
            conn.set_authorizer(_read_only_authorizer)
            return conn

        return create_engine(f"sqlite:///{path}", creator=creator)
    return create_engine(f"sqlite:///{path}")


class ProductDB:
    """Typed queries over one domain's catalogue.

    Args:
        engine: a SQLAlchemy engine on a catalogue database.
        domain: restrict every query to this domain (None: whatever the database holds).
        use_genre_bits: test genres on the items' genre bit masks (fast); False tests them
            through the ``item_genres`` join table (same results).
    """

    def __init__(self, engine: Engine, domain: str | None = None, use_genre_bits: bool = True) -> None:
        self.engine = engine
        self.domain = domain
        self.use_genre_bits = use_genre_bits
        self._all: list[Item] | None = None
        self._by_id: dict[str, Item] | None = None
        self._ids: frozenset[str] | None = None
        self._gb: GenreBits | None = None
        self._gb_loaded = False

    @property
    def genre_bits(self) -> GenreBits | None:
        """The genre bits of this catalogue's domain (None: not used, or several domains)."""
        if not self._gb_loaded:
            if self.use_genre_bits:
                q = select(catalog_meta.c.value).where(catalog_meta.c.key == "genre_bits")
                if self.domain is not None:
                    q = q.where(catalog_meta.c.domain == self.domain)
                with self.engine.connect() as conn:
                    values = list(conn.execute(q).scalars())
                # With several domains and no domain chosen, masks would mean different genres.
                self._gb = GenreBits.from_json(json.loads(values[0])) if len(values) == 1 else None
            self._gb_loaded = True
        return self._gb

    # -- opening ---------------------------------------------------------------------
    @classmethod
    def open(cls, url_or_path: str | Path, read_only: bool = True, domain: str | None = None) -> ProductDB:
        """Open a catalogue: a SQLite file path or a SQLAlchemy URL (``postgresql+psycopg://...``).

        Args:
            url_or_path: file path, ``sqlite:///...`` or another SQLAlchemy URL.
            read_only: open so that nothing can be written (the default).
            domain: restrict queries to one domain.

        Raises:
            DataError: the file is missing or holds no catalogue.
        """
        s = database_url(str(url_or_path))
        if "://" in s and not s.startswith("sqlite"):
            kwargs: dict[str, Any] = {"pool_pre_ping": True}
            if read_only and s.startswith("postgresql"):
                kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
            engine = create_engine(s, **kwargs)
            where: object = engine.url.render_as_string(hide_password=True)
        else:
            path = Path(s.split("sqlite:///", 1)[1]) if s.startswith("sqlite:///") else Path(s)
            if not path.is_file():
                raise DataError("no catalogue database here; run `crsagent build`", path)
            engine, where = _sqlite_engine(path, read_only), path
        try:
            has_items = inspect(engine).has_table(items.name)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise DataError(f"cannot open the catalogue database: {exc.__class__.__name__}: {exc}", where) from exc
        if not has_items:
            engine.dispose()
            raise DataError("not a catalogue database (no 'items' table)", where)
        return cls(engine, domain)

    @classmethod
    def for_domain(cls, settings: Settings, domain: str) -> ProductDB:
        """Open a domain's catalogue: ``settings.database_url`` when set, else the built artifact.

        Raises:
            NotBuiltError: no catalogue was built for the domain.
        """
        if settings.database_url:
            return cls.open(settings.database_url, read_only=True, domain=domain)
        path = ArtifactStore(settings.home, domain).path("catalog") / DB_FILE
        return cls.open(path, read_only=True, domain=domain)

    @staticmethod
    def load_into(url: str, data: CatalogData, meta: dict[str, Any] | None = None) -> None:
        """Write a catalogue into a database (for example PostgreSQL), replacing its domain.

        Args:
            url: a writable SQLAlchemy URL.
            data: the catalogue (from :func:`~crsagent.tools.catalog.build.build_domain` or
                :meth:`export`).
            meta: extra metadata to store.
        """
        engine = create_engine(database_url(url))
        try:
            write_catalog(engine, data, meta)
        finally:
            engine.dispose()

    def export(self) -> CatalogData:
        """This catalogue as :class:`CatalogData`, e.g. to copy it with :meth:`load_into`."""
        all_items = self.all_items()
        domain = self.domain or (all_items[0].domain if all_items else "movies")
        ids = {i.item_id for i in all_items}
        with self.engine.connect() as conn:
            links = [
                SourceLink(r.source, r.source_id, r.item_id, r.title)
                for r in conn.execute(select(item_sources).order_by(item_sources.c.source, item_sources.c.source_id))
                if r.item_id in ids
            ]
            stats = conn.execute(
                select(catalog_meta.c.value).where(catalog_meta.c.domain == domain, catalog_meta.c.key == "stats")
            ).scalar()
        return CatalogData(domain, all_items, links, self.aliases(), json.loads(stats) if stats else {})

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> ProductDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- queries ---------------------------------------------------------------------
    def _check(self, order_by: str, limit: int | None) -> None:
        if order_by not in ORDER_BY:
            raise InvalidFilterError(f"order_by must be one of {list(ORDER_BY)}, not {order_by!r}")
        if limit is not None and limit < 0:
            raise InvalidFilterError(f"limit must be >= 0, not {limit}")

    def filter(
        self, f: ItemFilter | dict[str, Any] | None = None, limit: int | None = 50, order_by: str = "popularity"
    ) -> list[Item]:
        """Items matching a filter, best first.

        Args:
            f: the constraints (an ItemFilter, its dict form, or None for all items).
            limit: at most this many items (None: all).
            order_by: ``popularity`` (default), ``rating``, ``year`` or ``title``.

        Raises:
            InvalidFilterError: the filter, limit or order is invalid.
        """
        f = as_filter(f)
        self._check(order_by, limit)
        q = select_items(f, self.domain, order_by, limit, self.genre_bits)
        with self.engine.connect() as conn:
            return [row_to_item(r) for r in conn.execute(q).scalars()]

    def filter_ids(
        self, f: ItemFilter | dict[str, Any] | None = None, limit: int | None = None, order_by: str = "popularity"
    ) -> list[str]:
        """Ids of items matching a filter, best first (all by default)."""
        f = as_filter(f)
        self._check(order_by, limit)
        with self.engine.connect() as conn:
            return list(conn.execute(select_ids(f, self.domain, order_by, limit, self.genre_bits)).scalars())

    def count(self, f: ItemFilter | dict[str, Any] | None = None) -> int:
        """Number of items matching a filter (all items when None)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select_count(as_filter(f), self.domain, self.genre_bits)).scalar_one())

    def _rows(self, ids: list[str]) -> dict[str, Item]:
        found: dict[str, Item] = {}
        uniq = list(dict.fromkeys(ids))
        with self.engine.connect() as conn:
            for i in range(0, len(uniq), _CHUNK):
                q = select(items.c.item_id, items.c.record).where(items.c.item_id.in_(uniq[i : i + _CHUNK]))
                if self.domain is not None:
                    q = q.where(items.c.domain == self.domain)
                for r in conn.execute(q):
                    found[r.item_id] = row_to_item(r.record)
        return found

    def get_items(self, ids: Iterable[str]) -> list[Item]:
        """Full records of items, in the order asked (repeats kept).

        Raises:
            UnknownItemError: some ids are not in the catalogue (all of them are listed).
        """
        ids = [str(i) for i in ids]
        # once every item was loaded (the agent's toolkit does at start), records come from memory
        found = self._by_id if self._by_id is not None else self._rows(ids)
        missing = [i for i in dict.fromkeys(ids) if i not in found]
        if missing:
            raise UnknownItemError(missing)
        return [found[i] for i in ids]

    def get_item(self, item_id: str) -> Item:
        """One item's full record.

        Raises:
            UnknownItemError: the id is not in the catalogue.
        """
        return self.get_items([item_id])[0]

    def all_items(self) -> list[Item]:
        """Every item, by popularity (loaded once, then cached)."""
        if self._all is None:
            every = self.filter(None, limit=None)
            self._by_id = {i.item_id: i for i in every}
            self._ids = frozenset(self._by_id)
            self._all = every
        return list(self._all)

    def ids(self) -> frozenset[str]:
        """All item ids (cached)."""
        if self._ids is None:
            self.all_items()
        assert self._ids is not None
        return self._ids

    def has(self, item_id: str) -> bool:
        """Whether an id is in the catalogue."""
        return item_id in self.ids()

    def popularity(self, ids: Iterable[str]) -> dict[str, float]:
        """Popularity of the given items; ids not in the catalogue are left out."""
        uniq = list(dict.fromkeys(str(i) for i in ids))
        out: dict[str, float] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(uniq), _CHUNK):
                q = select(items.c.item_id, items.c.popularity).where(items.c.item_id.in_(uniq[i : i + _CHUNK]))
                if self.domain is not None:
                    q = q.where(items.c.domain == self.domain)
                out.update({r.item_id: float(r.popularity) for r in conn.execute(q)})
        return out

    def aliases(self) -> dict[str, list[str]]:
        """Alternative titles per item id (other-source and original-language titles)."""
        q = select(item_aliases.c.item_id, item_aliases.c.alias).order_by(item_aliases.c.item_id, item_aliases.c.alias)
        if self.domain is not None:
            q = q.join(items, items.c.item_id == item_aliases.c.item_id).where(items.c.domain == self.domain)
        out: dict[str, list[str]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(q):
                out.setdefault(r.item_id, []).append(r.alias)
        return out

    def source_map(self, source: str) -> dict[str, str]:
        """Source id -> item id for one source (``movielens``, ``redial`` or ``amazon``).

        Raises:
            ConfigError: the source is unknown.
        """
        if source not in ("movielens", "redial", "amazon"):
            raise ConfigError(f"unknown source {source!r}; use movielens, redial or amazon")
        q = select(item_sources.c.source_id, item_sources.c.item_id).where(item_sources.c.source == source)
        with self.engine.connect() as conn:
            return {r.source_id: r.item_id for r in conn.execute(q)}

    def genres(self) -> dict[str, int]:
        """Genre -> number of items, most common first."""
        counts: dict[str, int] = {}
        for it in self.all_items():
            for g in it.genres:
                counts[g] = counts.get(g, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def meta(self) -> dict[str, Any]:
        """The build metadata stored with the catalogue (schema version, stats, hashes)."""
        q = select(catalog_meta.c.key, catalog_meta.c.value)
        if self.domain is not None:
            q = q.where(catalog_meta.c.domain == self.domain)
        with self.engine.connect() as conn:
            return {r.key: json.loads(r.value) for r in conn.execute(q)}
