"""Belief moves a message asks for relative to what was said: comparatives and corrections.

* Comparatives ("scarier", "less violent", "newer", "a lighter one") move the belief. A word
  is read through the attribute lexicon ("scary" -> horror), else through the catalogue's own
  text: the genres whose items' plots use the word far more often than the catalogue does
  ("violent" -> crime, thriller). A genre asked for "more" brings the genre that co-occurs
  with it most in the catalogue (horror -> thriller). "Less" of something rules out those of
  its genres that the last list had. "Newer"/"older" move the year bound past the last
  list's median year. A few opposite pairs ("lighter" = less dark) are adjectives, not genres.
* Corrections ("I meant the 1995 Heat", "no, the Shyamalan one") swap an item for another
  with the same title, picked by a year or a person named in the message.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crsagent.agent.domains import domain_spec
from crsagent.graphs.dialogue.cues import comparatives

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.tools.toolkit import Toolkit

__all__ = [
    "OPPOSITES",
    "UNAVAILABLE",
    "unavailable_asked",
    "word_genres",
    "comparative_update",
    "same_title_items",
    "pick_correction",
]

#: Adjectives read as "less" of their opposite ("lighter" -> less dark).
OPPOSITES: dict[str, str] = {
    "light": "dark",
    "lighthearted": "dark",
    "gentle": "violent",
    "calm": "intense",
    "happy": "sad",
    "cheerful": "dark",
    "soft": "violent",
    "tame": "violent",
}
#: Comparatives on attributes the catalogue does not record: attribute -> words.
UNAVAILABLE: dict[str, frozenset[str]] = {
    "runtime": frozenset({"short", "long", "quick"}),
    "price": frozenset({"cheap", "expensive", "pricey", "affordable"}),
}
_NEWER, _OLDER = frozenset({"new", "recent", "modern"}), frozenset({"old", "classic"})
MIN_LIFT, MIN_HITS, MAX_GENRES = 2.0, 5, 3
CO_GENRE_SHARE, CO_GENRE_LIFT = 0.3, 1.5
_cache: dict[tuple[int, str], list[str]] = {}


def _items(tk: Toolkit) -> list[Any]:
    key = (id(tk), "__items__")
    got = _cache.get(key)
    if got is None:
        got = list(tk.db.all_items())
        _cache[key] = got
    return got


def _lexicon_genres(tk: Toolkit, word: str) -> list[str]:
    """The lexicon's genres for exactly this word (no typo correction: "olde" is no word)."""
    keys = getattr(tk.lexicon, "keys", None) or {}
    kind, values, _caps = keys.get((word,), (None, (), False))
    return list(values) if kind == "genre" else []


def _text_genres(tk: Toolkit, word: str) -> list[str]:
    """Genres whose items' plots use the word (or its stem) far more than the catalogue does."""
    key = (id(tk), word)
    if key in _cache:
        return _cache[key]
    items = _items(tk)
    stem = word[:-1] if len(word) > 5 else word
    rx = re.compile(r"\b" + re.escape(stem))
    base = Counter(g for it in items for g in it.genres)
    hits = [it for it in items if it.plot and rx.search(it.plot.lower())]
    out: list[str] = []
    if len(hits) >= MIN_HITS:
        c = Counter(g for it in hits for g in it.genres)
        lift = {g: (n / len(hits)) / (base[g] / len(items)) for g, n in c.items() if n >= MIN_HITS}
        out = [g for g, v in sorted(lift.items(), key=lambda p: -p[1]) if v >= MIN_LIFT][:MAX_GENRES]
    _cache[key] = out
    return out


def _co_genre(tk: Toolkit, genre: str) -> str | None:
    """The genre that most often comes with ``genre`` in the catalogue (horror -> thriller)."""
    key = (id(tk), "co:" + genre)
    if key not in _cache:
        items = _items(tk)
        with_g = [it for it in items if genre in it.genres]
        base = Counter(g for it in items for g in it.genres)
        c = Counter(g for it in with_g for g in it.genres if g != genre)
        best = [
            g
            for g, n in c.most_common()
            if with_g
            and n / len(with_g) >= CO_GENRE_SHARE
            and (n / len(with_g)) / (base[g] / len(items)) >= CO_GENRE_LIFT
        ]
        _cache[key] = best[:1]
    return _cache[key][0] if _cache[key] else None


def word_genres(tk: Toolkit, word: str, explicit: bool = True) -> list[str]:
    """The catalogue genres a descriptive word stands for (lexicon first, then catalogue text)."""
    found = _lexicon_genres(tk, word)
    if not found and explicit and domain_spec(tk.domain).text_genres:
        found = _text_genres(tk, word)
    return found


