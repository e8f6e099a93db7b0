"""What the fact checker looks for in a text: genre mentions, years, decades, ratings and names.

Pure text functions, no catalogue access: :mod:`crsagent.tools.explain.verify` compares what
they find with an item's record.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "GENRE_ALIASES",
    "canonical_genre",
    "find_genres",
    "find_years",
    "find_decades",
    "find_ratings",
    "find_rating_counts",
    "NameSpan",
    "find_names",
    "norm_name",
]

#: Surface form -> canonical genre (MovieLens and ReDial genres, lower case).
GENRE_ALIASES: dict[str, str] = {
    "action": "action",
    "adventure": "adventure",
    "adventures": "adventure",
    "animation": "animation",
    "animated": "animation",
    "cartoon": "animation",
    "biography": "biography",
    "biopic": "biography",
    "biographical": "biography",
    "children": "children",
    "children's": "children",
    "kids": "children",
    "comedy": "comedy",
    "comedies": "comedy",
    "comedic": "comedy",
    "crime": "crime",
    "documentary": "documentary",
    "documentaries": "documentary",
    "drama": "drama",
    "dramas": "drama",
    "family": "family",
    "fantasy": "fantasy",
    "film-noir": "film-noir",
    "film noir": "film-noir",
    "noir": "film-noir",
    "history": "history",
    "historical": "history",
    "horror": "horror",
    "music": "music",
    "musical": "musical",
    "musicals": "musical",
    "mystery": "mystery",
    "mysteries": "mystery",
    "romance": "romance",
    "romantic": "romance",
    "romances": "romance",
    "sci-fi": "sci-fi",
    "sci fi": "sci-fi",
    "scifi": "sci-fi",
    "science fiction": "sci-fi",
    "science-fiction": "sci-fi",
    "sport": "sport",
    "sports": "sport",
    "short": "short",
    "war": "war",
    "thriller": "thriller",
    "thrillers": "thriller",
    "western": "western",
    "westerns": "western",
    "news": "news",
}
# Words that are genres only next to a film word ("a war film", not "war veteran").
_AMBIGUOUS = {
    "family",
    "music",
    "history",
    "historical",
    "war",
    "sport",
    "sports",
    "short",
    "news",
    "crime",
    "kids",
    "children",
    "children's",
    "noir",
    "cartoon",
}
_FILM_CONTEXT = re.compile(
    r"^[\s/,&\-]*(?:(?:and|or)\s+)?(?:[a-z\-']+[\s/,&\-]+(?:(?:and|or)\s+)?){0,3}?"
    r"(?:films?|movies?|genre|flicks?|pictures?|drama|comedy|thriller|documentary|story|stories|epic)\b"
)
_GENRE_RE = re.compile(
    r"(?<![\w])(" + "|".join(re.escape(a) for a in sorted(GENRE_ALIASES, key=len, reverse=True)) + r")(?![\w])",
    re.IGNORECASE,
)
_YEAR_RE = re.compile(r"(?<![\w.$£€])(1[89]\d\d|20\d\d)(?![\w]|\.\d)")
_DECADE_RE = re.compile(r"(?<![\w])(?:(1[89]|20)(\d)0|'?(\d)0)['’]?s\b")
_RATING_RE = re.compile(r"(?<![\w.])(\d(?:\.\d+)?)\s*(?:/\s*5(?!\d|\.\d)|out of (?:5|five)\b)", re.IGNORECASE)
_COUNT_RE = re.compile(r"(?<![\w.])(\d[\d,]*)\s+(?:MovieLens\s+)?(?:user\s+)?ratings\b", re.IGNORECASE)

_WORD_RE = re.compile(r"[^\W\d_][\w'’.\-]*")
_CONNECTORS = {"de", "van", "von", "der", "den", "da", "del", "di", "du", "la", "le", "bin", "al", "dos"}
_ROLE_WORDS = {
    "director": "directors",
    "directors": "directors",
    "filmmaker": "directors",
    "writer": "writers",
    "writers": "writers",
    "screenwriter": "writers",
    "star": "cast",
    "stars": "cast",
    "starring": "cast",
    "actor": "cast",
    "actress": "cast",
    "actors": "cast",
    "co-star": "cast",
    "co-stars": "cast",
    "co-starring": "cast",
}
_ROLE_CUES = [
    (re.compile(r"(?:directed|helmed)\s+by\s*$|(?:director|filmmaker)s?\s*$", re.I), "directors"),
    (re.compile(r"(?:written|scripted)\s+by\s*$|(?:screen)?writers?\s*$|screenplay\s+by\s*$", re.I), "writers"),
    (re.compile(r"(?:co-)?starr?ing\s*$|(?:co-)?stars?\s*$|actor\s*$|actress\s*$|featuring\s*$", re.I), "cast"),
    (re.compile(r"\bby\s*$", re.I), "any"),
]
_LIST_GLUE = re.compile(r"^\s*(?:,\s*(?:and\s+)?|and\s+|&\s*)$", re.I)
_STOP = {
    "the",
    "a",
    "an",
    "this",
    "that",
    "these",
    "those",
    "it",
    "its",
    "it's",
    "if",
    "you",
    "your",
    "because",
    "and",
    "but",
    "with",
    "also",
    "like",
    "so",
    "as",
    "in",
    "on",
    "for",
    "of",
    "to",
    "fans",
    "film",
    "movie",
    "we",
    "i",
    "my",
    "our",
    "here",
    "there",
    "then",
    "when",
    "while",
    "since",
    "after",
    "before",
    "from",
    "by",
    "yes",
    "no",
    "not",
    "try",
    "watch",
    "see",
    "check",
    "both",
    "all",
    "one",
    "people",
    "users",
    "movielens",
    "customers",
    "who",
    "what",
    "why",
    "how",
    "is",
    "was",
    "are",
    "he",
    "she",
    "they",
    "his",
    "her",
    "their",
    "mr",
    "mrs",
    "ms",
    "dr",
}


def norm_name(name: str) -> str:
    """Lower case, accents removed, split into word tokens joined by single spaces.

    ``"Chi Leung 'Jacob' Cheung"`` -> ``"chi leung jacob cheung"``, ``"N!xau"`` -> ``"n xau"``.
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


