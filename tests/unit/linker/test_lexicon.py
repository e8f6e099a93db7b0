"""The attribute lexicon: genres with synonyms and typos, people, years, brands, negation."""

from __future__ import annotations

import pytest

from crsagent.tools.catalog.schema import Item, ItemFilter
from crsagent.tools.linker.lexicon import AttributeLexicon


@pytest.mark.parametrize(
    ("text", "liked"),
    [
        ("Hi im looking for a good horroe movie", ["horror"]),
        ("something scary please", ["horror"]),
        ("I want something funny", ["comedy"]),
        ("a good sci fi film", ["sci-fi"]),
        ("any science-fiction?", ["sci-fi"]),
        ("a romcom for date night", ["romance", "comedy"]),
        ("romantic comedies", ["romance", "comedy"]),
        ("an animated movie", ["animation"]),
        ("thrillers and crime dramas", ["thriller", "crime", "drama"]),
        ("comdey", ["comedy"]),
    ],
)
def test_genres_synonyms_and_typos(lexicon: AttributeLexicon, text: str, liked: list[str]) -> None:
    e = lexicon.extract(text)
    assert e.genres_liked == liked
    assert e.genres_disliked == []


@pytest.mark.parametrize(
    ("text", "liked", "disliked"),
    [
        ("no horror please", [], ["horror"]),
        ("I'm not a fan of comedies", [], ["comedy"]),
        ("I don't like horror, I like comedy", ["comedy"], ["horror"]),
        ("i don't like horror i like comedy", ["comedy"], ["horror"]),
        ("I hate romance but love action", ["action"], ["romance"]),
        ("anything but horror", [], ["horror"]),
        ("no horror, gore or slashers", [], ["horror"]),
        ("I like comedy, not horror", ["comedy"], ["horror"]),
        ("horror is not my thing, thrillers are fine", ["thriller"], ["horror"]),
        ("nothing too scary", [], ["horror"]),
        ("no, I love horror", ["horror"], []),
        ("I'm not sure, maybe a comedy", ["comedy"], []),
    ],
)
def test_negation(lexicon: AttributeLexicon, text: str, liked: list[str], disliked: list[str]) -> None:
    e = lexicon.extract(text)
    assert e.genres_liked == liked
    assert e.genres_disliked == disliked


def test_people_full_names_surnames_and_particles(lexicon: AttributeLexicon) -> None:
    assert lexicon.extract("anything with tom hanks").people == ["Tom Hanks"]
    assert lexicon.extract("something by spielberg or tarantino").people == ["Steven Spielberg", "Quentin Tarantino"]
    assert lexicon.extract("I like Robert De Niro and samuel jackson").people == ["Robert De Niro", "Samuel L. Jackson"]
    assert lexicon.extract("robert deniro is great").people == ["Robert De Niro"]
    assert lexicon.extract("leonardo dicaprio movies").people == ["Leonardo DiCaprio"]
    assert lexicon.extract("not a fan of john travolta").people_disliked == ["John Travolta"]
    # a common word is not a surname on its own; a lone first name is not a person
    assert lexicon.extract("the smith family went to the city").people == []
    assert lexicon.extract("tom is my friend").people == []


@pytest.mark.parametrize(
    ("text", "year_min", "year_max"),
    [
        ("something from the 90s", 1990, 1999),
        ("movies from the 1980's", 1980, 1989),
        ("late 80s or early 90s", 1986, 1993),
        ("after 2010", 2011, None),
        ("since 2010", 2010, None),
        ("2010 or later", 2010, None),
        ("before 2000", None, 1999),
        ("between 1990 and 2005", 1990, 2005),
        ("a 2015 movie", 2015, 2015),
        ("older movies please", None, 1997),
        ("something recent", 2012, None),
        ("nothing before 2000", 2000, None),
        ("a 90s comedy but not before 1995", 1995, 1999),
        ("the nineties", 1990, 1999),
    ],
)
def test_year_constraints(lexicon: AttributeLexicon, text: str, year_min: int | None, year_max: int | None) -> None:
    assert lexicon.ref_year == 2017  # the newest year in the catalogue, never the clock
    e = lexicon.extract(text)
    assert (e.year_min, e.year_max) == (year_min, year_max)


def test_ignore_spans_skip_linked_titles(lexicon: AttributeLexicon) -> None:
    text = "something like the rocky horror picture show"
    assert lexicon.extract(text).genres_liked == ["horror"]
    start = text.index("the rocky")
    assert lexicon.extract(text, ignore_spans=[(start, len(text))]).is_empty()
    assert lexicon.extract("heat 1995 was good", ignore_spans=[(0, 9)]).year_min is None


def test_matches_carry_spans_and_to_filter(lexicon: AttributeLexicon) -> None:
    text = "no horror, a funny 90s movie with tom hanks"
    e = lexicon.extract(text)
    assert {(m.kind, m.value, m.negated) for m in e.matches} >= {
        ("genre", "horror", True),
        ("genre", "comedy", False),
        ("person", "Tom Hanks", False),
    }
    for m in e.matches:
        assert text[m.start : m.end] == m.surface
    f = e.to_filter()
    assert isinstance(f, ItemFilter)
    assert f.exclude_genres == ["horror"] and f.genres_any == []
    assert (f.year_min, f.year_max) == (1990, 1999) and f.people == ["Tom Hanks"]
    assert e.to_filter(liked_genres_required=True).genres_any == ["comedy"]
    assert lexicon.extract("hello there").is_empty()


def test_genres_limited_to_the_catalogue(lexicon: AttributeLexicon) -> None:
    assert "western" not in lexicon.genres
    assert lexicon.extract("a western with cowboys").genres_liked == []


def test_brands_for_office_products() -> None:
    items = [
        Item(item_id=f"amz-{i}", domain="office", title=t, brand=b, popularity=1.0)
        for i, (t, b) in enumerate(
            [
                ("Gel pens", "Pilot"),
                ("Sticky notes", "Post-it"),
                ("Labels", "Avery"),
                ("Labels 2", "Avery"),
                ("Printer", "Brother"),
                ("Markers", "Sharpie"),
            ]
        )  # fmt: skip
    ]
    lex = AttributeLexicon.from_items(items)
    assert lex.extract("do you have sharpie markers or avery labels?").brands == ["Sharpie", "Avery"]
    assert lex.extract("postit notes").brands == ["Post-it"]
    assert lex.extract("I need a Brother printer").brands == ["Brother"]
    assert lex.extract("my brother needs a printer").brands == []  # an ordinary word needs its capital
    assert lex.extract("no sharpie please").brands_disliked == ["Sharpie"]
    assert lex.extract("pens, but not Pilot").brands_disliked == ["Pilot"]
