"""Build the item table of a domain from the raw sources.

Movies: MovieLens (9,742 movies with ratings) and ReDial (6,583 movies with plots, people
and dialogue mentions) are joined into one table keyed by IMDb id. A ReDial movie joins a
MovieLens movie when their IMDb ids agree, otherwise when exactly one MovieLens movie has the
same normalised title (or alternative title) and year, or else exactly one not yet joined
MovieLens movie has the same title and a year one apart; the rest become items of their own.
Several ReDial ids may land on one item (ReDial lists some movies twice); every source id
maps to exactly one item through :class:`SourceLink`. With ``repair`` (the default) the join
follows the audit (:mod:`crsagent.tools.catalog.audit`): an IMDb join whose ReDial name
disagrees with the MovieLens title or year is refused (the entry is joined by its own title
and year; without such a film its mentions stay with the IMDb film but its name is no title
or alias of it), and a ReDial entry's people and plot are used only when its IMDb id is the
item's own (they were fetched by that id). Hand-checked facts in
``corrections.json`` (:mod:`crsagent.tools.catalog.repair`) are applied last.

Office: Amazon Office items with HTML-free descriptions; popularity counts how often an item
occurs in the user sequences of ``valid.csv``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from crsagent.agent.domains import domain_spec
from crsagent.agent.errors import ConfigError, DataError
from crsagent.tools.catalog import sources as src
from crsagent.tools.catalog.audit import titles_agree, years_agree
from crsagent.tools.catalog.repair import apply_corrections
from crsagent.tools.catalog.schema import Item
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
    "catalog_source",
    "CATALOG_BUILDERS",
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
    set_aside: list[str] = field(default_factory=list)  # ReDial ids whose people and plot were not used


@dataclass
class _Draft:
    item_id: str
    ml: src.MovieLensMovie | None = None
    redial: list[src.RedialMovie] = field(default_factory=list)
    no_meta: set[int] = field(default_factory=set)  # ReDial ids whose people and plot describe another film
    no_name: set[int] = field(default_factory=set)  # ReDial ids whose name is not this film's (not an alias)


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
    rd_parsed = {r.redial_id: parse_title(r.name) for r in d.redial if r.redial_id not in d.no_name}
    main_key = title_key(ml_parsed.title) if ml_parsed else None
    # The primary ReDial entry: same title as the MovieLens one first, then most mentioned.
    reds = sorted(
        (r for r in d.redial if r.redial_id in rd_parsed),
        key=lambda r: (title_key(rd_parsed[r.redial_id].title) != main_key, -mentions.get(r.redial_id, 0), r.redial_id),
    )
    title = ml_parsed.title if ml_parsed else rd_parsed[reds[0].redial_id].title
    years = ([ml_parsed.year] if ml_parsed else []) + [rd_parsed[r.redial_id].year for r in reds]
    year = next((y for y in years if y is not None), None)
    genres = {g.lower().strip() for g in (d.ml.genres if d.ml else ()) if g != NO_GENRE}
    meta = [r for r in reds if r.redial_id not in d.no_meta] + [r for r in d.redial if r.redial_id in d.no_name]
    genres |= {g.lower().strip() for r in meta for g in r.genres}
    stats = ratings.get(d.ml.ml_id) if d.ml else None
    n_mentions = sum(mentions.get(r.redial_id, 0) for r in d.redial)
    count = stats.count if stats else 0
    item = Item(
        item_id=d.item_id,
        domain="movies",
        title=title,
        year=year,
        genres=sorted(g for g in genres if g),
        directors=_first(r.directors for r in meta),
        writers=_first(r.writers for r in meta),
        cast=_first(r.cast for r in meta),
        plot=next((r.plot for r in meta if r.plot), ""),
        rating_mean=round(stats.mean, 4) if stats else None,
        rating_count=count,
        mentions=n_mentions,
        popularity=float(count + n_mentions),
        ml_id=d.ml.ml_id if d.ml else None,
        redial_id=(reds or d.redial)[0].redial_id if d.redial else None,  # set-aside names still map here
    )
    names = [title] + (list(ml_parsed.aliases) if ml_parsed else [])
    for r in reds:
        names += [rd_parsed[r.redial_id].title, *rd_parsed[r.redial_id].aliases]
    aliases = list(dict.fromkeys(n for n in names if n and n != title))
    return item, aliases


def _near_year(title: str, year: int, by_title: dict[tuple[str, int], set[str]], drafts: dict[str, _Draft]) -> set[str]:
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


def _agrees(r: src.RedialMovie, ml: src.MovieLensMovie) -> bool:
    """Whether a ReDial entry's name and year fit the MovieLens movie of its IMDb id."""
    a, b = parse_title(r.name), parse_title(ml.title)
    return titles_agree(a.title, b.title, b.aliases) and years_agree(a.year, b.year)


