"""Build the item table of a domain from the raw sources.

Movies: MovieLens (9,742 movies with ratings) and ReDial (6,583 movies with plots, people
and dialogue mentions) are joined into one table keyed by IMDb id. A ReDial movie joins a
MovieLens movie when their IMDb ids agree, otherwise when exactly one MovieLens movie has the
same normalised title (or alternative title) and year, or else exactly one not yet joined
MovieLens movie has the same title and a year one apart; the rest become items of their own.
Several ReDial ids may land on one item (ReDial lists some movies twice); every source id
maps to exactly one item through :class:`SourceLink`.

Office: Amazon Office items with HTML-free descriptions; popularity counts how often an item
occurs in the user sequences of ``valid.csv``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from crsagent.agent.errors import DataError
from crsagent.tools.catalog import sources as src
from crsagent.tools.catalog.schema import Item
from crsagent.tools.catalog.text import clean_description, clean_text, split_list_literal
from crsagent.tools.catalog.titles import parse_title, title_key

__all__ = [
    "SourceLink",
    "CatalogData",
    "NO_GENRE",
    "join_movies",
    "build_movies",
    "office_items",
    "build_office",
    "build_domain",
]

NO_GENRE = "(no genres listed)"


@dataclass(frozen=True, slots=True)
class SourceLink:
    """Where an item came from: one source id maps to exactly one item.

    Attributes:
        source: ``movielens``, ``redial`` or ``amazon``.
        source_id: the id in that source (as a string).
        item_id: the catalogue item it became part of.
        title: the title as the source wrote it.
    """

    source: str
    source_id: str
    item_id: str
    title: str


@dataclass
class CatalogData:
    """The output of a domain build: items, source links, alternative titles and figures."""

    domain: str
    items: list[Item]
    links: list[SourceLink]
    aliases: dict[str, list[str]] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)


@dataclass
class _Draft:
    item_id: str
    ml: src.MovieLensMovie | None = None
    redial: list[src.RedialMovie] = field(default_factory=list)


def _first(values: Iterable[tuple[str, ...]]) -> list[str]:
    for v in values:
        if v:
            return list(v)
    return []


def _merge_movie(
    d: _Draft,
    ratings: dict[int, src.RatingStats],
    mentions: dict[int, int],
) -> tuple[Item, list[str]]:
    """One joined movie and its alternative titles."""
    ml_parsed = parse_title(d.ml.title) if d.ml else None
    rd_parsed = {r.redial_id: parse_title(r.name) for r in d.redial}
    main_key = title_key(ml_parsed.title) if ml_parsed else None
    # The primary ReDial entry: same title as the MovieLens one first, then most mentioned.
    reds = sorted(
        d.redial,
        key=lambda r: (title_key(rd_parsed[r.redial_id].title) != main_key, -mentions.get(r.redial_id, 0), r.redial_id),
    )
    title = ml_parsed.title if ml_parsed else rd_parsed[reds[0].redial_id].title
    years = ([ml_parsed.year] if ml_parsed else []) + [rd_parsed[r.redial_id].year for r in reds]
    year = next((y for y in years if y is not None), None)
    genres = {g.lower().strip() for g in (d.ml.genres if d.ml else ()) if g != NO_GENRE}
    genres |= {g.lower().strip() for r in reds for g in r.genres}
    stats = ratings.get(d.ml.ml_id) if d.ml else None
    n_mentions = sum(mentions.get(r.redial_id, 0) for r in reds)
    count = stats.count if stats else 0
    item = Item(
        item_id=d.item_id,
        domain="movies",
        title=title,
        year=year,
        genres=sorted(g for g in genres if g),
        directors=_first(r.directors for r in reds),
        writers=_first(r.writers for r in reds),
        cast=_first(r.cast for r in reds),
        plot=next((r.plot for r in reds if r.plot), ""),
        rating_mean=round(stats.mean, 4) if stats else None,
        rating_count=count,
        mentions=n_mentions,
        popularity=float(count + n_mentions),
        ml_id=d.ml.ml_id if d.ml else None,
        redial_id=reds[0].redial_id if reds else None,
    )
    names = [title] + (list(ml_parsed.aliases) if ml_parsed else [])
    for r in reds:
        names += [rd_parsed[r.redial_id].title, *rd_parsed[r.redial_id].aliases]
    aliases = list(dict.fromkeys(n for n in names if n and n != title))
    return item, aliases


def _near_year(
    title: str, year: int, by_title: dict[tuple[str, int], set[str]], drafts: dict[str, _Draft]
) -> set[str]:
    """MovieLens movies with exactly this title (article included) released a year apart,
    that no ReDial movie joined by IMDb id yet (release years differ between sources)."""
    exact = title_key(title, drop_article=False)
    hits: set[str] = set()
    for y in (year - 1, year + 1):
        for item_id in by_title.get((title_key(title), y), ()):
            d = drafts[item_id]
            if not d.redial and d.ml and title_key(parse_title(d.ml.title).title, drop_article=False) == exact:
                hits.add(item_id)
    return hits


def join_movies(
    ml_movies: list[src.MovieLensMovie],
    links: dict[int, str],
    ratings: dict[int, src.RatingStats],
    redial: list[src.RedialMovie],
    mentions: dict[int, int],
) -> CatalogData:
    """Join MovieLens and ReDial movies: IMDb id first, then normalised title + year.

    Args:
        ml_movies: MovieLens ``movies.csv`` rows.
        links: MovieLens movieId -> IMDb id (``tt...``).
        ratings: MovieLens movieId -> rating stats.
        redial: ReDial ``movie_info.json`` entries.
        mentions: ReDial id -> mentions.

    Returns:
        The movies catalogue; ``stats`` holds the join figures.
    """
    drafts: dict[str, _Draft] = {}
    links_out: list[SourceLink] = []
    by_title: dict[tuple[str, int], set[str]] = {}
    for m in ml_movies:
        item_id = links.get(m.ml_id) or f"ml-{m.ml_id}"
        d = drafts.setdefault(item_id, _Draft(item_id))
        if d.ml is None:
            d.ml = m
        links_out.append(SourceLink("movielens", str(m.ml_id), item_id, m.title))
        p = parse_title(m.title)
        if p.year is not None:
            for name in (p.title, *p.aliases):
                by_title.setdefault((title_key(name), p.year), set()).add(item_id)
    n_imdb = n_title = n_new = 0
    pending: list[src.RedialMovie] = []
    for r in redial:
        if r.imdb_id and r.imdb_id in drafts and drafts[r.imdb_id].ml is not None:
            drafts[r.imdb_id].redial.append(r)
            links_out.append(SourceLink("redial", str(r.redial_id), r.imdb_id, r.name))
            n_imdb += 1
        else:
            pending.append(r)
    for r in pending:
        p = parse_title(r.name)
        hits = by_title.get((title_key(p.title), p.year), set()) if p.year is not None else set()
        if len(hits) != 1 and p.year is not None:
            hits = _near_year(p.title, p.year, by_title, drafts)
        if len(hits) == 1:
            item_id = next(iter(hits))
            n_title += 1
        else:
            item_id = r.imdb_id or f"redial-{r.redial_id}"
            n_new += item_id not in drafts
        drafts.setdefault(item_id, _Draft(item_id)).redial.append(r)
        links_out.append(SourceLink("redial", str(r.redial_id), item_id, r.name))
    items: list[Item] = []
    aliases: dict[str, list[str]] = {}
    for d in drafts.values():
        item, names = _merge_movie(d, ratings, mentions)
        items.append(item)
        if names:
            aliases[item.item_id] = names
    stats = {
        "items": len(items),
        "movielens_movies": len(ml_movies),
        "redial_movies": len(redial),
        "joined_by_imdb": n_imdb,
        "joined_by_title_year": n_title,
        "redial_only_items": n_new,
        "joined_items": sum(1 for d in drafts.values() if d.ml is not None and d.redial),
    }
    return CatalogData("movies", items, links_out, aliases, stats)


def build_movies(data_dir: Path) -> CatalogData:
    """Read the MovieLens and ReDial files under ``data_dir`` and join them.

    Raises:
        DataError: a file is missing or malformed.
    """
    ml, rd = src.movielens_files(data_dir), src.redial_files(data_dir)
    return join_movies(
        src.read_movielens_movies(ml["movies"]),
        src.read_movielens_links(ml["links"]),
        src.read_movielens_rating_stats(ml["ratings"]),
        src.read_redial_movies(rd["movie_info"]),
        src.read_redial_mentions(rd["mentions"]),
    )


def office_items(raw: list[src.OfficeItem], sequences: list[src.OfficeSequence]) -> CatalogData:
    """Office products with clean text; popularity = occurrences in histories and targets.

    Args:
        raw: ``items.json`` entries.
        sequences: ``valid.csv`` rows.

    Returns:
        The office catalogue; ``stats["unknown_sequence_ids"]`` counts sequence ids that are
        not in ``items.json``.
    """
    counts: Counter[str] = Counter()
    for s in sequences:
        counts.update(s.history)
        counts[s.target] += 1
    known = {r.source_id for r in raw}
    if len(known) != len(raw):
        dup = [k for k, c in Counter(r.source_id for r in raw).items() if c > 1]
        raise DataError(f"duplicate item ids: {dup[:10]}")
    items: list[Item] = []
    links: list[SourceLink] = []
    for r in raw:
        item_id = f"amz-{r.source_id}"
        cats = [clean_text(c) for c in split_list_literal(r.categories)]
        items.append(
            Item(
                item_id=item_id,
                domain="office",
                title=clean_text(r.title),
                brand=clean_text(r.brand) or None,
                plot=clean_description(r.description),
                categories=[c for c in cats if c],
                popularity=float(counts.get(r.source_id, 0)),
                source_id=r.source_id,
            )
        )
        links.append(SourceLink("amazon", r.source_id, item_id, r.title))
    stats = {
        "items": len(items),
        "sequences": len(sequences),
        "unknown_sequence_ids": sum(c for k, c in counts.items() if k not in known),
    }
    return CatalogData("office", items, links, {}, stats)


def build_office(data_dir: Path) -> CatalogData:
    """Read ``items.json`` and ``valid.csv`` under ``data_dir`` and build the office catalogue.

    Raises:
        DataError: a file is missing or malformed.
    """
    f = src.office_files(data_dir)
    return office_items(src.read_office_items(f["items"]), src.read_office_sequences(f["valid"]))


def build_domain(data_dir: Path, domain: str) -> CatalogData:
    """Build the catalogue data of ``movies`` or ``office``."""
    if domain == "movies":
        return build_movies(data_dir)
    if domain == "office":
        return build_office(data_dir)
    raise DataError(f"unknown domain '{domain}'; choose movies or office")