def canonical_genre(genre: str) -> str:
    """The canonical name of a genre (``Science Fiction`` -> ``sci-fi``); unknown names lower-cased."""
    g = genre.strip().lower()
    return GENRE_ALIASES.get(g, g)


def find_genres(text: str) -> list[str]:
    """Canonical genres that ``text`` claims (ambiguous words only next to a film word)."""
    found: list[str] = []
    for m in _GENRE_RE.finditer(text):
        word = m.group(1).lower()
        if word in _AMBIGUOUS and not _FILM_CONTEXT.match(text[m.end() : m.end() + 60].lower()):
            continue
        g = GENRE_ALIASES[word]
        if g not in found:
            found.append(g)
    return found


def find_years(text: str) -> list[int]:
    """Four-digit years (1800-2099) mentioned in ``text``."""
    return [int(m.group(1)) for m in _YEAR_RE.finditer(text)]


def find_decades(text: str) -> list[int]:
    """Decades mentioned (``1980s``, ``80s``, ``'80s``) as their first year (1980)."""
    out = []
    for m in _DECADE_RE.finditer(text):
        if m.group(1):
            out.append(int(m.group(1)) * 100 + int(m.group(2)) * 10)
        else:
            d = int(m.group(3))
            out.append((2000 if d <= 2 else 1900) + d * 10)
    return out


def find_ratings(text: str) -> list[float]:
    """Ratings on a five-point scale (``3.9/5``, ``4 out of 5``)."""
    return [float(m.group(1)) for m in _RATING_RE.finditer(text)]


def find_rating_counts(text: str) -> list[int]:
    """Numbers of ratings (``120 ratings``, ``1,204 MovieLens ratings``)."""
    return [int(m.group(1).replace(",", "")) for m in _COUNT_RE.finditer(text)]


@dataclass(frozen=True)
class NameSpan:
    """A capitalised span that reads as a person's or brand's name.

    Attributes:
        text: the span as written.
        role: ``directors``, ``writers``, ``cast`` when a cue names the role, ``any`` after "by",
            None when no cue precedes it.
    """

    text: str
    role: str | None


def _ends_sentence(token: str) -> bool:
    """A token like ``Wiseman.`` ends a sentence; initials (``L.``, ``J.D.``, ``Jr.``) do not."""
    return token.endswith(".") and len(token) > 3 and "." not in token[:-1]


def _role_before(prefix: str) -> str | None:
    for pattern, role in _ROLE_CUES:
        if pattern.search(prefix[-40:]):
            return role
    return None


def find_names(text: str) -> list[NameSpan]:
    """Name-like spans: two or more capitalised words, or one after a role cue.

    A span right after another (joined by a comma or "and") inherits that span's role, so in
    "starring Essie Davis and Noah Wiseman" both names are checked as cast.
    """
    words = [(m.start(), m.end(), m.group(0)) for m in _WORD_RE.finditer(text)]
    spans: list[tuple[int, int, list[str]]] = []
    i = 0
    while i < len(words):
        s, e, w = words[i]
        if not w[0].isupper():
            i += 1
            continue
        toks = [w]
        end = e
        j = i + 1
        while j < len(words) and not _ends_sentence(toks[-1]):
            s2, e2, w2 = words[j]
            gap = text[end:s2]
            if gap.strip():
                break
            if w2[0].isupper():
                toks.append(w2)
                end = e2
                j += 1
            elif (
                w2.lower() in _CONNECTORS
                and j + 1 < len(words)
                and words[j + 1][2][0].isupper()
                and not text[e2 : words[j + 1][0]].strip()
            ):
                toks.extend([w2, words[j + 1][2]])
                end = words[j + 1][1]
                j += 2
            else:
                break
        spans.append((s, end, toks))
        i = j
    out: list[NameSpan] = []
    prev_end, prev_role = -1, None
    for s, e, toks in spans:
        lead_role = None
        while toks and (toks[0].lower().rstrip(".,") in _STOP or toks[0].lower() in _ROLE_WORDS):
            lead_role = _ROLE_WORDS.get(toks[0].lower(), lead_role)
            toks = toks[1:]
        toks = [t.rstrip(",;:") for t in toks]
        if toks and len(toks[-1]) > 2 and toks[-1].endswith("."):
            toks[-1] = toks[-1][:-1]  # sentence end, not an initial
        while toks and toks[-1].lower() in _STOP:
            toks = toks[:-1]
        if not toks:
            continue
        role = lead_role or _role_before(text[:s])
        if role is None and prev_end >= 0 and _LIST_GLUE.match(text[prev_end:s]):
            role = prev_role
        if len(toks) >= 2 or role is not None:
            out.append(NameSpan(" ".join(toks), role))
            prev_end, prev_role = e, role
    return out
