"""Tokenisation with character offsets, shared by the entity linker and the attribute lexicon.

A token is a run of letters and digits; apostrophes inside a word are dropped
(``schindler's`` -> ``schindlers``), hyphens and other punctuation split words, ``&`` becomes
the word ``and`` and accents are folded (``amélie`` -> ``amelie``). Every token keeps the
character span it came from in the original text, so matches map back to exact spans.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

__all__ = ["Token", "tokenize", "norm_word", "norm_phrase", "ARTICLES"]

ARTICLES: frozenset[str] = frozenset({"the", "a", "an"})

# A word: letters/digits, with in-word apostrophes; or a lone "&".
_TOKEN_RE = re.compile(r"[^\W_]+(?:['’`][^\W_]+)*|&")
_APOS_RE = re.compile(r"['’`]")


class Token(NamedTuple):
    """One normalised word and where it came from.

    Attributes:
        norm: lower-case ASCII-folded form without apostrophes.
        start: start offset in the original text.
        end: end offset (exclusive).
        raw: the original characters.
    """

    norm: str
    start: int
    end: int
    raw: str


def norm_word(raw: str) -> str:
    """The normalised form of one word (lower case, accents folded, apostrophes dropped)."""
    if raw == "&":
        return "and"
    w = raw.lower()
    if not w.isascii():
        w = "".join(ch for ch in unicodedata.normalize("NFKD", w) if not unicodedata.combining(ch))
    if "'" in w or "’" in w or "`" in w:
        w = _APOS_RE.sub("", w)
    return w


def tokenize(text: str) -> list[Token]:
    """Split text into normalised tokens with their character spans.

    Args:
        text: any text.

    Returns:
        Tokens in order; empty for text without letters or digits.
    """
    out: list[Token] = []
    for m in _TOKEN_RE.finditer(text):
        raw = m.group(0)
        norm = norm_word(raw)
        if norm:
            out.append(Token(norm, m.start(), m.end(), raw))
    return out


def norm_phrase(text: str) -> tuple[str, ...]:
    """The token tuple of a phrase (for dictionary keys)."""
    return tuple(t.norm for t in tokenize(text))
