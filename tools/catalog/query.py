"""Translate an :class:`~crsagent.tools.catalog.schema.ItemFilter` into SQLAlchemy Core.

Every value travels as a bound parameter; ``LIKE`` patterns are built with
``contains(..., autoescape=True)`` so ``%``, ``_`` and the escape character in user text are
literal. Text is lower-cased in Python (:func:`norm`) on both sides, so matching is the same
on SQLite and PostgreSQL. The semantics, which the property tests check against a
pure-Python filter, are:

- ``genres_any`` / ``genres_all`` / ``exclude_genres``: exact genre names, case-insensitive;
- ``year_min`` / ``year_max`` / ``min_rating``: items without a year / rating never match;
- ``people``: each name is a case-insensitive substring of some director, writer or actor;
- ``brand``: equal, case-insensitive; ``text_contains``: substring of title or plot;
- ``include_ids``: only these (an empty list matches nothing); ``exclude_ids``: never these.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import BigInteger, ColumnElement, Select, and_, exists, false, func, literal, or_, select, true

from crsagent.tools.catalog.genre_bits import GenreBits
from crsagent.tools.catalog.schema import ItemFilter
from crsagent.tools.catalog.tables import item_genres, item_people, items, norm

__all__ = ["OrderBy", "ORDER_BY", "norm", "where_clause", "order_clause", "select_items", "select_ids", "select_count"]

OrderBy = Literal["popularity", "rating", "year", "title"]
ORDER_BY: tuple[str, ...] = ("popularity", "rating", "year", "title")


def _norm_set(values: list[str]) -> list[str]:
    return sorted({norm(v) for v in values})


def _has_genre(cond: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(item_genres.c.item_id == items.c.item_id, cond)


def _mask_hits(mask: int) -> ColumnElement[bool]:
    return items.c.genre_mask.op("&", return_type=BigInteger)(literal(mask, BigInteger)) != 0


def _any_genre(genres: list[str], gb: GenreBits | None) -> ColumnElement[bool]:
    """Some of ``genres``: by bit mask where genres have bits, by join otherwise."""
    if gb is None:
        return _has_genre(item_genres.c.genre.in_(genres))
    terms: list[ColumnElement[bool]] = []
    mask = gb.mask(genres)
    if mask:
        terms.append(_mask_hits(mask))
    rest = [g for g in genres if g not in gb.bits]
    if rest and not gb.complete:
        terms.append(_has_genre(item_genres.c.genre.in_(rest)))
    return or_(false(), *terms)


def where_clause(f: ItemFilter, domain: str | None = None, genre_bits: GenreBits | None = None) -> ColumnElement[bool]:
    """The WHERE condition of a filter (``true`` when the filter is empty).

    Args:
        f: the filter.
        domain: restrict to one domain (a PostgreSQL database may hold both).
        genre_bits: the domain's genre bits, to test genres on ``items.genre_mask``; None
            tests them through the ``item_genres`` join table.

    Returns:
        A SQLAlchemy boolean expression over ``items``.
    """
    c = items.c
    conds: list[ColumnElement[bool]] = []
    if domain is not None:
        conds.append(c.domain == domain)
    # Genres: a bit test on the covering index (or a correlated EXISTS probe), so the planner
    # can walk items by popularity and stop at the limit. People: a materialised IN list (a
    # substring match scans the people table once).
    if f.genres_any:
        conds.append(_any_genre(_norm_set(f.genres_any), genre_bits))
    for g in _norm_set(f.genres_all):
        conds.append(_any_genre([g], genre_bits))
    if f.exclude_genres:
        conds.append(~_any_genre(_norm_set(f.exclude_genres), genre_bits))
    if f.year_min is not None:
        conds.append(c.year >= f.year_min)
    if f.year_max is not None:
        conds.append(c.year <= f.year_max)
    for name in _norm_set(f.people):
        conds.append(
            c.item_id.in_(select(item_people.c.item_id).where(item_people.c.name_lc.contains(name, autoescape=True)))
        )
    if f.brand is not None:
        conds.append(c.brand_lc == norm(f.brand))
    if f.exclude_brands:
        conds.append(or_(c.brand_lc.is_(None), c.brand_lc.not_in(sorted(_norm_set(f.exclude_brands)))))
    if f.min_rating is not None:
        conds.append(c.rating_mean >= f.min_rating)
    if f.min_popularity is not None:
        conds.append(c.popularity >= f.min_popularity)
    if f.include_ids is not None:
        conds.append(c.item_id.in_(sorted(set(f.include_ids))))
    if f.exclude_ids:
        conds.append(c.item_id.not_in(sorted(set(f.exclude_ids))))
    if f.text_contains is not None:
        t = norm(f.text_contains)
        conds.append(or_(c.title_lc.contains(t, autoescape=True), c.plot_lc.contains(t, autoescape=True)))
    return and_(true(), *conds)


def order_clause(order_by: str) -> list[ColumnElement[object]]:
    """ORDER BY columns: the requested key first, then ``item_id`` so results are stable."""
    c = items.c
    if order_by == "popularity":
        first: list[ColumnElement[Any]] = [c.popularity.desc()]
    elif order_by == "rating":
        first = [c.rating_mean.is_(None), c.rating_mean.desc()]
    elif order_by == "year":
        first = [c.year.is_(None), c.year.desc()]
    elif order_by == "title":
        first = [c.title_lc.asc()]
    else:
        raise ValueError(f"order_by must be one of {ORDER_BY}, not {order_by!r}")
    return [*first, c.item_id.asc()]


def select_items(
    f: ItemFilter, domain: str | None, order_by: str, limit: int | None, genre_bits: GenreBits | None = None
) -> Select[str]:
    """SELECT the ``record`` (full item JSON) of items matching ``f``."""
    q = select(items.c.record).where(where_clause(f, domain, genre_bits)).order_by(*order_clause(order_by))
    return q.limit(limit) if limit is not None else q


def select_ids(
    f: ItemFilter, domain: str | None, order_by: str, limit: int | None, genre_bits: GenreBits | None = None
) -> Select[str]:
    """SELECT the ids of items matching ``f``."""
    q = select(items.c.item_id).where(where_clause(f, domain, genre_bits)).order_by(*order_clause(order_by))
    return q.limit(limit) if limit is not None else q


def select_count(f: ItemFilter, domain: str | None, genre_bits: GenreBits | None = None) -> Select[int]:
    """SELECT the number of items matching ``f``."""
    return select(func.count()).select_from(items).where(where_clause(f, domain, genre_bits))
