"""Lexicon keys for people (directors, writers, cast) and brands, built from the catalogue.

People are found by full name (``tom hanks``; ``samuel jackson`` for ``Samuel L. Jackson``;
``robert deniro`` for ``Robert De Niro``) and by a distinctive surname (``spielberg``,
``tarantino``): one that is not an ordinary word and belongs, by a wide margin, to the
best-known person who carries it. Brands are found by name; a one-word brand that is also an
ordinary word ("Universal", "Brother") only when written with a capital letter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from crsagent.tools.catalog.schema import Item
from crsagent.tools.linker.common_words import COMMON_WORDS, FUNCTION_WORDS
from crsagent.tools.linker.frequency import zipf
from crsagent.tools.linker.text import norm_phrase
from crsagent.tools.linker.vocab import GENRE_SYNONYMS, NAME_PARTICLES

__all__ = ["people_keys", "brand_keys", "is_ordinary", "SURNAME_MARGIN", "SURNAME_MIN_WEIGHT", "ORDINARY_ZIPF"]

SURNAME_MARGIN = 2.5  # the best-known bearer must weigh this many times the next one
SURNAME_MIN_WEIGHT = 3.0  # and appear in at least about this many items
ORDINARY_ZIPF = 4.0  # a word at least this frequent in English is an ordinary word

Key = tuple[str, ...]


def is_ordinary(word: str) -> bool:
    """Whether a word is everyday English (so not evidence of a name on its own)."""
    return word in COMMON_WORDS or word in FUNCTION_WORDS or zipf(word) >= ORDINARY_ZIPF


def _genre_words() -> set[str]:
    return {w for phrase in GENRE_SYNONYMS for w in norm_phrase(phrase)}


def _name_variants(name: str) -> list[Key]:
    key = norm_phrase(name)
    out = [key]
    short = tuple(w for w in key if len(w) > 1)  # drop middle initials
    if short != key and len(short) >= 2:
        out.append(short)
    for k in list(out):
        for i in range(1, len(k) - 1):
            if k[i] in NAME_PARTICLES:  # "robert de niro" -> "robert deniro"
                out.append(k[:i] + (k[i] + k[i + 1],) + k[i + 2 :])
    return out


def _surname(key: Key) -> list[Key]:
    if len(key) < 2:
        return []
    out = [key[-1:]]
    if len(key) >= 3 and key[-2] in NAME_PARTICLES:
        out = [key[-2:], (key[-2] + key[-1],)]
    return out


def people_keys(items: Iterable[Item]) -> dict[Key, tuple[str, bool]]:
    """Key -> (canonical name, needs capital letters) for the catalogue's people.

    Args:
        items: the catalogue.

    Returns:
        Full-name keys of everyone with a name of two or more words, and distinctive surnames.
    """
    weight: dict[str, float] = defaultdict(float)
    for it in items:
        for name in {*it.directors, *it.writers, *it.cast}:
            weight[name] += 1.0 + min(it.popularity, 500.0) / 100.0
    full: dict[Key, tuple[str, float]] = {}
    by_surname: dict[Key, list[tuple[float, str]]] = defaultdict(list)
    genre_words = _genre_words()
    for name, w in weight.items():
        variants = _name_variants(name)
        if len(variants[0]) < 2:
            continue
        for k in variants:
            if k not in full or full[k][1] < w:
                full[k] = (name, w)
        for s in _surname(variants[0]):
            by_surname[s].append((w, name))
    out: dict[Key, tuple[str, bool]] = {k: (name, False) for k, (name, _) in full.items()}
    for s, bearers in by_surname.items():
        if s in out or len("".join(s)) < 4 or s[-1] in genre_words or is_ordinary(s[-1]):
            continue
        bearers.sort(reverse=True)
        top_w, top = bearers[0]
        runner = bearers[1][0] if len(bearers) > 1 else 0.0
        if top_w >= SURNAME_MIN_WEIGHT and top_w >= SURNAME_MARGIN * runner:
            out[s] = (top, False)
    return out


def brand_keys(items: Iterable[Item]) -> dict[Key, tuple[str, bool]]:
    """Key -> (brand, needs capital letters) for the catalogue's brands."""
    counts: dict[str, int] = defaultdict(int)
    for it in items:
        if it.brand:
            counts[it.brand] += 1
    out: dict[Key, tuple[str, int, bool]] = {}
    for brand, c in counts.items():
        key = norm_phrase(brand)
        if not key:
            continue
        variants = [key]
        if len(key) > 1:
            variants.append(("".join(key),))  # "post it" -> "postit"
        for k in variants:
            ordinary = all(is_ordinary(w) for w in k)
            caps = ordinary or (len(k) == 1 and len(k[0]) < 3)
            if k not in out or out[k][1] < c:
                out[k] = (brand, c, caps)
    return {k: (b, caps) for k, (b, _, caps) in out.items()}
