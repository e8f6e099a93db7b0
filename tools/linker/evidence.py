"""How sure the linker is that a matched span names an item, and which item.

The odds that a span names an item grow with how often people bring the item up and shrink
with how often its words occur as ordinary English: the log-odds start at
``log10(popularity) - zipf(words)`` (see :mod:`crsagent.tools.linker.title_index`), so
*The Babadook* links on its own, *Heat* needs some evidence and *It* strong evidence.
Evidence from the text around the span adds to the log-odds:

- a year right after the title (``heat 1995``, ``It (2017)``) that fits one of the items;
- quotes around it, or capital letters in text that is otherwise lower case (strong);
- a cue word before it (``seen``, ``watched``, ``loved`` ...), a judgement after it (``was
  great``), or nothing else in the message; a plural after it (``spy movies``, ``Star Wars
  fans``) speaks against a single title, as does an indefinite article (``a date night``,
  ``a good alien movie``: names take none), and capitals then count for nothing; so do
  capitals that run on past the title (``Liam Neeson``, ``Infinity Wars``);
- a list with another confident mention (``the babadook and it follows``; see the linker);
- a use of the words that is not the film (:mod:`crsagent.tools.linker.usage`: a greeting,
  an occasion, a person, a topic, a franchise, another medium, a verb): it costs
  :data:`USAGE_PENALTY` and takes away the capitals and cue words (a book or a song: the
  confidence is capped below the threshold), unless a year or quotes (and for some uses a
  viewing cue) say the film is meant.

Items that share a title are told apart by the year when given, by "the new ..." / "the
original ...", by a director or star named in the message, else by popularity — where an
item whose title is exactly the words typed wins over one that only matches without its
leading article ("heat" is *Heat*, not *The Heat*).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from crsagent.tools.linker.common_words import FUNCTION_WORDS
from crsagent.tools.linker.text import ARTICLES, Token
from crsagent.tools.linker.title_index import FULL, SHORT, TitleIndex
from crsagent.tools.linker.usage import DECISIVE, VIEWING_CUES, YIELDS_TO_VIEWING, other_use

__all__ = [
    "Candidate",
    "score",
    "confidence",
    "CUE_BEFORE",
    "CUE_GLUE",
    "KIND_AFTER",
    "LIST_WORDS",
    "CUE_BONUS",
    "USAGE_PENALTY",
]

CUE_BEFORE: frozenset[str] = frozenset(
    """seen watched watch watching rewatch rewatched rewatching saw see liked loved love like
    enjoyed enjoy adore adored recommend recommended suggest suggested try tried check heard about
    movie film called titled named original remake new sequel favorite favourite rented
    caught""".split()
)
# Words that may stand between a cue and the title ("heard of ...", "check out ...").
CUE_GLUE: frozenset[str] = frozenset("of out both about like movie film".split())
KIND_AFTER: frozenset[str] = frozenset(
    "movies films ones series franchise type types kind genre stuff fans trilogy saga sequels".split()
)
# Articles before a noun phrase that make it a common noun ("a date night", "a good alien
# movie"): a title is a name, and names do not take an indefinite article.
INDEFINITE: frozenset[str] = frozenset("a an another".split())
LIST_WORDS: frozenset[str] = frozenset({"and", "or", "nor", "also", "plus", "then"})
JUDGE_VERBS: frozenset[str] = frozenset("was is looks sounds seems".split())
INTENSIFIERS: frozenset[str] = frozenset("so really pretty very too also quite a an the one of such".split())
JUDGEMENTS: frozenset[str] = frozenset(
    """good great awesome amazing funny scary okay ok fun excellent hilarious terrible awful bad
    interesting creepy boring cool classic favorite favourite masterpiece movie film""".split()
)
NEWER: frozenset[str] = frozenset("new newer newest latest recent remake reboot".split())
OLDER: frozenset[str] = frozenset("original first 1st old older oldest classic".split())
DESCRIPTIVE_END: frozenset[str] = frozenset("movie movies film films flick flicks".split())
_PRONOUN_I = re.compile(r"^I('|’)?(m|ve|d|ll)?$")
_QUOTES = set("\"'“”‘’*_`")
_SENTENCE_END = set(".!?\n")

MIDPOINT = -1.5  # log-odds at which confidence is 0.5
SLOPE = 2.0
CUE_BONUS = 1.0
STRONG_BONUS = 3.0
YEAR_BONUS = 1.0  # a year that fits no item still says "this is a title"
FUZZY_PENALTY = 0.8
SHORT_PENALTY = 0.8
MULTI_WORD_BONUS = 0.3
DESCRIPTIVE_PENALTY = 1.5
INDEFINITE_PENALTY = 1.5
KIND_PENALTY = 1.0
USAGE_PENALTY = 2.5
CAPS_RARE_ZIPF = 4.0  # a capitalised single word rarer than this is taken as a title
FUNCTION_CAP = 0.3  # without strong evidence, titles of function words stay below this
_MAX_ALTERNATIVES = 5


@dataclass(slots=True)
class Candidate:
    """A scored match.

    Attributes:
        start_tok: first token of the span.
        end_tok: one past the last token (a year right after the title is included).
        entry: the chosen item (entry index).
        logit: log-odds before the list cue.
        confidence: 0-1.
        alternatives: other items with the same key, most popular first.
        strong: quoted, capitalised or dated: confident however common the words.
        function_only: the title is made of function words only.
        kind: how the key matched (``FULL``, ``VARIANT`` or ``SHORT``).
        capped: the text says the words name something else (a book, a song; see
            :data:`~crsagent.tools.linker.usage.DECISIVE`) and no strong evidence outweighs
            it: confidence stays below :data:`FUNCTION_CAP`.
    """

    start_tok: int
    end_tok: int
    entry: int
    logit: float
    confidence: float
    alternatives: tuple[int, ...] = ()
    strong: bool = False
    function_only: bool = False
    kind: int = 0
    capped: bool = False


def confidence(logit: float, function_only: bool, strong: bool, capped: bool = False) -> float:
    """Map log-odds to a 0-1 confidence (function-word titles are capped without strong
    evidence, and so are spans read as another use of the words)."""
    c = 1.0 / (1.0 + math.exp(-SLOPE * (logit - MIDPOINT)))
    if (function_only and not strong) or capped:
        c = min(c, FUNCTION_CAP)
    return round(min(c, 0.99), 4)


def _year_after(text: str, tokens: list[Token], e: int) -> int | None:
    """A four-digit year right after token ``e - 1`` (``Heat 1995``, ``Heat (1995)``)."""
    if e >= len(tokens):
        return None
    t = tokens[e]
    if len(t.norm) != 4 or not t.norm.isdigit():
        return None
    between = text[tokens[e - 1].end : t.start]
    if between.strip(" ([,-") or len(between) > 3:
        return None
    year = int(t.norm)
    return year if 1880 <= year <= 2035 else None


def _quoted(text: str, start: int, end: int) -> bool:
    return start > 0 and end < len(text) and text[start - 1] in _QUOTES and text[end] in _QUOTES


def _capitalised(text: str, tokens: list[Token], s: int, e: int) -> bool:
    """Title-case span inside otherwise lower-case text, not merely at a sentence start."""
    span = tokens[s:e]
    content = [t for i, t in enumerate(span) if i == 0 or t.norm not in FUNCTION_WORDS]
    if not all(t.raw[:1].isupper() for t in content):
        return False
    others = [
        t for t in tokens[:s] + tokens[e:] if len(t.raw) > 1 and t.raw[:1].isalpha() and not _PRONOUN_I.match(t.raw)
    ]  # "I'm", "I've" are capitalised in any text
    if not others or sum(t.raw[:1].isupper() for t in others) / len(others) > 0.3:
        return False  # the whole message is title case or shouting
    if len(content) > 1 and span[-1].raw[:1].isupper():
        return True
    before = text[: span[0].start].rstrip()
    return bool(before) and before[-1] not in _SENTENCE_END


def _name_goes_on(text: str, tokens: list[Token], e: int) -> bool:
    """The capitalised word right after the span continues a longer name ("Liam Neeson",
    "Infinity Wars"): a title that is only part of a capitalised name is not that title."""
    if e >= len(tokens):
        return False
    t = tokens[e]
    between = text[tokens[e - 1].end : t.start]
    return between == " " and t.raw[:1].isupper() and t.norm not in FUNCTION_WORDS


def _indefinite(idx: TitleIndex, key: tuple[str, ...], prev: str, prev2: str, nxt: str) -> bool:
    """An indefinite article makes the span a common noun, not a name: "a date night", or,
    with one word between, a kind of film ("a good alien movie"). Titles that begin with
    the article ("A Ghost Story") are not affected."""
    if key[0] in ARTICLES or (prev, *key) in idx.keys:
        return False
    return prev in INDEFINITE or (prev2 in INDEFINITE and nxt in DESCRIPTIVE_END)


def _credited(idx: TitleIndex, cands: list[tuple[int, int]], words: set[str]) -> int | None:
    """The one candidate whose director or top-billed star the message names, if exactly one."""
    credits = idx.credits or {}
    hits = [i for i, _ in cands if credits.get(i, frozenset()) & words]
    return hits[0] if len(hits) == 1 else None


def _exact_first(idx: TitleIndex, key: tuple[str, ...], cands: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Candidates without those that match only with their leading article dropped, when an
    item's title is exactly the key ("heat": *Heat*, not *The Heat*)."""
    if not any(k == FULL for _, k in cands):
        return cands
    with_article = {i for a in ARTICLES for i, k in idx.keys.get((a, *key), ()) if k == FULL}
    kept = [p for p in cands if p[0] not in with_article or p[1] == FULL]
    return kept or cands


