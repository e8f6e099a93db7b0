"""Release-year constraints in free text: "from the 90s", "after 2010", "older movies".

:func:`find_years` returns every constraint it recognises with its span; the lexicon
combines them (decades joined by "or" widen the range, bounds narrow it). Relative words
("recent", "older") are anchored on a reference year (the newest year in the catalogue),
never on the clock, so results do not change with the date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["YearSpan", "find_years", "OLD_GAP", "RECENT_GAP"]

OLD_GAP = 20  # "older movies": released at least this many years before the reference year
RECENT_GAP = 5  # "recent movies": released at most this many years before it

_DECADE_WORDS = {
    "twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950,
    "sixties": 1960, "seventies": 1970, "eighties": 1980, "nineties": 1990,
}  # fmt: skip
_NOUN = r"(?:movies?|films?|ones?|stuff|flicks?|releases?|titles?|pictures?)"
_Y = r"(1[89]\d\d|20[0-3]\d)"
_DECADE = (
    r"(?:the\s+)?(?:(early|mid|late)[\s-]*)?"
    r"(?:(?:'|’)?(?:(1[89]|20)?(\d)0)\s*(?:'|’)?\s*s\b|(" + "|".join(_DECADE_WORDS) + r")\b)"
)
_ONWARDS = r"\s+(?:on|onwards?|and (?:later|newer|up)|or (?:later|newer))\b"
_NOT_RANGE = r"\b(?!\s*(?:-|–|to|on|onwards?|or|and)\b)"
_NEG = r"(?:(no|nothing|not|dont|don't|never|none)\s+(?:\w+\s+)?)?"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("between", re.compile(r"\bbetween\s+" + _Y + r"\s+and\s+" + _Y + r"\b")),
    ("between", re.compile(r"\bfrom\s+" + _Y + r"\s+(?:to|till|until|through)\s+" + _Y + r"\b")),
    ("between", re.compile(r"\b" + _Y + r"\s*(?:-|–|to)\s*" + _Y + r"\b")),
    ("rel_decade", re.compile(_NEG + r"\b(after|since|before|pre|post|prior to)\s+" + _DECADE)),
    ("decade", re.compile(_NEG + r"(?<![\w'])" + _DECADE)),
    ("after", re.compile(_NEG + r"\b(?:after|post|newer than|later than|more recent than)\s+" + _Y + r"\b")),
    ("min", re.compile(_NEG + r"\b(?:since|from)\s+" + _Y + _ONWARDS)),
    ("min", re.compile(_NEG + r"\b(?:since)\s+" + _Y + r"\b")),
    ("min", re.compile(_Y + r"\s+(?:or|and)\s+(?:later|newer|after|up)\b")),
    ("before", re.compile(_NEG + r"\b(?:before|prior to|older than|earlier than|pre)\s+" + _Y + r"\b")),
    ("max", re.compile(_NEG + r"\b(?:until|up to|through|no later than)\s+" + _Y + r"\b")),
    ("max", re.compile(_Y + r"\s+(?:or|and)\s+(?:earlier|older|before)\b")),
    ("exact", re.compile(r"\b(?:from|in|released in|made in|of)\s+" + _Y + _NOT_RANGE)),
    ("exact", re.compile(r"\ba\s+" + _Y + r"\s+" + _NOUN)),
    ("old", re.compile(_NEG + r"\b(?:old|older|classic|vintage|retro)\s+(?:\w+\s+)?" + _NOUN)),
    ("old", re.compile(_NEG + r"\b(?:oldies|classics|black and white)\b")),
    ("old", re.compile(_NEG + r"\bsomething\s+(?:old|older|classic)\b")),
    ("recent", re.compile(_NEG + r"\b(?:new|newer|recent|latest|modern|current|newest)\s+(?:\w+\s+)?" + _NOUN)),
    ("recent", re.compile(_NEG + r"\b(?:something|anything)\s+(?:new|newer|recent)\b")),
    ("recent", re.compile(r"\b(?:came out|released|out)\s+(?:recently|lately|this year|last year)\b")),
]


@dataclass(frozen=True)
class YearSpan:
    """One year constraint found in a text.

    Attributes:
        start: start offset in the text.
        end: end offset.
        year_min: earliest year allowed (None: no lower bound).
        year_max: latest year allowed (None: no upper bound).
        kind: ``decade``, ``bound``, ``exact`` or ``relative``.
    """

    start: int
    end: int
    year_min: int | None
    year_max: int | None
    kind: str


def _decade(century: str | None, digit: str, word: str | None) -> int:
    if word:
        return _DECADE_WORDS[word]
    d = int(digit) * 10
    if century:
        return int(century) * 100 + d
    return 2000 + d if d <= 10 else 1900 + d


def _part(decade: int, part: str | None) -> tuple[int, int]:
    if part == "early":
        return decade, decade + 3
    if part == "mid":
        return decade + 3, decade + 6
    if part == "late":
        return decade + 6, decade + 9
    return decade, decade + 9


def find_years(text: str, ref_year: int) -> list[YearSpan]:
    """Year constraints in a text, left to right, without overlaps.

    Args:
        text: a message (any case).
        ref_year: the year "recent" and "older" are relative to.

    Returns:
        The constraints found. A negated constraint is turned around: "nothing before 2000"
        gives ``year_min=2000``; "no old movies" gives ``year_min=ref_year - OLD_GAP + 1``;
        a negated decade is dropped (a range cannot be excluded with one bound).
    """
    low = text.lower()
    found: list[YearSpan] = []
    taken: list[tuple[int, int]] = []
    for kind, pat in _PATTERNS:
        for m in pat.finditer(low):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            span = _interpret(kind, m, ref_year)
            taken.append((m.start(), m.end()))
            if span is not None:
                found.append(YearSpan(m.start(), m.end(), *span))
    return sorted(found, key=lambda y: y.start)


def _interpret(kind: str, m: re.Match[str], ref: int) -> tuple[int | None, int | None, str] | None:
    g = m.groups()
    if kind == "between":
        a, b = sorted((int(g[0]), int(g[1])))
        return a, b, "bound"
    neg = bool(g[0]) if g else False  # some patterns have no negation group
    if kind == "rel_decade":
        rel, (lo, hi) = g[1], _part(_decade(g[3], g[4], g[5]), g[2])
        if rel in ("after", "post"):  # after the 90s: from 2000; nothing after the 90s: until 1999
            return (None, hi, "bound") if neg else (hi + 1, None, "bound")
        if rel == "since":
            return (None, lo - 1, "bound") if neg else (lo, None, "bound")
        return (lo, None, "bound") if neg else (None, lo - 1, "bound")
    if kind == "decade":
        if neg:
            return None
        lo, hi = _part(_decade(g[2], g[3], g[4]), g[1])
        return lo, hi, "decade"
    if kind == "exact":
        y = int(g[0])
        return y, y, "exact"
    if kind in ("min", "max") and len(g) == 1:  # "2010 or later" has no negation group
        y = int(g[0])
        return (y, None, "bound") if kind == "min" else (None, y, "bound")
    if kind in ("after", "min", "before", "max"):
        y = int(g[1])
        lower = {"after": (y + 1, None), "min": (y, None), "before": (None, y - 1), "max": (None, y)}[kind]
        if neg:  # "nothing before 2000" -> from 2000; "nothing after 2010" -> until 2010
            lower = (None, y) if kind in ("after", "min") else (y, None)
        return lower[0], lower[1], "bound"
    if kind == "old":
        cut = ref - OLD_GAP
        if neg:
            return cut + 1, None, "relative"
        return None, cut, "relative"
    if kind == "recent":
        cut = ref - RECENT_GAP
        if len(g) and g[0]:
            return None, cut - 1, "relative"
        return cut, None, "relative"
    return None