def _known(tk: Toolkit, word: str, explicit: bool) -> bool:
    """Whether a comparative's base word means something here (its other bases are then dropped)."""
    return (
        word in _NEWER | _OLDER or any(word in w for w in UNAVAILABLE.values()) or bool(word_genres(tk, word, explicit))
    )


def _years(tk: Toolkit, ids: Sequence[str]) -> list[int]:
    return [y for y in (getattr(tk.item(i), "year", None) for i in ids) if y]


def comparative_update(tk: Toolkit, text: str, last_recs: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """The belief update of the comparatives in a message, and the attributes it asked about
    that the catalogue does not record (``runtime``, ``price``).

    Args:
        tk: the domain's tools.
        text: the user message.
        last_recs: the last list the agent gave (what "more"/"less" is relative to).
    """
    genres: dict[str, str] = {}
    cons: dict[str, int] = {}
    missing: list[str] = []
    last_genres = {g for i in last_recs for g in getattr(tk.item(i), "genres", None) or []}
    done: set[str] = set()
    for c in comparatives(text):
        direction, word = c.direction, c.word
        if word in OPPOSITES:
            direction, word = ("less" if direction == "more" else "more"), OPPOSITES[word]
        if word in done or c.surface in done:
            continue
        if _known(tk, word, c.explicit):
            done.add(c.surface)  # "lighter": once "light" is read, "lighte" is not tried
        if word in _NEWER | _OLDER:
            years = _years(tk, last_recs)
            newer = (word in _NEWER) == (direction == "more")
            if years and newer:
                cons["year_min"] = int(statistics.median(years)) + 1
            elif years:
                cons["year_max"] = int(statistics.median(years)) - 1
            done.add(word)
            continue
        hit = next((a for a, words in UNAVAILABLE.items() if word in words), None)
        if hit:
            missing.append(hit)
            done.add(word)
            continue
        found = word_genres(tk, word, c.explicit)
        if not found:
            continue
        done.add(word)
        if direction == "more":
            more = list(found) + [g for g in (_co_genre(tk, f) for f in found[:1]) if g]
            genres.update({g: "like" for g in more})
        else:
            less = [g for g in found if g in last_genres] or found[:1]
            genres.update({g: "dislike" for g in less})
    up: dict[str, Any] = {}
    if genres:
        up["genres"] = genres
    if cons:
        up["constraints"] = cons
    return up, list(dict.fromkeys(missing))


def same_title_items(tk: Toolkit, item_id: str) -> list[str]:
    """Catalogue items that share an item's title (the item first)."""
    it = tk.item(item_id)
    if it is None or tk.linker is None:
        return [item_id]
    out = [item_id]
    bare = re.sub(r"^(the|a|an)\s+", "", it.title, flags=re.I)
    for title in dict.fromkeys([it.title, bare]):
        for m in [m for m in tk.linker.link(title, min_confidence=0.0) if m.start == 0][:1]:
            out += [i for i in [m.item_id, *m.alternatives] if i not in out]
    return out


def pick_correction(tk: Toolkit, text: str, options: Sequence[str], current: str | None) -> str | None:
    """The item a correction means among same-title options: a year or a person named in the
    message decides; "the other one" takes the best-known option that is not ``current``."""
    years = [int(y) for y in re.findall(r"\b(1[89]\d\d|20\d\d)\b", text)]
    items = [it for it in (tk.item(i) for i in options) if it is not None]
    for y in years:
        for d in (0, 1):
            hit = [it for it in items if it.year and abs(it.year - y) <= d]
            if hit:
                return hit[0].item_id
    lex = tk.lexicon
    ex = lex.extract(text) if lex is not None else None
    people = {p.lower() for p in (getattr(ex, "people", None) or [])}
    if people:
        for it in items:
            if people & {p.lower() for p in (*it.directors, *it.cast, *it.writers)}:
                return it.item_id
    others = [it.item_id for it in items if it.item_id != current]
    if re.search(r"\bother one\b", text.lower()) and others:
        return others[0]
    return None


def unavailable_asked(text: str) -> list[str]:
    """Attributes the catalogue does not record that a message compares on ("shorter",
    "a cheaper one", "less expensive"): ``runtime`` or ``price``."""
    out = []
    for c in comparatives(text):
        out += [a for a, words in UNAVAILABLE.items() if c.word in words]
    return list(dict.fromkeys(out))
