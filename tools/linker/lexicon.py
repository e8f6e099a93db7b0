"""The attribute lexicon: genres, people, brands and year constraints in a user message.

``AttributeLexicon.from_items(items).extract("no horror, something funny from the 90s")``
gives an :class:`Extraction` (``genres_disliked=["horror"]``, ``genres_liked=["comedy"]``,
``year_min=1990``, ``year_max=1999``). Words are matched as token n-grams against the
catalogue's own values and a synonym table (:mod:`crsagent.tools.linker.vocab`); unknown
words one typo away from a lexicon word are corrected ("horroe"). Negation comes from
:mod:`crsagent.tools.linker.negation`, years from :mod:`crsagent.tools.linker.years`. It is
deterministic and fast, and feeds the agent's understanding step next to the LLM.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crsagent.tools.catalog.schema import Item, ItemFilter
from crsagent.tools.linker.common_words import COMMON_WORDS, FUNCTION_WORDS
from crsagent.tools.linker.frequency import KNOWN_WORD_ZIPF, zipf
from crsagent.tools.linker.fuzzy import TypoIndex
from crsagent.tools.linker.negation import negated_mask
from crsagent.tools.linker.people import brand_keys, people_keys
from crsagent.tools.linker.text import Token, norm_phrase, tokenize
from crsagent.tools.linker.vocab import GENRE_SYNONYMS
from crsagent.tools.linker.years import find_years

__all__ = ["LexiconMatch", "Extraction", "AttributeLexicon"]

Kind = Literal["genre", "person", "brand", "year"]
_MAX_KEY = 6


class LexiconMatch(BaseModel):
    """One attribute value found in the text."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    value: str
    start: int
    end: int
    surface: str
    negated: bool = False


class Extraction(BaseModel):
    """What a message says about attributes.

    Attributes:
        genres_liked: catalogue genres asked for.
        genres_disliked: catalogue genres ruled out ("no horror").
        people: directors / writers / actors asked for (catalogue spelling).
        people_disliked: people ruled out.
        year_min: earliest release year wanted.
        year_max: latest release year wanted.
        brands: brands asked for (office).
        brands_disliked: brands ruled out.
        matches: every match with its span, for explanations and debugging.
    """

    genres_liked: list[str] = Field(default_factory=list)
    genres_disliked: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    people_disliked: list[str] = Field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    brands: list[str] = Field(default_factory=list)
    brands_disliked: list[str] = Field(default_factory=list)
    matches: list[LexiconMatch] = Field(default_factory=list)

    def is_empty(self) -> bool:
        """True when nothing was found."""
        return not self.matches

    def to_filter(self, liked_genres_required: bool = False) -> ItemFilter:
        """The hard constraints as an :class:`ItemFilter`.

        Args:
            liked_genres_required: also require one of the liked genres (by default liked
                genres are soft preferences, left to ranking).

        Returns:
            Excluded genres, the year range, people and a single brand as constraints.
        """
        disliked = [g for g in self.genres_disliked if g not in self.genres_liked]
        return ItemFilter(
            genres_any=list(self.genres_liked) if liked_genres_required else [],
            exclude_genres=disliked,
            year_min=self.year_min,
            year_max=self.year_max,
            people=list(self.people),
            brand=self.brands[0] if len(self.brands) == 1 else None,
        )


