"""Spans that spell a title but are used otherwise: greetings, occasions, people, topics,
franchises, other media, verbs, genre lists (tools/linker/usage.py), each with a sentence where
the same title is meant and must still link."""

from __future__ import annotations

import pytest

from crsagent.tools.catalog.schema import Item
from crsagent.tools.linker.linker import EntityLinker
from crsagent.tools.linker.text import tokenize
from crsagent.tools.linker.usage import FRANCHISE, GREETING, OCCASION, other_use


def _m(item_id: str, title: str, year: int, pop: float, **kw: object) -> Item:
    return Item(item_id=item_id, domain="movies", title=title, year=year, popularity=pop, mentions=int(pop),
                **kw)  # fmt: skip


_DIRECTED = [_m(f"tt90{i}", f"Thriller Number {i}", 1950 + i, 5, directors=["Orson Kubelka"]) for i in range(5)]
MOVIES = [
    *_DIRECTED,
    _m("tt1", "Date Night", 2010, 60),
    _m("tt2", "Joyeux Noël", 2005, 6),
    _m("tt3", "The Rock", 1996, 140, cast=["Sean Connery", "Nicolas Cage"]),
    _m("tt4", "Kubelka", 2012, 5),
    _m("tt5", "Dracula", 1992, 80),
    _m("tt6", "Spider-Man", 2002, 200),
    _m("tt7", "Star Wars: Episode IV - A New Hope", 1977, 550),
    _m("tt8", "Jaws", 1975, 150),
    _m("tt9", "Sing", 2016, 400),
    _m("tt10", "The Romantics", 2010, 80),
    _m("tt11", "Kingsman: The Secret Service", 2014, 40),
    _m("tt12", "Kingsman: The Golden Circle", 2017, 60),
    _m("tt13", "Rocky", 1976, 300),
    _m("tt14", "The Babadook", 2014, 130),
]
ALIASES = {"tt2": ["Merry Christmas"], "tt7": ["Star Wars"]}


@pytest.fixture(scope="module")
def linker() -> EntityLinker:
    return EntityLinker.from_items(MOVIES, ALIASES)


def titles(linker: EntityLinker, text: str) -> list[str]:
    return [m.title for m in linker.link(text)]


def test_greetings_are_not_titles(linker: EntityLinker) -> None:
    assert titles(linker, "Thanks so much and Merry Christmas to you!") == []
    assert titles(linker, "ok, merry christmas") == []
    assert titles(linker, "have you seen merry christmas? the one about the 1914 truce") == ["Joyeux Noël"]


def test_occasions_after_a_film_noun_are_not_titles(linker: EntityLinker) -> None:
    assert titles(linker, "we need a good film for date night on friday") == []
    assert titles(linker, "any ideas for date night") == []
    assert titles(linker, "I watched date night with steve carell") == ["Date Night"]


def test_a_title_that_names_a_person(linker: EntityLinker) -> None:
    assert titles(linker, "is there a comedy with The Rock in it") == []
    assert titles(linker, "The Rock is my favourite wrestler turned actor") == []
    assert titles(linker, "the rock was a great action movie") == ["The Rock"]
    # a surname of someone credited on many items is the person unless a viewing cue says otherwise
    assert titles(linker, "I adore Kubelka and his old thrillers") == []
    assert titles(linker, "I saw Kubelka last year, a decent biopic") == ["Kubelka"]


def test_subject_matter_and_roles_are_not_titles(linker: EntityLinker) -> None:
    assert titles(linker, "Is this one about Dracula?") == []
    assert titles(linker, "what about dracula?") == ["Dracula"]
    assert titles(linker, "who is going to play spiderman next") == []
    assert titles(linker, "I loved spiderman") == ["Spider-Man"]


def test_franchises_and_other_media(linker: EntityLinker) -> None:
    assert titles(linker, "I want a star wars movie for tonight") == []
    assert titles(linker, "my brother is a huge Star Wars fan") == []
    assert titles(linker, "we have seen every Rocky movie") == []
    assert titles(linker, "I loved rocky") == ["Rocky"]
    assert titles(linker, "I watched star wars again last night") == ["Star Wars: Episode IV - A New Hope"]
    assert titles(linker, "I read jaws in school") == []
    assert titles(linker, "the jaws novel is scarier") == []
    assert titles(linker, "jaws is still scary") == ["Jaws"]


def test_verbs_and_genre_lists(linker: EntityLinker) -> None:
    # a list would otherwise carry "sing" along with "rocky"
    assert titles(linker, "my girls liked rocky and sing them every day") == ["Rocky"]
    assert titles(linker, "I liked rocky and sing") == ["Rocky", "Sing"]
    assert titles(linker, 'we watched "Sing" twice') == ["Sing"]
    assert titles(linker, "mostly romantics and dramas") == []


def test_the_first_one_picks_the_earliest_of_a_series(linker: EntityLinker) -> None:
    assert titles(linker, "I saw kingsman, the first one") == ["Kingsman: The Secret Service"]
    assert titles(linker, "I saw kingsman, the new one") == ["Kingsman: The Golden Circle"]


def test_other_use_names_the_use() -> None:
    def use(text: str, start: int, end: int) -> str | None:
        toks = tokenize(text)
        return other_use(text, toks, start, end, tuple(t.norm for t in toks[start:end]))

    assert use("happy holidays", 0, 2) == GREETING
    assert use("a movie for date night", 3, 5) == OCCASION
    assert use("lots of star wars fans here", 2, 4) == FRANCHISE
    assert use("I liked the babadook", 2, 4) is None
