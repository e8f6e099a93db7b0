"""The entity linker: catalogue items mentioned in free text, as people type them.

``EntityLinker.from_items(items).link("loved the babadook and it follows")`` returns one
:class:`Mention` per item found, with its character span and a confidence. Matching is a
dictionary lookup of token n-grams (:mod:`crsagent.tools.linker.title_index`), so lower case,
punctuation, a missing leading "the" and hyphens do not matter; a misspelt word one edit away
from a title word is corrected first. Titles that are ordinary words ("it", "heat") need
evidence (see :mod:`crsagent.tools.linker.evidence`). When several items share a title, a
year written next to it decides, then popularity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crsagent.tools.catalog.schema import Item
from crsagent.tools.linker.evidence import CUE_BONUS, LIST_WORDS, Candidate, confidence, score
from crsagent.tools.linker.frequency import KNOWN_WORD_ZIPF, zipf
from crsagent.tools.linker.fuzzy import TypoIndex
from crsagent.tools.linker.text import Token, tokenize
from crsagent.tools.linker.title_index import TitleIndex

__all__ = ["Mention", "EntityLinker", "DEFAULT_MIN_CONFIDENCE"]

DEFAULT_MIN_CONFIDENCE = 0.5
_MIN_TYPO_LEN = 5


class Mention(BaseModel):
    """One catalogue item found in a text.

    Attributes:
        item_id: the item's catalogue id.
        start: start character offset of the mention in the text.
        end: end offset (exclusive).
        surface: the text as written (``text[start:end]``).
        title: the item's catalogue title.
        year: the item's year, when known.
        confidence: 0-1; how sure the linker is that this is a mention of this item.
        alternatives: other items with the same title, most popular first.
    """

    model_config = ConfigDict(frozen=True)

    item_id: str
    start: int
    end: int
    surface: str
    title: str
    year: int | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    alternatives: list[str] = Field(default_factory=list)


def _against_names(c: Candidate, people: list[tuple[int, int]]) -> Candidate | None:
    """Drop a title that lies inside a person's name ("bruce" in "bruce willis") or is exactly
    a name ("Emma Stone", "Robin Williams: Live on Broadway"): people are talked about far more
    often than films named after them. A year written after the title keeps it."""
    for ps, pe in people:
        if ps <= c.start_tok and c.end_tok <= pe:
            return None
    return c


class EntityLinker:
    """Finds mentions of catalogue items in text.

    Args:
        index: the title index.
        min_confidence: mentions below this confidence are dropped by :meth:`link`.
    """

    def __init__(self, index: TitleIndex, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> None:
        self.index = index
        self.min_confidence = min_confidence
        self._typos = TypoIndex(index.vocab, min_len=_MIN_TYPO_LEN)

    @classmethod
    def from_items(
        cls,
        items: Iterable[Item],
        aliases: Mapping[str, Sequence[str]] | None = None,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    ) -> EntityLinker:
        """Build a linker over catalogue items.

        Args:
            items: the catalogue.
            aliases: item id -> alternative titles (other spellings, a.k.a. titles).
            min_confidence: see the class.

        Returns:
            The linker.
        """
        return cls(TitleIndex.build(items, aliases), min_confidence=min_confidence)

    @classmethod
    def from_db(cls, db: Any, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> EntityLinker:
        """Build a linker over a product database's items and alternative titles (about a second
        for the 12,000 movies)."""
        return cls.from_items(db.all_items(), db.aliases(), min_confidence=min_confidence)

    def __len__(self) -> int:
        return len(self.index.entries)

    # -- linking -----------------------------------------------------------------------
    def link(self, text: str, min_confidence: float | None = None) -> list[Mention]:
        """The items mentioned in a text, in text order, without overlaps.

        Args:
            text: a user message.
            min_confidence: override the linker's threshold.

        Returns:
            Mentions with confidence at least the threshold.
        """
        threshold = self.min_confidence if min_confidence is None else min_confidence
        tokens = tokenize(text)
        if not tokens:
            return []
        cands = self._candidates(text, tokens)
        used = [False] * len(tokens)
        taken = self._select(cands, used, threshold)
        for _ in range(3):  # "the babadook and it follows": list neighbours of confident mentions
            free = [c for c in cands if not any(used[c.start_tok : c.end_tok])]
            boosted = [b for b in (self._list_boost(text, tokens, c, taken) for c in free) if b is not None]
            more = self._select(boosted, used, threshold)
            if not more:
                break
            taken += more
        taken.sort(key=lambda c: c.start_tok)
        return [self._mention(text, tokens, c) for c in taken]

    def candidates(self, text: str) -> list[Mention]:
        """Every scored match, overlapping and below threshold included (for inspection)."""
        tokens = tokenize(text)
        return [self._mention(text, tokens, c) for c in self._candidates(text, tokens)]

    @staticmethod
    def _select(cands: list[Candidate], used: list[bool], threshold: float) -> list[Candidate]:
        """Longest confident candidates first, without overlaps; marks their tokens used."""
        good = sorted(
            (c for c in cands if c.confidence >= threshold),
            key=lambda c: (-(c.end_tok - c.start_tok), -c.confidence, c.start_tok),
        )
        out: list[Candidate] = []
        for c in good:
            if not any(used[c.start_tok : c.end_tok]):
                out.append(c)
                for i in range(c.start_tok, c.end_tok):
                    used[i] = True
        return out

    @staticmethod
    def _list_boost(text: str, tokens: list[Token], c: Candidate, taken: list[Candidate]) -> Candidate | None:
        """The candidate with the list cue added, when it sits in a list next to a taken mention."""
        for a in taken:
            for left, right in ((a, c), (c, a)):
                gap = right.start_tok - left.end_tok
                sep = text[tokens[left.end_tok - 1].end : tokens[right.start_tok].start]
                if (gap == 0 and "," in sep) or (gap == 1 and tokens[left.end_tok].norm in LIST_WORDS):
                    logit = c.logit + CUE_BONUS
                    return replace(c, logit=logit, confidence=confidence(logit, c.function_only, c.strong, c.capped))
        return None

    def _candidates(self, text: str, tokens: list[Token]) -> list[Candidate]:
        idx = self.index
        norms = [t.norm for t in tokens]
        fixed = list(norms)
        any_fixed = False
        for i, w in enumerate(norms):
            if len(w) >= _MIN_TYPO_LEN and not w.isdigit() and w not in idx.vocab and zipf(w) < KNOWN_WORD_ZIPF:
                c = self._typos.correct(w)
                if c is not None and c != w:
                    fixed[i] = c
                    any_fixed = True
        out: list[Candidate] = []
        n = len(norms)
        people = self._people_spans(norms)
        for i in range(n):
            for seq, fuzzy in ((norms, False), (fixed, True)):
                if fuzzy and not any_fixed:
                    continue
                for length in range(min(idx.max_len.get(seq[i], 0), n - i), 0, -1):
                    key = tuple(seq[i : i + length])
                    if key not in idx.keys or (fuzzy and key == tuple(norms[i : i + length])):
                        continue
                    if fuzzy and length == 1 and len(key[0]) < 6:
                        continue
                    cand = _against_names(score(idx, text, tokens, i, i + length, key, fuzzy), people)
                    if cand is not None:
                        out.append(cand)
        return out

    def _people_spans(self, norms: list[str]) -> list[tuple[int, int]]:
        """Token spans of people's names ("bruce willis") in the text."""
        idx = self.index
        spans = []
        lens = idx.people_max_len or {}
        for i, w in enumerate(norms):
            for length in range(min(lens.get(w, 0), len(norms) - i), 1, -1):
                if tuple(norms[i : i + length]) in idx.people:
                    spans.append((i, i + length))
                    break
        return spans

    def _mention(self, text: str, tokens: list[Token], c: Candidate) -> Mention:
        start, end = tokens[c.start_tok].start, tokens[c.end_tok - 1].end
        if end < len(text) and text[end] == ")" and "(" in text[tokens[c.start_tok].end : end]:
            end += 1  # "Heat (1995)" keeps its closing parenthesis
        entry = self.index.entries[c.entry]
        return Mention(
            item_id=entry.item_id,
            start=start,
            end=end,
            surface=text[start:end],
            title=entry.title,
            year=entry.year,
            confidence=round(min(max(c.confidence, 0.0), 1.0), 4),
            alternatives=[self.index.entries[a].item_id for a in c.alternatives],
        )
