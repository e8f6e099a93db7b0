"""How common a word is in everyday English, from the ``wordfreq`` package (offline data).

The Zipf scale is log10 of a word's frequency per billion words: about 7 for "the", 5 for
"remember", 3.5 for "titanic", under 2.5 for "babadook". The linker compares it with an
item's popularity to judge whether a word in a message names the item.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["zipf", "KNOWN_WORD_ZIPF"]

KNOWN_WORD_ZIPF = 3.0  # a word at least this common is an English word, not a typo


@lru_cache(maxsize=200_000)
def zipf(word: str) -> float:
    """Zipf frequency of a word or phrase in English (0 when unknown)."""
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))
