"""Movie title normalisation: MovieLens' ``"Matrix, The (1999)"`` becomes ``"The Matrix"``, 1999.

MovieLens writes titles with a trailing article (``"Postman, The (Postino, Il) (1994)"``),
alternative titles in parentheses (``"Seven (a.k.a. Se7en) (1995)"``) and the year last.
ReDial writes ``"Title (Year)"``, sometimes with two spaces before the year or no year.
:func:`parse_title` turns either into a display title, a year and alternative titles, and
:func:`title_key` gives the accent-, case-, article- and punctuation-insensitive key used to
join the two sources on title + year.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

__all__ = ["ParsedTitle", "parse_title", "move_article", "title_key", "ARTICLES"]

# Articles MovieLens moves to the end of a title (", The"). "L'" attaches without a space.
ARTICLES: tuple[str, ...] = (
    "The", "A", "An",
    "La", "Le", "Les", "L'", "Il", "Lo", "Gli",
    "El", "Los", "Las", "Una", "Un", "Une",
    "Der", "Die", "Das", "Den", "Det",
)  # fmt: skip

_YEAR_RE = re.compile(r"\s*\((\d{4})(?:\s*[-–]\s*(?:\d{4})?)?\)\s*$")
_TRAILING_ARTICLE_RE = re.compile(r"^(?P<body>.+?),\s+(?P<art>" + "|".join(re.escape(a) for a in ARTICLES) + r")\s*$")
_TRAILING_PAREN_RE = re.compile(r"\s*\(([^()]*)\)\s*$")
_AKA_RE = re.compile(r"^(?:a\.k\.a\.|aka)\s+", re.IGNORECASE)
_KEY_ARTICLES = ("the ", "a ", "an ")


@dataclass(frozen=True)
class ParsedTitle:
    """A title split into its parts.

    Attributes:
        title: display title, article in front, without year or alternative titles.
        year: the release year, if the raw title had one.
        aliases: alternative titles (``a.k.a.`` and original-language titles), normalised.
    """

    title: str
    year: int | None
    aliases: tuple[str, ...] = field(default=())


def move_article(title: str) -> str:
    """Move a trailing article to the front: ``"Matrix, The"`` -> ``"The Matrix"``.

    Args:
        title: a title without year.

    Returns:
        The title with its article in front; unchanged when there is no trailing article.
    """
    title = " ".join(title.split())
    m = _TRAILING_ARTICLE_RE.match(title)
    if not m:
        return title
    art, body = m.group("art"), m.group("body")
    return f"{art}{body}" if art.endswith("'") else f"{art} {body}"


def parse_title(raw: str) -> ParsedTitle:
    """Split a MovieLens or ReDial title into display title, year and aliases.

    Args:
        raw: ``"City of Lost Children, The (Cité des enfants perdus, La) (1995)"``,
            ``"Headhunter  (2009)"``, ``"Back to the Future"`` ...

    Returns:
        The parsed title. A title that is only a parenthesis keeps it (``"(500) Days of
        Summer"`` is unchanged).
    """
    text = " ".join(raw.split())
    year: int | None = None
    m = _YEAR_RE.search(text)
    if m and m.start() > 0:
        year = int(m.group(1))
        text = text[: m.start()].rstrip()
    aliases: list[str] = []
    while True:
        p = _TRAILING_PAREN_RE.search(text)
        if not p or p.start() == 0:
            break
        inner = _AKA_RE.sub("", p.group(1).strip())
        if inner:
            aliases.append(move_article(inner))
        text = text[: p.start()].rstrip()
    aliases.reverse()
    title = move_article(text)
    return ParsedTitle(title=title, year=year, aliases=tuple(a for a in aliases if a != title))


def title_key(title: str, drop_article: bool = True) -> str:
    """The join key of a title: accents, case, leading English article and punctuation removed.

    ``"The Matrix"``, ``"Matrix, The"`` and ``"matrix"`` share a key, as do
    ``"Love & Basketball"`` and ``"Love and Basketball"``.

    Args:
        title: a title without year.
        drop_article: remove a leading "the", "a" or "an" (``False`` keeps ``"The Wonder"``
            apart from ``"Wonder"``).

    Returns:
        A lower-case ASCII-folded key (may be empty for titles of punctuation only).
    """
    t = move_article(title)
    t = unicodedata.normalize("NFKD", t)
    t = "".join(ch for ch in t if not unicodedata.combining(ch)).lower()
    t = t.replace("&", " and ")
    t = re.sub(r"[^\w\s]", " ", t)
    t = " ".join(t.replace("_", " ").split())
    for art in _KEY_ARTICLES if drop_article else ():
        if t.startswith(art) and len(t) > len(art):
            t = t[len(art) :]
            break
    return t
