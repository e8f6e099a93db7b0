"""The title dictionary behind the entity linker: every way a title may be typed, as token keys.

Each item contributes keys (token tuples, see :mod:`crsagent.tools.linker.text`) of these
kinds, in order of trust:

- ``FULL``: the title as the catalogue writes it (``the babadook``);
- ``VARIANT``: the title without a leading article (``babadook``), with hyphenated words joined
  (``spiderman``), or an alternative title from the catalogue (MovieLens a.k.a. titles,
  the other source's spelling);
- ``SHORT``: the main title before a colon (``star wars`` for ``Star Wars: The Last Jedi``).

For each key the index also keeps how ordinary its words are in everyday English
(:func:`crsagent.tools.linker.frequency.zipf`), so the linker can tell ``heat`` the word from
*Heat* the film, and for each item a popularity weight.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from crsagent.tools.catalog.schema import Item
from crsagent.tools.linker.common_words import CHAT_WORDS, FUNCTION_WORDS
from crsagent.tools.linker.frequency import zipf
from crsagent.tools.linker.text import ARTICLES, norm_phrase

__all__ = ["FULL", "VARIANT", "SHORT", "Entry", "TitleIndex", "key_commonness", "MAX_KEY_TOKENS", "SURNAME_MIN_CREDITS"]

FULL, VARIANT, SHORT = 0, 1, 2
MAX_KEY_TOKENS = 12
_CONTENT_SHARE = 0.5  # share of an extra content word's rarity (9 - zipf) added to a key's rarity
_FUNCTION_SHARE = 0.3  # the same for an extra function word
_CHAT_PENALTY = 0.5
SURNAME_MIN_CREDITS = 5
_TOP_BILLED = 3  # chat words are more frequent in chats about films than in general text


@dataclass(frozen=True, slots=True)
class Entry:
    """What the linker needs to know about one item.

    Attributes:
        item_id: catalogue id.
        title: display title.
        year: release year.
        popularity: the catalogue's popularity.
        weight: log10 of (1 + popularity + mentions): how often people bring it up.
    """

    item_id: str
    title: str
    year: int | None
    popularity: float
    weight: float


def key_commonness(key: tuple[str, ...]) -> tuple[float, bool]:
    """How common a key is as ordinary text (Zipf scale) and whether it is all function words.

    The rarest content word sets the level; every other word makes a chance match rarer, by
    a share of how rare that word is (a crude, collocation-tolerant phrase frequency). A
    leading article adds nothing. A key of function words only ("it", "i am") takes the
    Zipf value of its rarest word.
    """
    words = key[1:] if len(key) > 1 and key[0] in ARTICLES else key
    zs = [(zipf(w) + (_CHAT_PENALTY if w in CHAT_WORDS else 0.0), w in FUNCTION_WORDS) for w in words]
    content = [z for z, func in zs if not func]
    if not content:
        return min(z for z, _ in zs), True
    base = min(content)
    rest = sorted(zs, key=lambda p: p[0])[1:] if len(content) == len(zs) else [p for p in zs if p[0] != base or p[1]]
    extra = sum((_CONTENT_SHARE if not func else _FUNCTION_SHARE) * max(9.0 - z, 0.0) for z, func in rest)
    return base - extra, False


@dataclass(slots=True)
class TitleIndex:
    """Keys -> candidate items, with per-key figures.

    Attributes:
        entries: the items, indexed by position.
        keys: key -> list of (entry index, kind), best kind first.
        max_len: first token -> the longest key that starts with it.
        commonness: key -> (Zipf commonness, function words only).
        vocab: every word of every key, with the weight of its most popular item.
        people: names (two words or more) of the catalogue's directors, writers and cast, so
            "Robin Williams" and "Bruce Willis" are not taken for titles.
        people_max_len: first token -> the longest name that starts with it.
        surnames: last names of people who direct or top the cast of at least
            :data:`SURNAME_MIN_CREDITS` items ("hitchcock"): a title that is such a name
            alone is often the person.
        credits: entry index -> last names of its directors and top-billed cast, so a name
            in the message can tell items with the same title apart ("heat with melissa
            mccarthy").
    """

    entries: list[Entry]
    keys: dict[tuple[str, ...], list[tuple[int, int]]]
    max_len: dict[str, int]
    commonness: dict[tuple[str, ...], tuple[float, bool]]
    vocab: dict[str, float]
    people: frozenset[tuple[str, ...]] = frozenset()
    people_max_len: dict[str, int] | None = None
    surnames: frozenset[str] = frozenset()
    credits: dict[int, frozenset[str]] | None = None

    @classmethod
    def build(cls, items: Iterable[Item], aliases: Mapping[str, Sequence[str]] | None = None) -> TitleIndex:
        """Index the titles (and alternative titles) of items.

        Args:
            items: catalogue items.
            aliases: item id -> alternative titles.

        Returns:
            The index.
        """
        items = list(items)
        aliases = aliases or {}
        entries = [
            Entry(it.item_id, it.title, it.year, float(it.popularity),
                  math.log10(1.0 + max(it.popularity, 0.0) + max(it.mentions, 0)))
            for it in items
        ]  # fmt: skip
        keys: dict[tuple[str, ...], dict[int, int]] = defaultdict(dict)
        for idx, it in enumerate(items):
            titles = [(it.title, FULL)] + [(a, VARIANT) for a in aliases.get(it.item_id, ()) if a]
            for title, kind in titles:
                for key, k in _variants(title, kind):
                    if key and len(key) <= MAX_KEY_TOKENS:
                        prev = keys[key].get(idx)
                        if prev is None or k < prev:
                            keys[key][idx] = k
        max_len: dict[str, int] = {}
        vocab: dict[str, float] = {}
        for phrase, cands in keys.items():
            max_len[phrase[0]] = max(max_len.get(phrase[0], 0), len(phrase))
            weight = max(entries[i].weight for i in cands) + 1.0
            for w in phrase:
                vocab[w] = max(vocab.get(w, 0.0), weight)
        people: set[tuple[str, ...]] = set()
        credits: dict[tuple[str, ...], int] = defaultdict(int)
        for it in items:
            for name in {*it.directors, *it.cast[:_TOP_BILLED]}:
                credits[norm_phrase(name)] += 1
            for name in (*it.directors, *it.writers, *it.cast):
                key = norm_phrase(name)
                short = tuple(w for w in key if len(w) > 1)
                people.update(p for p in (key, short) if len(p) >= 2)
        people_max_len: dict[str, int] = {}
        for phrase in people:
            people_max_len[phrase[0]] = max(people_max_len.get(phrase[0], 0), len(phrase))
        surnames = frozenset(p[-1] for p, n in credits.items() if len(p) >= 2 and n >= SURNAME_MIN_CREDITS)
        shared = {i for v in keys.values() if len(v) > 1 for i in v}  # only items that share a key need them
        item_credits = {
            i: frozenset(
                norm_phrase(n)[-1] for n in (*items[i].directors, *items[i].cast[:_TOP_BILLED]) if norm_phrase(n)
            )
            for i in shared
        }
        return cls(
            credits=item_credits,
            surnames=surnames,
            people=frozenset(people),
            people_max_len=people_max_len,
            entries=entries,
            keys={k: sorted(v.items(), key=lambda p: (p[1], -entries[p[0]].weight, p[0])) for k, v in keys.items()},
            max_len=max_len,
            commonness={k: key_commonness(k) for k in keys},
            vocab=vocab,
        )


def _variants(title: str, kind: int) -> list[tuple[tuple[str, ...], int]]:
    """The keys one title contributes."""
    out: list[tuple[tuple[str, ...], int]] = []
    key = norm_phrase(title)
    if not key:
        return out
    out.append((key, kind))
    if len(key) > 1 and key[0] in ARTICLES:
        out.append((key[1:], VARIANT))
    if "-" in title:
        joined = norm_phrase(title.replace("-", ""))
        if joined != key:
            out.append((joined, VARIANT))
            if len(joined) > 1 and joined[0] in ARTICLES:
                out.append((joined[1:], VARIANT))
    if ":" in title:
        main = norm_phrase(title.split(":", 1)[0])
        if main and main != key:
            out.append((main, SHORT))
            if len(main) > 1 and main[0] in ARTICLES:
                out.append((main[1:], SHORT))
    return out
