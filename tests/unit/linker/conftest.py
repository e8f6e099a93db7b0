"""A small movie catalogue with the phenomena the linker must handle."""

from __future__ import annotations

import pytest

from crsagent.tools.catalog.schema import Item
from crsagent.tools.linker.lexicon import AttributeLexicon
from crsagent.tools.linker.linker import EntityLinker


def _m(item_id: str, title: str, year: int | None, pop: float, mentions: int = 0, **kw: object) -> Item:
    return Item(item_id=item_id, domain="movies", title=title, year=year, popularity=pop, mentions=mentions,
                **kw)  # fmt: skip


MOVIES: list[Item] = [
    _m("tt2321549", "The Babadook", 2014, 130, 129, genres=["horror", "drama"], directors=["Jennifer Kent"]),
    _m("tt3235888", "It Follows", 2014, 80, 77, genres=["horror"]),
    _m("tt1396484", "It", 2017, 900, 896, genres=["horror"], directors=["Andy Muschietti"]),
    _m("tt0099864", "It", 1990, 1, 0, genres=["horror"]),
    _m(
        "tt0113277",
        "Heat",
        1995,
        110,
        8,
        genres=["action", "crime"],
        directors=["Michael Mann"],
        cast=["Al Pacino", "Robert De Niro"],
    ),
    _m("tt1798709", "Her", 2013, 60, 30, genres=["romance", "sci-fi"]),
    _m("tt1049413", "Up", 2009, 200, 150, genres=["animation", "family"]),
    _m("tt3774694", "Love", 2015, 5, 2, genres=["drama", "romance"]),
    _m(
        "tt0081505",
        "The Shining",
        1980,
        250,
        120,
        genres=["horror"],
        directors=["Stanley Kubrick"],
        cast=["Jack Nicholson"],
    ),
    _m("tt0145487", "Spider-Man", 2002, 200, 60, genres=["action"]),
    _m("tt0077651", "Halloween", 1978, 170, 145, genres=["horror"], directors=["John Carpenter"]),
    _m("tt0373883", "Halloween", 2007, 40, 35, genres=["horror"]),
    _m(
        "tt0108052",
        "Schindler's List",
        1993,
        220,
        60,
        genres=["drama", "history"],
        directors=["Steven Spielberg"],
        cast=["Liam Neeson"],
    ),
    _m(
        "tt0083866",
        "E.T. the Extra-Terrestrial",
        1982,
        120,
        40,
        genres=["family", "sci-fi"],
        directors=["Steven Spielberg"],
    ),
    _m("tt0211915", "Amélie", 2001, 120, 30, genres=["comedy", "romance"]),
    _m(
        "tt0110912",
        "Pulp Fiction",
        1994,
        300,
        200,
        genres=["crime"],
        directors=["Quentin Tarantino"],
        cast=["John Travolta", "Samuel L. Jackson", "Bruce Willis"],
    ),
    _m("tt0115798", "The Bruce", 1996, 2, 1, genres=["history"]),
    _m("tt2488496", "Star Wars: The Force Awakens", 2015, 300, 300, genres=["sci-fi", "action"]),
    _m("tt0076759", "Star Wars: Episode IV - A New Hope", 1977, 250, 200, genres=["sci-fi", "action"]),
    _m("tt0109830", "Forrest Gump", 1994, 330, 150, genres=["comedy", "drama", "romance"], cast=["Tom Hanks"]),
    _m(
        "tt0120338",
        "Titanic",
        1997,
        140,
        272,
        genres=["drama", "romance"],
        directors=["James Cameron"],
        cast=["Leonardo DiCaprio", "Kate Winslet"],
    ),
    _m("tt0088763", "Back to the Future", 1985, 170, 120, genres=["comedy", "sci-fi"]),
    _m("tt0480249", "I Am Legend", 2007, 50, 40, genres=["sci-fi", "horror"], cast=["Will Smith"]),
    _m("tt0118715", "The Big Lebowski", 1998, 100, 60, genres=["comedy", "crime"], directors=["Joel Coen"]),
    _m("tt0114369", "Se7en", 1995, 200, 80, genres=["crime", "thriller"], cast=["Brad Pitt", "Morgan Freeman"]),
]
ALIASES = {"tt0076759": ["Star Wars"]}


@pytest.fixture(scope="session")
def movies() -> list[Item]:
    """The catalogue."""
    return list(MOVIES)


@pytest.fixture(scope="session")
def linker() -> EntityLinker:
    """A linker over the catalogue, with one alternative title."""
    return EntityLinker.from_items(MOVIES, ALIASES)


@pytest.fixture(scope="session")
def lexicon() -> AttributeLexicon:
    """A lexicon over the catalogue."""
    return AttributeLexicon.from_items(MOVIES)
