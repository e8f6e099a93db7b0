"""HTML stripping and safe parsing of Amazon's stringified description lists."""

from __future__ import annotations

import pytest

from crsagent.tools.catalog.text import clean_description, clean_text, split_list_literal, strip_html


def test_strip_html_removes_tags_comments_styles_and_unescapes() -> None:
    raw = (
        "<div><style>.x {color: red}</style><p>Fine&nbsp;<b>paper</b> &amp; pens</p>"
        "<!-- .headerM {font-size:24px;} --><script>alert('x')</script><br/>Sold &#x26; shipped</div>"
    )
    assert strip_html(raw) == "Fine paper & pens Sold & shipped"  # nbsp collapses to a space
    assert "<" not in strip_html(raw) and "color" not in strip_html(raw)


def test_strip_html_drops_stray_css_rules_but_keeps_prose() -> None:
    raw = ".AcontentBody {font-family: Arial; font-size: 15px;} ul {padding-left:1.1em;} Great soul {} stapler"
    out = strip_html(raw)
    assert "font-family" not in out and "padding" not in out
    assert "Great soul" in out and "stapler" in out


def test_strip_html_unterminated_comment_is_dropped() -> None:
    assert strip_html("Pen <!-- .a {b:c} ") == "Pen"


def test_strip_html_double_escaped_entities() -> None:
    assert strip_html("8.5&amp;rdquo; x 11&amp;rdquo;") == "8.5\u201d x 11\u201d"


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        ("", []),
        ("['a', \"b's\"]", ["a", "b's"]),
        ("plain text", ["plain text"]),
        ("['It's a 12\" pen', 'Blue ink']", ["It's a 12\" pen", "Blue ink"]),  # broken quoting
        ("[1, 2]", ["1", "2"]),
    ],
)
def test_split_list_literal(raw: str, parts: list[str]) -> None:
    assert split_list_literal(raw) == parts


def test_split_list_literal_never_evaluates_code() -> None:
    # literal_eval refuses calls; the fallback treats the text as data.
    out = split_list_literal("[__import__('os').system('echo pwned')]")
    assert out and all(isinstance(p, str) for p in out)


def test_clean_description_joins_paragraphs_without_html() -> None:
    raw = repr(["<p>Original <b>HP</b> ink &amp; more.</p>", " <!-- .headerM {color:#000;} --> ", ""])
    assert clean_description(raw) == "Original HP ink & more."


def test_clean_description_truncates_at_word_boundary() -> None:
    out = clean_description(repr(["word " * 100]), max_chars=23)
    assert out == "word word word word"


def test_clean_text() -> None:
    assert clean_text("  HP 74 Black &amp; 75\n Tri-color ") == "HP 74 Black & 75 Tri-color"


def test_strip_html_drops_cut_off_tag_fragments() -> None:
    assert strip_html("software programs. Br><br") == "software programs."
    assert strip_html("Load <b>10</b> sheets; 3 > 2 and size >200m") == "Load 10 sheets; 3 > 2 and size >200m"
