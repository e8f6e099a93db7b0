"""Typo correction of single words against a vocabulary (symmetric-delete lookup).

Each vocabulary word is indexed under itself and every form with one character deleted; a
query word is looked up the same way, and candidates are checked with rapidfuzz's optimal
string alignment distance (a swap of two neighbouring letters counts as one edit). A lookup
costs a few dictionary probes, so it can run on every unknown word of a chat message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from rapidfuzz.distance import OSA

__all__ = ["TypoIndex"]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class TypoIndex:
    """Finds the vocabulary word one edit away from a misspelt word.

    Args:
        words: the vocabulary, optionally with a weight per word (a frequency; the heavier
            of two equally close words wins).
        min_len: words shorter than this are neither indexed nor corrected (short words
            have too many neighbours one edit away).
    """

    def __init__(self, words: Iterable[str] | Mapping[str, float], min_len: int = 5) -> None:
        weights = dict(words) if isinstance(words, Mapping) else {w: 1.0 for w in words}
        self.min_len = min_len
        self._weights = {w: float(v) for w, v in weights.items() if len(w) >= min_len - 1}
        index: dict[str, list[str]] = defaultdict(list)
        for w in self._weights:
            index[w].append(w)
            for d in _deletes(w):
                index[d].append(w)
        self._index = dict(index)

    def __contains__(self, word: object) -> bool:
        return word in self._weights

    def correct(self, word: str) -> str | None:
        """The closest vocabulary word at one edit, or None.

        Args:
            word: a normalised word.

        Returns:
            The word itself when it is in the vocabulary; a word one insertion, deletion,
            substitution or swap away (the heaviest if several); None otherwise or when the
            word is shorter than ``min_len``.
        """
        if word in self._weights:
            return word
        if len(word) < self.min_len:
            return None
        seen: set[str] = set()
        for probe in (word, *_deletes(word)):
            seen.update(self._index.get(probe, ()))
        best: str | None = None
        best_w = -1.0
        for cand in seen:
            if abs(len(cand) - len(word)) <= 1 and OSA.distance(word, cand, score_cutoff=1) <= 1:
                w = self._weights[cand]
                if w > best_w or (w == best_w and best is not None and cand < best):
                    best, best_w = cand, w
        return best
