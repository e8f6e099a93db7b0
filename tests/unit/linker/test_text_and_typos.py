"""Tokenisation with offsets, typo correction and year phrases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crsagent.tools.linker.fuzzy import TypoIndex
from crsagent.tools.linker.text import norm_phrase, tokenize
from crsagent.tools.linker.years import OLD_GAP, RECENT_GAP, find_years


def test_tokens_keep_offsets_and_normalise() -> None:
    text = "Schindler's List & Amélie (2001) — spider-man!"
    toks = tokenize(text)
    assert [t.norm for t in toks] == ["schindlers", "list", "and", "amelie", "2001", "spider", "man"]
    for t in toks:
        assert text[t.start : t.end] == t.raw
    assert norm_phrase("The Lord of the Rings: The Two Towers") == (
        "the", "lord", "of", "the", "rings", "the", "two", "towers",
    )  # fmt: skip
    assert tokenize("?! ...") == []


def test_typo_index_corrects_one_edit_and_prefers_heavier_words() -> None:
    idx = TypoIndex({"babadook": 5.0, "shining": 3.0, "shinning": 0.5, "interstellar": 4.0})
    assert idx.correct("babadok") == "babadook"  # deletion
    assert idx.correct("babaddook") == "babadook"  # insertion
    assert idx.correct("babadoak") == "babadook"  # substitution
    assert idx.correct("babdaook") == "babadook"  # swap
    assert idx.correct("intersteller") == "interstellar"
    assert idx.correct("shining") == "shining"
    assert idx.correct("shinin") == "shining"  # both one edit away: the heavier wins
    assert idx.correct("bbdk") is None  # too short
    assert idx.correct("totally") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from the 70s", [(1970, 1979)]),
        ("early 2000s", [(2000, 2003)]),
        ("mid-90s", [(1993, 1996)]),
        ("after the 80s", [(1990, None)]),
        ("nothing after the 90s", [(None, 1999)]),
        ("no old movies", [(2018 - OLD_GAP + 1, None)]),
        ("newer movies", [(2018 - RECENT_GAP, None)]),
        ("from 1995 to 2000", [(1995, 2000)]),
        ("about 100s of movies", []),
        ("i have seen it 3 times", []),
        ("something that came out recently", [(2018 - RECENT_GAP, None)]),
    ],
)
def test_year_phrases(text: str, expected: list[tuple[int | None, int | None]]) -> None:
    assert [(y.year_min, y.year_max) for y in find_years(text, 2018)] == expected


_YEAR_WORDS = [
    "no",
    "not",
    "old",
    "new",
    "recent",
    "came",
    "out",
    "released",
    "recently",
    "lately",
    "after",
    "before",
    "since",
    "the",
    "90s",
    "1999",
    "2010",
    "from",
    "to",
    "and",
    "later",
    "movies",
    "early",
    "eighties",
    "-",
]


@given(st.lists(st.sampled_from(_YEAR_WORDS), max_size=12), st.text(max_size=20))
def test_year_phrases_never_crash(words: list[str], noise: str) -> None:
    for span in find_years(" ".join(words) + noise, 2018):
        assert span.year_min is None or span.year_max is None or span.year_min <= span.year_max