def join_movies(
    ml_movies: list[src.MovieLensMovie],
    links: dict[int, str],
    ratings: dict[int, src.RatingStats],
    redial: list[src.RedialMovie],
    mentions: dict[int, int],
    repair: bool = True,
) -> CatalogData:
    """Join MovieLens and ReDial movies: IMDb id first, then normalised title + year.

    Args:
        ml_movies: MovieLens ``movies.csv`` rows.
        links: MovieLens movieId -> IMDb id (``tt...``).
        ratings: MovieLens movieId -> rating stats.
        redial: ReDial ``movie_info.json`` entries.
        mentions: ReDial id -> mentions.
        repair: refuse IMDb joins the audit finds wrong and keep metadata only from entries
            whose IMDb id is the item's (False: the join as it was before the audit).

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
    refused = 0
    for r in redial:
        ml = drafts[r.imdb_id].ml if r.imdb_id and r.imdb_id in drafts else None
        if r.imdb_id and ml is not None:
            if repair and not _agrees(r, ml):
                refused += 1
                pending.append(r)
                continue
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
        other_film = False
        if len(hits) == 1:
            item_id = next(iter(hits))
            n_title += 1
            other_film = bool(r.imdb_id) and r.imdb_id != item_id
        else:
            item_id = r.imdb_id or f"redial-{r.redial_id}"
            n_new += item_id not in drafts
        d = drafts.setdefault(item_id, _Draft(item_id))
        d.redial.append(r)
        if repair and other_film:
            d.no_meta.add(r.redial_id)
        if item_id == r.imdb_id and d.ml is not None:  # a refused IMDb join without a film of its own:
            d.no_name.add(r.redial_id)  # its mentions stay with the IMDb film, its name is no alias
        links_out.append(SourceLink("redial", str(r.redial_id), item_id, r.name))
    items: list[Item] = []
    aliases: dict[str, list[str]] = {}
    for d in drafts.values():
        item, names = _merge_movie(d, ratings, mentions)
        items.append(item)
        if names:
            aliases[item.item_id] = names
    corrected = apply_corrections(items) if repair else 0
    stats = {
        "items": len(items),
        "refused_imdb_joins": refused,
        "metadata_set_aside": sum(len(d.no_meta) for d in drafts.values()),
        "names_set_aside": sum(len(d.no_name) for d in drafts.values()),
        "corrected_items": corrected,
        "movielens_movies": len(ml_movies),
        "redial_movies": len(redial),
        "joined_by_imdb": n_imdb,
        "joined_by_title_year": n_title,
        "redial_only_items": n_new,
        "joined_items": sum(1 for d in drafts.values() if d.ml is not None and d.redial),
    }
    set_aside = sorted(str(r) for d in drafts.values() for r in d.no_meta | d.no_name)
    return CatalogData("movies", items, links_out, aliases, stats, set_aside)


def build_movies(data_dir: Path, repair: bool = True) -> CatalogData:
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
        repair=repair,
    )


def catalog_source(domain: str) -> str:
    """The catalogue source a domain is built from (:attr:`~crsagent.agent.domains.DomainSpec.catalog`).

    Raises:
        DataError: the domain is not registered, or names no catalogue source.
    """
    try:
        source = domain_spec(domain).catalog
    except ConfigError as exc:
        raise DataError(str(exc)) from None
    if not source:
        raise DataError(f"domain '{domain}' names no catalogue source (DomainSpec.catalog)")
    return source


def build_domain(data_dir: Path, domain: str) -> CatalogData:
    """Build a domain's catalogue data with the builder of its catalogue source.

    Raises:
        DataError: an unknown domain or source, or a missing or malformed input file.
    """
    source = catalog_source(domain)
    builder = CATALOG_BUILDERS.get(source)
    if builder is None:
        raise DataError(f"no catalogue builder for source '{source}' (domain '{domain}')")
    return builder(data_dir)


# the office build lives in its own module; imported last (it uses CatalogData and SourceLink)
from crsagent.tools.catalog.office import build_office, office_items  # noqa: E402

#: The catalogue builders, by catalogue source (:attr:`~crsagent.agent.domains.DomainSpec.catalog`).
CATALOG_BUILDERS: dict[str, Callable[[Path], CatalogData]] = {
    "movielens-redial": build_movies,
    "amazon-office": build_office,
}