def _judged_after(tokens: list[Token], e: int) -> bool:
    """The words after the span judge it as a film: "was great", "is so funny", "sounds good"."""
    words = [t.norm for t in tokens[e : e + 4]]
    if not words or words[0] not in JUDGE_VERBS:
        return False
    rest = [w for w in words[1:] if w not in INTENSIFIERS]
    return bool(rest) and rest[0] in JUDGEMENTS


def score(
    idx: TitleIndex,
    text: str,
    tokens: list[Token],
    s: int,
    e: int,
    key: tuple[str, ...],
    fuzzy: bool,
) -> Candidate:
    """Choose the item for a matched key and score the match.

    Args:
        idx: the title index.
        text: the message.
        tokens: its tokens.
        s: first token of the match.
        e: one past the last token.
        key: the matched key.
        fuzzy: whether a typo was corrected to make the match.

    Returns:
        The candidate.
    """
    cands = idx.keys[key]
    entries = idx.entries
    year = _year_after(text, tokens, e)
    chosen: int | None = None
    if year is not None:
        near = [(abs(y - year), k, -entries[i].weight, i) for i, k in cands if (y := entries[i].year)]
        near = [n for n in near if n[0] <= 1]
        if near:
            chosen = min(near)[3]
    year_fits = chosen is not None
    prev = tokens[s - 1].norm if s > 0 else ""
    prev2 = tokens[s - 2].norm if s > 1 else ""
    before = {prev, prev2}
    after = [t.norm for t in tokens[e : e + 3]]
    if len(after) == 3 and after[0] == "the" and after[2] == "one":  # "kingsman, the first one"
        before.add(after[1])
    dated = [i for i, k in cands if entries[i].year and k != SHORT]
    if all(k == SHORT for _, k in cands):  # only main titles match ("kingsman"): tell those apart
        dated = [i for i, _ in cands if entries[i].year]
    if chosen is None and len(dated) > 1 and before & (NEWER | OLDER):  # "the new ghostbusters"
        pick = max if before & NEWER else min
        chosen = pick(dated, key=lambda i: (entries[i].year, entries[i].weight))
    if chosen is None:  # a director or star named in the message
        chosen = _credited(idx, cands, {t.norm for t in tokens[:s]} | {t.norm for t in tokens[e:]})
    if chosen is None:  # the most popular, a main-title-only match counting for less
        pool = _exact_first(idx, key, cands)
        chosen = max(pool, key=lambda p: (entries[p[0]].weight - (SHORT_PENALTY if p[1] == SHORT else 0.0), -p[0]))[0]
    kind = next(k for i, k in cands if i == chosen)
    alternatives = tuple(i for i, _ in cands if i != chosen)[:_MAX_ALTERNATIVES]

    common, function_only = idx.commonness[key]
    weight = math.log10(sum(10 ** entries[i].weight for i, _ in cands))
    logit = weight - common + (MULTI_WORD_BONUS if len(key) > 1 else 0.0)
    if kind == SHORT:
        logit -= SHORT_PENALTY
    if fuzzy:
        logit -= FUZZY_PENALTY
    start, end = tokens[s].start, tokens[e - 1].end
    capitalised = _capitalised(text, tokens, s, e)
    # Capitals are strong evidence for a title of several words or a rare word; for one
    # ordinary word ("a Vampire movie") or function words ("It") they are only a cue.
    caps_strong = capitalised and not function_only and (len(key) > 1 or common < CAPS_RARE_ZIPF)
    nxt = tokens[e].norm if e < len(tokens) else ""
    kind_after = nxt in KIND_AFTER and year is None  # "spy movies", "Star Wars fans": a kind
    use = other_use(text, tokens, s, e, key, idx.surnames)  # "merry christmas", "The Rock is an actor"
    if use in YIELDS_TO_VIEWING and (prev in VIEWING_CUES or (prev in CUE_GLUE and prev2 in VIEWING_CUES)):
        use = None
    if capitalised and (kind_after or use is not None or _name_goes_on(text, tokens, e)):
        capitalised = caps_strong = False
    strong = year_fits or _quoted(text, start, end) or caps_strong
    if strong:
        logit += STRONG_BONUS
    elif year is not None:
        logit += YEAR_BONUS
    cued = prev in CUE_BEFORE or (prev in CUE_GLUE and prev2 in CUE_BEFORE)  # "seen", "heard of"
    cued = cued or _judged_after(tokens, e) or (s == 0 and e == len(tokens))  # "... was great"; alone
    capped = use in DECISIVE and not strong
    if use is not None and not strong:
        logit -= USAGE_PENALTY
    elif cued or (capitalised and not caps_strong):
        logit += CUE_BONUS
    if key[-1] in DESCRIPTIVE_END and not strong:  # "a good scary movie", "superhero movie"
        logit -= DESCRIPTIVE_PENALTY
    if kind_after and not strong:  # "spy movies", "batman movies": a kind, not one title
        logit -= KIND_PENALTY
    if _indefinite(idx, key, prev, prev2, nxt) and not strong:  # "a date night", "a good alien movie"
        logit -= INDEFINITE_PENALTY
    end_tok = e + 1 if year is not None else e
    return Candidate(s, end_tok, chosen, logit, confidence(logit, function_only, strong, capped), alternatives,
                     strong, function_only, kind, capped)  # fmt: skip
