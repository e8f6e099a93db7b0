"""Which words of a message fall under a negation ("no horror", "not a fan of comedies").

A cue (``no``, ``not``, ``don't``, ``hate``, ``not a fan of``, ``anything but`` ...) negates
the words after it until the clause ends: sentence punctuation, a comma that is not followed
by more of a list, a contrast word (``but``, ``though`` ...), a positive verb that starts a
new clause (``no i like horror``), or eight words. Phrases such as ``not sure`` or ``don't
mind`` are not cues. A trailing phrase (``horror is not my thing``) negates the few words
before it.
"""

from __future__ import annotations

from crsagent.tools.linker.text import Token
from crsagent.tools.linker.vocab import (
    NEGATION_CUES,
    NEGATION_PHRASES,
    NOT_NEGATION,
    POSITIVE_VERBS,
    SCOPE_BREAKERS,
    TRAILING_NEGATION,
)

__all__ = ["negated_mask", "MAX_SCOPE"]

MAX_SCOPE = 8
_HARD_STOPS = set(".;!?\n()")


def _starts(norms: list[str], i: int, phrase: tuple[str, ...]) -> bool:
    return tuple(norms[i : i + len(phrase)]) == phrase


def _boundary(text: str, prev: Token, nxt: Token) -> str:
    """What separates two tokens: ``stop`` (sentence), ``comma`` or ``none``."""
    between = text[prev.end : nxt.start]
    if any(ch in _HARD_STOPS for ch in between):
        return "stop"
    if "," in between or " - " in between:
        return "comma"
    return "none"


def negated_mask(text: str, tokens: list[Token], listy: set[int] | None = None) -> list[bool]:
    """For each token, whether a negation applies to it.

    Args:
        text: the message.
        tokens: its tokens.
        listy: indices of tokens that may continue a list after a comma (attribute words),
            so ``no horror, gore or slashers`` stays negated across the commas.

    Returns:
        One flag per token.
    """
    norms = [t.norm for t in tokens]
    n = len(norms)
    mask = [False] * n
    listy = listy or set()
    i = 0
    while i < n:
        if any(_starts(norms, i, p) for p in NOT_NEGATION):
            i += 2
            continue
        trailing = next((len(p) for p in TRAILING_NEGATION if _starts(norms, i, p)), 0)
        if trailing:  # "horror is not my thing": negates backwards only (second pass)
            i += trailing
            continue
        cue_len = next((len(p) for p in NEGATION_PHRASES if _starts(norms, i, p)), 0)
        if not cue_len and norms[i] in NEGATION_CUES:
            cue_len = 1
        if not cue_len:
            i += 1
            continue
        j = i + cue_len
        end = min(n, j + MAX_SCOPE)
        while j < end:
            b = _boundary(text, tokens[j - 1], tokens[j])
            if b == "stop" or (b == "comma" and j not in listy):
                break
            w = norms[j]
            if w in SCOPE_BREAKERS:
                break
            if w in POSITIVE_VERBS and j > i + cue_len and norms[j - 1] not in NEGATION_CUES:
                break
            mask[j] = True
            j += 1
        i = max(j, i + 1)
    for i in range(n):
        for p in TRAILING_NEGATION:
            if _starts(norms, i, p):
                k = i - 1
                while k >= max(0, i - 4) and norms[k] not in SCOPE_BREAKERS:
                    mask[k] = True
                    if k == 0 or _boundary(text, tokens[k - 1], tokens[k]) != "none":
                        break
                    k -= 1
    return mask
