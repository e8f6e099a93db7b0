"""Title normalisation: MovieLens and ReDial forms become one display title, year and key."""

from __future__ import annotations

import pytest

from crsagent.tools.catalog.titles import move_article, parse_title, title_key


@pytest.mark.parametrize(
    ("raw", "title", "year", "aliases"),
    [
        ("Matrix, The (1999)", "The Matrix", 1999, ()),
        ("Sister, A (2010)", "A Sister", 2010, ()),
        ("Affair to Remember, An (1957)", "An Affair to Remember", 1957, ()),
        ("Auberge espagnole, L' (2002)", "L'Auberge espagnole", 2002, ()),
        ("Seven (a.k.a. Se7en) (1995)", "Seven", 1995, ("Se7en",)),
        (
            "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
            "The City of Lost Children",
            1995,
            ("La Cité des enfants perdus",),
        ),
        (
            "Léon: The Professional (a.k.a. The Professional) (Léon) (1994)",
            "Léon: The Professional",
            1994,
            ("The Professional", "Léon"),
        ),
        ("Lord of the Rings: The Two Towers, The (2002)", "The Lord of the Rings: The Two Towers", 2002, ()),
        (
            "Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il) (1966)",
            "The Good, the Bad and the Ugly",
            1966,
            ("Il Buono, il brutto, il cattivo",),
        ),
        ("Headhunter  (2009)", "Headhunter", 2009, ()),
        ("Back to the Future ", "Back to the Future", None, ()),
        ("(500) Days of Summer (2009)", "(500) Days of Summer", 2009, ()),
        ("Death Note: Desu nôto (2006–2007)", "Death Note: Desu nôto", 2006, ()),
        ("I Love You, Man (2009)", "I Love You, Man", 2009, ()),
        ("1917 (2019)", "1917", 2019, ()),
    ],
)
def test_parse_title(raw: str, title: str, year: int | None, aliases: tuple[str, ...]) -> None:
    p = parse_title(raw)
    assert (p.title, p.year, p.aliases) == (title, year, aliases)


def test_move_article_leaves_titles_without_article() -> None:
    assert move_article("Me, Myself & Irene") == "Me, Myself & Irene"
    assert move_article("Hello,  Dolly!") == "Hello, Dolly!"
    assert move_article("Postman, The") == "The Postman"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("The Matrix", "Matrix, The"),
        ("The Matrix", "matrix"),
        ("Love & Basketball", "Love and Basketball"),
        ("Amélie", "Amelie"),
        ("Spider-Man: Homecoming", "spider man homecoming"),
        ("WALL·E", "wall e"),
    ],
)
def test_title_key_equal(a: str, b: str) -> None:
    assert title_key(a) == title_key(b)


def test_title_key_keeps_distinct_titles_apart() -> None:
    assert title_key("Seven") != title_key("Se7en")
    assert title_key("The Wonder", drop_article=False) != title_key("Wonder", drop_article=False)
    assert title_key("The Wonder") == title_key("Wonder")
    assert title_key("A") == "a"  # a title that is only an article keeps it