class AttributeLexicon:
    """Extracts attribute values from messages; build it with :meth:`from_items`.

    Args:
        keys: token key -> (kind, values, needs capital letters).
        ref_year: the year "recent" and "older" are relative to.
    """

    def __init__(self, keys: dict[tuple[str, ...], tuple[Kind, tuple[str, ...], bool]], ref_year: int) -> None:
        self.keys = keys
        self.ref_year = ref_year
        self._max_len: dict[str, int] = {}
        vocab: dict[str, float] = {}
        for k in keys:
            self._max_len[k[0]] = max(self._max_len.get(k[0], 0), len(k))
            for w in k:
                if w not in FUNCTION_WORDS:
                    vocab[w] = vocab.get(w, 0.0) + 1.0
        self._typos = TypoIndex(vocab, min_len=5)
        self._known = set(vocab) | COMMON_WORDS

    @classmethod
    def from_items(cls, items: Iterable[Item], ref_year: int | None = None) -> AttributeLexicon:
        """Build the lexicon from a catalogue's genres, people and brands.

        Args:
            items: the catalogue.
            ref_year: reference for relative years; default the newest year in the catalogue.

        Returns:
            The lexicon.
        """
        items = list(items)
        genres = {g for it in items for g in it.genres}
        keys: dict[tuple[str, ...], tuple[Kind, tuple[str, ...], bool]] = {}
        for key, (name, caps) in people_keys(items).items():
            keys[key] = ("person", (name,), caps)
        for key, (name, caps) in brand_keys(items).items():
            keys.setdefault(key, ("brand", (name,), caps))
        for g in sorted(genres):
            for k in (norm_phrase(g), norm_phrase(g) + ("movies",), norm_phrase(g + "s")):
                keys[k] = ("genre", (g,), False)
        for phrase, targets in GENRE_SYNONYMS.items():
            present = tuple(t for t in targets if t in genres)
            if present:
                keys[norm_phrase(phrase)] = ("genre", present, False)
        years = [it.year for it in items if it.year]
        return cls(keys, ref_year if ref_year is not None else (max(years) if years else 2018))

    @classmethod
    def from_db(cls, db: Any, ref_year: int | None = None) -> AttributeLexicon:
        """Build the lexicon from a product database's items."""
        return cls.from_items(db.all_items(), ref_year=ref_year)

    @property
    def genres(self) -> list[str]:
        """The catalogue genres the lexicon can report."""
        return sorted({v for kind, vals, _ in self.keys.values() if kind == "genre" for v in vals})

    def extract(self, text: str, ignore_spans: Sequence[tuple[int, int]] = ()) -> Extraction:
        """Attribute values in a message.

        Args:
            text: the message.
            ignore_spans: character spans to skip, e.g. item mentions found by the entity
                linker ("the rocky horror picture show" is not a wish for horror).

        Returns:
            The extraction (empty for text with nothing recognised).
        """
        tokens = tokenize(text)
        skip = [any(s < t.end and t.start < e for s, e in ignore_spans) for t in tokens]
        norms = [self._fix(t.norm) for t in tokens]
        found: list[tuple[int, int, Kind, tuple[str, ...]]] = []
        i = 0
        while i < len(tokens):
            hit = None if skip[i] else self._match(text, tokens, norms, skip, i)
            if hit is None:
                i += 1
                continue
            found.append(hit)
            i = hit[1]
        listy = {s for s, _, _, _ in found}
        neg = negated_mask(text, tokens, listy)
        out = Extraction()
        buckets = {
            ("genre", False): out.genres_liked, ("genre", True): out.genres_disliked,
            ("person", False): out.people, ("person", True): out.people_disliked,
            ("brand", False): out.brands, ("brand", True): out.brands_disliked,
        }  # fmt: skip
        for s, e, kind, values in found:
            negated = any(neg[s:e])
            start, end = tokens[s].start, tokens[e - 1].end
            for v in values:
                if v not in buckets[(kind, negated)]:
                    buckets[(kind, negated)].append(v)
                out.matches.append(LexiconMatch(kind=kind, value=v, start=start, end=end,
                                                surface=text[start:end], negated=negated))  # fmt: skip
        self._years(text, ignore_spans, out)
        return out

    # -- helpers -----------------------------------------------------------------------
    def _fix(self, w: str) -> str:
        if len(w) < 5 or w in self._known or w.isdigit() or zipf(w) >= KNOWN_WORD_ZIPF:
            return w
        return self._typos.correct(w) or w

    def _match(
        self, text: str, tokens: list[Token], norms: list[str], skip: list[bool], i: int
    ) -> tuple[int, int, Kind, tuple[str, ...]] | None:
        longest = min(self._max_len.get(norms[i], 0), _MAX_KEY, len(tokens) - i)
        for n in range(longest, 0, -1):
            if any(skip[i : i + n]):
                continue
            entry = self.keys.get(tuple(norms[i : i + n]))
            if entry is None:
                continue
            kind, values, caps = entry
            if caps and not all(t.raw[:1].isupper() for t in tokens[i : i + n]):
                continue
            return i, i + n, kind, values
        return None

    def _years(self, text: str, ignore_spans: Sequence[tuple[int, int]], out: Extraction) -> None:
        spans = [y for y in find_years(text, self.ref_year)
                 if not any(s < y.end and y.start < e for s, e in ignore_spans)]  # fmt: skip
        if not spans:
            return
        decades = [y for y in spans if y.kind == "decade"]
        lo = min(y.year_min for y in decades if y.year_min is not None) if decades else None
        hi = max(y.year_max for y in decades if y.year_max is not None) if decades else None
        for y in spans:
            if y.kind == "decade":
                continue
            if y.year_min is not None:
                lo = y.year_min if lo is None else max(lo, y.year_min)
            if y.year_max is not None:
                hi = y.year_max if hi is None else min(hi, y.year_max)
        if lo is not None and hi is not None and lo > hi:  # contradiction: the last one wins
            lo, hi = spans[-1].year_min, spans[-1].year_max
        out.year_min, out.year_max = lo, hi
        for y in spans:
            value = f"{y.year_min or ''}-{y.year_max or ''}"
            out.matches.append(LexiconMatch(kind="year", value=value, start=y.start, end=y.end,
                                            surface=text[y.start : y.end]))  # fmt: skip
