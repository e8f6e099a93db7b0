"""Checks of the movies join: does a ReDial entry describe the film it is joined to?

ReDial's ``movie_info.json`` gives each movie a name ("Split (2017)") and an IMDb id, and its
director, cast and plot were fetched *by that IMDb id*. When the name and the id disagree,
the metadata describes the id's film, not the named one: "Split (2017)" carries the IMDb id
of another film called Split, "directed by Nick Everhart". The checks:

* ``imdb_title_mismatch`` / ``imdb_year_mismatch``: an entry whose IMDb id is a MovieLens
  movie with another title or a release year more than :data:`YEAR_GAP` years apart ("Spider (2007)" with
  the id of *Spider-Man 3*, "Mansfield Park (2007)" with the 1999 film's);
* ``metadata_other_film``: an entry joined to a MovieLens movie by title and year whose own
  IMDb id is a different film: its people and plot describe that other film;
* ``duplicate_title`` (for review, not counted as an error): two items with the same title
  and years at most one apart — often two real films ("Home" 2015 and 2016), sometimes one
  film entered twice ("Insidious" 2010 and 2011).

The build (:func:`crsagent.tools.catalog.build.join_movies`) uses :func:`titles_agree` and
:func:`years_agree` to refuse IMDb joins that disagree, and keeps the people and plot of an
entry only when its IMDb id is the item's own; MovieLens (whose links are curated) wins.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher

from crsagent.tools.catalog.schema import Item
from crsagent.tools.catalog.titles import parse_title, title_key

__all__ = [
    "Finding",
    "ERROR_KINDS",
    "REVIEW_KINDS",
    "YEAR_GAP",
    "SIMILAR",
    "titles_agree",
    "years_agree",
    "audit_movies",
]

ERROR_KINDS: tuple[str, ...] = ("imdb_title_mismatch", "imdb_year_mismatch", "metadata_other_film")
REVIEW_KINDS: tuple[str, ...] = ("duplicate_title",)  # suspicious, often two real films: listed, not repaired
SIMILAR = 0.85  # title keys at least this similar (difflib ratio) agree
YEAR_GAP = 2  # release years of one film in two sources differ by at most this


@dataclass(frozen=True)
class Finding:
    """One suspicious join.

    Attributes:
        kind: one of :data:`ERROR_KINDS` or :data:`REVIEW_KINDS`.
        item_id: the catalogue item concerned.
        source_id: the ReDial id of the entry (or the other item's id for duplicates).
        reason: what disagrees, in words.
    """

    kind: str
    item_id: str
    source_id: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        """The finding as plain data."""
        return asdict(self)


_ROMAN = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "i": "1",
    "ii": "2",
    "iii": "3",
    "iv": "4",
    "v": "5",
    "vi": "6",
    "vii": "7",
    "viii": "8",
    "ix": "9",
    "x": "10",
}
_NOISE = frozenset({"the", "a", "an", "movie", "film", "and"})


def _tokens(title: str) -> tuple[frozenset[str], frozenset[str]]:
    """(word stems, numbers) of a title key: "Men in Black III" -> ({men, in, black}, {3})."""
    words, numbers = set(), set()
    for w in title_key(title).split():
        w = _ROMAN.get(w, w)
        if w.isdigit():
            numbers.add(w)
        elif w not in _NOISE:
            words.add(w[:-1] if len(w) > 3 and w.endswith("s") else w)
    return frozenset(words), frozenset(numbers)


def titles_agree(name: str, title: str, aliases: Sequence[str] = ()) -> bool:
    """Whether two titles name the same film: the words of one contain the other's ("Paddington
    Bear" and "Paddington", "Percy Jackson" and "Percy Jackson & the Olympians: ..."), or they
    are near-equal spellings — and never when they differ in a number ("Spider" is not
    "Spider-Man 3", "High School Musical 2" not the first)."""
    names = _parts(name)
    for t in (title, *aliases):
        for part in _parts(t) if t else ():
            if any(_same(n, part) for n in names):
                return True
    return False


def _parts(title: str) -> list[str]:
    """A title and its parts around colons and dashes ("Star Wars", "The Empire Strikes Back")."""
    return [title] + [p for p in re.split(r":|\s+-\s+", title) if p.strip() and p.strip() != title]


def _same(a: str, b: str) -> bool:
    a_words, a_nums = _tokens(a)
    b_words, b_nums = _tokens(b)
    if a_nums != b_nums:
        return False
    if not a_words or not b_words:
        return not a_words and not b_words and bool(a_nums)  # "2046" and "2046"
    if a_words <= b_words or b_words <= a_words:
        return True
    return SequenceMatcher(None, title_key(a), title_key(b)).ratio() >= SIMILAR


def years_agree(a: int | None, b: int | None, gap: int = YEAR_GAP) -> bool:
    """Release years agree when either is unknown or they are at most ``gap`` years apart
    (festival and release years differ by one or two; a remake is further away)."""
    return a is None or b is None or abs(a - b) <= gap


def audit_movies(
    items: Iterable[Item],
    redial_links: Mapping[str, str],
    redial: Mapping[str, tuple[str, str | None]],
    ml_titles: Mapping[str, str],
    kept_metadata: Mapping[str, bool] | None = None,
) -> list[Finding]:
    """The suspicious joins of a built (or freshly joined) movies catalogue.

    Args:
        items: the catalogue's items.
        redial_links: ReDial id -> item id.
        redial: ReDial id -> (name as ReDial writes it, IMDb id).
        ml_titles: item id -> the MovieLens title ("Heat (1995)") of items joined to MovieLens.
        kept_metadata: ReDial id -> whether the build used the entry as a description of the
            item (its people and plot, or for an IMDb join its name); None: all were used.

    Returns:
        Findings, in a stable order. An entry whose metadata the build set aside counts only
        when it still disagrees on what it is joined to.
    """
    by_id = {it.item_id: it for it in items}
    out: list[Finding] = []
    for rid, item_id in sorted(redial_links.items()):
        name, imdb = redial.get(rid, ("", None))
        item = by_id.get(item_id)
        ml = ml_titles.get(item_id)
        if item is None or ml is None or not name:
            continue
        r, m = parse_title(name), parse_title(ml)
        if imdb == item_id and kept_metadata is not None and not kept_metadata.get(rid, True):
            continue  # the build kept the link for the mentions but not the name
        if imdb == item_id:
            if not titles_agree(r.title, m.title, m.aliases):
                out.append(
                    Finding("imdb_title_mismatch", item_id, rid, f"ReDial '{name}' has the IMDb id of MovieLens '{ml}'")
                )
            elif not years_agree(r.year, m.year):
                out.append(
                    Finding(
                        "imdb_year_mismatch",
                        item_id,
                        rid,
                        f"ReDial '{name}' and MovieLens '{ml}' share IMDb id {imdb} but not the year",
                    )
                )
        elif imdb and (kept_metadata is None or kept_metadata.get(rid, True)):
            out.append(
                Finding(
                    "metadata_other_film",
                    item_id,
                    rid,
                    f"ReDial '{name}' joined '{ml}' ({item_id}) by title, but its people and plot are those of {imdb}",
                )
            )
    groups: dict[str, list[Item]] = defaultdict(list)
    for it in by_id.values():
        groups[title_key(it.title)].append(it)
    for its in groups.values():
        dated = sorted((it for it in its if it.year), key=lambda it: (it.year, it.item_id))
        for a, b in zip(dated, dated[1:]):
            if b.year - a.year <= 1:  # type: ignore[operator]
                out.append(
                    Finding(
                        "duplicate_title",
                        b.item_id,
                        a.item_id,
                        f"'{b.display_title}' and '{a.display_title}' may be one film",
                    )
                )
    return out
