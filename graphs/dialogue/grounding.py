"""The grounding guard: a reply may recommend only catalogue items from the candidate set.

Titles in the reply are linked to the catalogue with the entity linker. A sentence that names
an item outside the allowed set, or an item the user rejected or disliked, is removed; what the
guard keeps is the reply, and the allowed items it names (in reply order) are the turn's
recommendations. Items the user brought up (liked, mentioned) and items the agent already
suggested may be named as references (not right after "recommend", "try"…) but do not count as
new recommendations. When nothing recommendable is left for a recommendation turn, the caller
falls back to the template reply. A fact check (the
explainer's ``verify_reply``) removes sentences that state a year, genre, rating or name the
named items' records do not hold. A sentence about one item whose only fault is such a false
claim is repaired instead when a grounded reason for the item is known (the ``recommend`` tool's
``why``): the sentence keeps its words up to the item's title and the reason replaces the rest
(``repaired``), so the item the LLM chose is not lost to a made-up detail.

Two more rules hold against prompt injection: a sentence that names a "Title (Year)" the linker
cannot find in the catalogue is removed (an invented item), and so is every sentence that repeats
a run of words of the agent's instructions (``secret``: the system prompt is never revealed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GuardResult", "split_sentences", "guard_reply", "fact_checker", "TITLE_YEAR", "LIST_ITEM", "end_with_year"]

_BOUNDARY = re.compile(r"\n+|(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")
#: The "(Year)" after a title.
TITLE_YEAR = re.compile(r"\((?:18|19|20)\d\d\)")
#: The start of a list item ("1. ", "2) ", "- ").
LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s")
_SPACED_YEAR = re.compile(r"\s*" + TITLE_YEAR.pattern)
_WORD = re.compile(r"\w+")
#: Words that make the item after them a recommendation, not a reference. Their past forms
#: ("I picked X because", "you watched X") look back at an item already named, so they do not.
_RECOMMENDING = re.compile(
    r"\b(?:recommend|suggest|try|watch|check out|consider|go for|pick|buy|get)(?!\w*ed\b)\w*\W+(?:\w+\W+){0,2}$",
    re.IGNORECASE,
)
_NOT_END = re.compile(r"(?:^|\s)(?:\d{1,2}|[A-Z]|Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|Vol|No|Pt)\.$")


@dataclass
class GuardResult:
    """What the guard let through.

    Attributes:
        reply: the reply with offending sentences removed.
        recommended: allowed, new items the reply names, in reply order.
        removed: items whose sentences were removed.
        references: items named as references (the user's own, or earlier suggestions).
        violations: facts the fact check rejected (their sentences were removed).
        repaired: items whose sentence had a false claim replaced by the item's grounded reason.
        rewritten: the input text with the repaired sentences replaced in place (its other
            characters unchanged); None when nothing was repaired.
    """

    reply: str
    recommended: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    rewritten: str | None = None


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences and lines of a text."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group().strip("\n ") == "" and "\n" not in m.group() and _NOT_END.search(text[start : m.start()]):
            continue
        if text[start : m.start()].strip():
            spans.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def guard_reply(
    reply: str,
    *,
    linker: Any,
    allowed: Collection[str] | None,
    blocked: Collection[str],
    references: Collection[str] = (),
    valid: Callable[[str], bool] | None = None,
    check: Callable[[str, list[str]], list[str]] | None = None,
    secret: frozenset[tuple[str, ...]] = frozenset(),
    reasons: Mapping[str, str] | None = None,
) -> GuardResult:
    """Check a reply's item mentions and remove the sentences that break the rules.

    Args:
        reply: the LLM's reply.
        linker: the entity linker (``link(text) -> mentions`` with ``item_id``, ``start``, ``end``).
        allowed: ids that may be recommended (None: any catalogue item).
        blocked: ids never to name (rejected, disliked).
        references: ids that may be named without being recommended (the user's liked and
            mentioned items, earlier suggestions).
        valid: an extra check for a recommended id (for example the hard constraints).
        check: a fact check of a sentence about items: ``check(sentence, item_ids) -> violations``;
            a sentence with violations is removed.
        secret: word runs (lower-case word tuples, all of one length) that must not be repeated,
            such as the instructions' shingles; a sentence carrying one is removed.
        reasons: grounded reasons by item id; a sentence about one of these items that fails
            only the fact check is repaired with it (see the module docstring).

    Returns:
        The guarded reply and what it recommends.
    """
    if linker is None or not reply.strip():
        return GuardResult(reply=reply.strip())
    mentions = linker.link(reply)
    spans = split_sentences(reply)
    blocked, refs = set(blocked), set(references)
    drop: set[int] = set()
    recommended: list[str] = []
    removed: list[str] = []
    named_refs: list[str] = []
    per_sentence: dict[int, list[str]] = {}
    title_end: dict[int, int] = {}  # where the last allowed title of a sentence ends
    for m in mentions:
        idx = next((k for k, (s, e) in enumerate(spans) if s <= m.start < e), None)
        if idx is None:
            continue
        iid = m.item_id
        if iid in refs and iid not in blocked and not _RECOMMENDING.search(reply[spans[idx][0] : m.start]):
            named_refs.append(iid)
        elif (
            iid in blocked
            or (iid in refs and allowed is None)  # an old item, recommended again
            or (allowed is not None and iid not in allowed)
            or (valid is not None and not valid(iid))
        ):
            drop.add(idx)
            removed.append(iid)
        else:
            per_sentence.setdefault(idx, []).append(iid)
            title_end[idx] = max(title_end.get(idx, 0), end_with_year(reply, m.end))
    for idx in _unknown_titles(reply, spans, mentions):
        drop.add(idx)
    violations: list[str] = []
    fixed: dict[int, str] = {}
    if check is not None:
        for idx, ids in per_sentence.items():
            if idx not in drop:
                s, e = spans[idx]
                found = check(reply[s:e], ids)
                if found:
                    better = _repair(reply[s : title_end[idx]], ids, reasons or {}, check)
                    if better is not None:
                        fixed[idx] = better
                        continue
                    drop.add(idx)
                    violations.extend(found)
    for idx in sorted(per_sentence):
        if idx not in drop:
            recommended.extend(per_sentence[idx])
        else:
            removed.extend(per_sentence[idx])
    drop |= _leaking(reply, spans, drop, secret)
    kept = [fixed.get(k, reply[s:e]).strip() for k, (s, e) in enumerate(spans) if k not in drop]
    text = _join(kept)
    rewritten = None
    if fixed:
        rewritten, at = "", 0
        for k, fix in sorted(fixed.items()):
            rewritten += reply[at : spans[k][0]] + fix
            at = spans[k][1]
        rewritten += reply[at:]
    return GuardResult(
        reply=text,
        recommended=list(dict.fromkeys(recommended)),
        removed=list(dict.fromkeys(removed)),
        references=list(dict.fromkeys(named_refs)),
        violations=violations,
        repaired=[per_sentence[k][0] for k in sorted(fixed)],
        rewritten=rewritten,
    )


def end_with_year(text: str, end: int) -> int:
    """Where a title that ends at ``end`` ends with the " (Year)" right after it, if there is one
    (a linker's mention may or may not take the year in)."""
    m = _SPACED_YEAR.match(text, end)
    return m.end() if m else end


def _repair(
    head: str, ids: list[str], reasons: Mapping[str, str], check: Callable[[str, list[str]], list[str]]
) -> str | None:
    """A sentence about one item, its words up to the item's title kept and its claim replaced by
    the item's grounded reason; None when there is no reason or the result still fails the check."""
    if len(set(ids)) != 1 or not (why := (reasons.get(ids[0]) or "").strip()):
        return None
    head = head.rstrip(" ,;:-—–")
    why = why if why[-1] in ".!?" else why + "."
    better = f"{head} — {why[0].upper()}{why[1:]}"
    return None if check(better, ids) else better


def _unknown_titles(reply: str, spans: list[tuple[int, int]], mentions: list[Any]) -> set[int]:
    """Sentences with a "Title (Year)" that no linked mention stands right before."""
    out: set[int] = set()
    for m in TITLE_YEAR.finditer(reply):
        linked = any(
            x.start <= m.start() and -1 <= m.start() - x.end <= 3 or x.start <= m.start() < x.end for x in mentions
        )
        if not linked:
            out.update(k for k, (s, e) in enumerate(spans) if s <= m.start() < e)
    return out


def _leaking(
    reply: str, spans: list[tuple[int, int]], dropped: set[int], secret: frozenset[tuple[str, ...]]
) -> set[int]:
    """Sentences that, in the reply as kept, carry a run of words from ``secret``."""
    if not secret:
        return set()
    n = len(next(iter(secret)))
    out: set[int] = set()
    while True:
        words = [
            (w.group().lower(), k)
            for k, (s, e) in enumerate(spans)
            if k not in dropped and k not in out
            for w in _WORD.finditer(reply, s, e)
        ]
        hit = {
            k
            for i in range(len(words) - n + 1)
            if tuple(w for w, _ in words[i : i + n]) in secret
            for _, k in words[i : i + n]
        }
        if not hit:
            return out
        out |= hit


def _join(parts: list[str]) -> str:
    out = ""
    for p in parts:
        if not p:
            continue
        if not out:
            out = p
        elif LIST_ITEM.match(p) or out.endswith(":"):
            out += "\n" + p
        else:
            out += " " + p
    return out.strip()


def fact_checker(toolkit: Any, references: Collection[str]) -> Callable[[str, list[str]], list[str]] | None:
    """The guard's fact check over a toolkit's records: facts in a sentence must be in the named
    items' records (the titles of ``references``, items the user or the agent brought up, are
    quoted text, not claims). None when the explainer package is missing."""
    try:
        from crsagent.tools.explain.verify import verify_reply
    except ImportError:  # pragma: no cover - the explainer package is part of the project
        return None
    quoted = [t for i in references if (it := toolkit.item(i)) is not None for t in (it.display_title, it.title)]

    def check(sentence: str, ids: list[str]) -> list[str]:
        items = [it for it in (toolkit.item(i) for i in ids) if it is not None]
        return verify_reply(sentence, items, quoted) if items else []

    return check
