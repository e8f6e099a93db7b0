"""Genre bit masks: each item's genres as one integer, so genre filters need no join.

The typical filter (genres + year range + minimum rating, most popular first) is answered by
walking one covering index ``(popularity, year, rating_mean, genre_mask, ...)`` and stopping
at the limit; with genres as a bit mask no row of ``item_genres`` has to be probed. Bits go
to the most common genres of a domain (at most :data:`MAX_BITS`, so masks fit a signed
64-bit integer on SQLite and PostgreSQL); rarer genres, if any, are matched through the
``item_genres`` join table instead (:attr:`GenreBits.complete` is then False).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_BITS", "GenreBits"]

MAX_BITS = 62


@dataclass(frozen=True)
class GenreBits:
    """The genre -> bit assignment of one domain.

    Attributes:
        bits: normalised genre -> bit position.
        complete: every genre of the domain has a bit (a genre without one is then unknown).
    """

    bits: dict[str, int] = field(default_factory=dict)
    complete: bool = True

    @classmethod
    def assign(cls, item_genres: Iterable[Iterable[str]], max_bits: int = MAX_BITS) -> GenreBits:
        """Give bits to the most common genres (ties by name).

        Args:
            item_genres: each item's normalised genres.
            max_bits: at most this many bits (<= 62).
        """
        counts = Counter(g for gs in item_genres for g in set(gs))
        ranked = sorted(counts, key=lambda g: (-counts[g], g))
        return cls({g: i for i, g in enumerate(ranked[:max_bits])}, complete=len(ranked) <= max_bits)

    def mask(self, genres: Iterable[str]) -> int:
        """The mask of the genres that have bits (others are ignored)."""
        m = 0
        for g in genres:
            b = self.bits.get(g)
            if b is not None:
                m |= 1 << b
        return m

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form for ``catalog_meta``."""
        return {"bits": self.bits, "complete": self.complete}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> GenreBits:
        """The inverse of :meth:`to_json`."""
        return cls({str(k): int(v) for k, v in value["bits"].items()}, bool(value["complete"]))
