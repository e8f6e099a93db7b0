"""Deterministic cues in a user's words: rejections, questions, requests, negation, ordinals.

Small, precise regular expressions over lower-cased text. They decide the dialogue act (what the
message does: reject, ask, request ...) when they fire; when none fires the message is taken as
the user stating preferences (``elicit``), and an LLM (in LLM variants) may refine that.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

__all__ = [
    "DialogueAct",
    "DIALOGUE_ACTS",
    "is_rejection",
    "detect_act",
    "negative_near",
    "has_negative",
    "requested_directly",
    "ordinal_refs",
    "refers_back",
    "has_year_cue",
    "is_greeting_only",
    "Comparative",
    "comparatives",
    "is_correction",
    "points_at_one",
    "points_at_all",
    "asked_field",
]

#: The dialogue act of a user message (not the LatentCRS latent intent of :mod:`crsagent.tools.intent`).
DialogueAct = Literal["elicit", "recommend", "reject", "ask_fact", "explain", "chitchat"]
DIALOGUE_ACTS: tuple[str, ...] = ("elicit", "recommend", "reject", "ask_fact", "explain", "chitchat")

_REJECT = re.compile(
    r"\b(not (that|this|those|these) (one|ones?)|not the (first|second|third|fourth|fifth|last)( one)?|"
    r"not that|not this one|(i('| ha)ve|i already|already) "
    r"(seen|watched|saw)|seen (it|that|them|those|this)( one)?( already)?|watched (it|that|them) already|"
    r"no thanks|no,? thank you|nope|nah|not (interested|for me|really)|something else|anything else|"
    r"another (one|movie|film|product|option)|(don'?t|do not) (like|want) (that|this|it|them|those)|"
    r"(didn'?t|did not) like (that|this|it)|not a fan of (that|this|it)|none of (these|those|them|the above))\b"
)
_BARE_NO = re.compile(r"^\s*((no|nope|nah|no way)\s*[.!]*\s*$|(no|nope|nah)\s*[,.!;-])")
_WHY = re.compile(r"\bwhy\b|\bwhat makes\b|\bhow come\b|\bexplain\b")
_FACT = re.compile(
    r"\b(who (directed|made|wrote|stars|is in|plays|acted)|who'?s in|what year|which year|when was|"
    r"how (long|old)|what is (it|that|this|the \w+ one)? ?about|what'?s (it|that|this)? ?about|"
    r"tell me (more )?about|what(?:'s| is) [\w\s:'.-]{1,60} about|what genre|is (it|that) (any )?good|"
    r"rating|rated|director of|cast of|"
    r"(what|which) brand|who makes|made by|price|how much)\b"
)
_REQUEST = re.compile(
    r"\b(recommend|recommendation|suggest|suggestion|what should i|any (ideas|suggestions|recs)|"
    r"looking for|i('m| am) in the mood|in the mood for|give me|find me|show me|i want|i'?d like|"
    r"can you find|something (like|similar|with|from|that|new|else)|anything (like|similar|from|with)|"
    r"similar to|more like|what (else|other)|got any|do you have)\b"
)
_GREETING = re.compile(
    r"^\s*((hi|hello|hey|howdy|good (morning|evening|afternoon)|thanks?( you)?|thank you|bye|goodbye|"
    r"ok(ay)?|cool|great|nice|sure|yes|yeah|yep|perfect|awesome|(that'?s|that is|sounds|looks) "
    r"(great|good|nice|perfect|awesome|cool|helpful|fine)|(will|i'?ll) (check|watch) (it|them|those) out)[\s,.!?]*)+$"
)
_NEGATIVE = re.compile(
    r"\b(didn'?t|did not|don'?t|do not|doesn'?t|never|not a (big )?fan|wasn'?t a fan|hated?|disliked?|"
    r"can'?t stand|couldn'?t stand|boring|awful|terrible|worst|overrated|not into|not really into)\b"
)
_CLAUSE = re.compile(r"[.;!?]|,\s*(but|though|although|however)\b|\bbut\b|\bwhereas\b")
_ORDINALS = {
    "first": 0,
    "1st": 0,
    "#1": 0,
    "second": 1,
    "2nd": 1,
    "#2": 1,
    "third": 2,
    "3rd": 2,
    "#3": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "last": -1,
}
_ORDINAL = re.compile(r"(?<![\w#])(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last|#[1-3])\b")
_BACKREF = re.compile(
    r"\b(it|that one|this one|that movie|this movie|that film|the movie|that product|this product|them|those)\b"
)
_ONE_REF = re.compile(r"\b(that one|this one|that movie|this movie|that film|this film|that product|this product)\b")
_IT = re.compile(r"\b(it|that)\b")
_ALL_REF = re.compile(
    r"\b(them|those|these|none of (them|these|those)|all of (them|these|those)|any of (them|these|those))\b"
)
_CORRECTION = re.compile(
    r"\b(i meant|i mean|i was talking about|i was thinking of|no,? the (\w+ ){0,3}one|not that \w+,? the|"
    r"the other one|wrong one)\b"
)
# "scarier", "more violent", "less dark", "a bit lighter": (direction, adjective)
_MORE_LESS = re.compile(r"\b(more|less|not so|not as|fewer)\s+([a-z][a-z-]{2,})\b")
_ER = re.compile(r"\b([a-z]{3,}?)(ier|er)\b")
_NOT_COMPARATIVE = frozenset(
    "other another either neither whether rather ever never over under after later earlier "
    "order number never however together answer remember matter character better".split()
)
_FIELDS = {
    "directors": re.compile(r"\bwho (directed|made)|\bdirector\b"),
    "cast": re.compile(r"\bwho(?:'?s| is| are)? (in|stars?|plays|acted)|\bstarring\b|\bcast\b|\bactors?\b"),
    "year": re.compile(r"\b(what|which) year|when (was|did|is)|how old|\brelease"),
    "runtime": re.compile(r"\bhow long\b|\brun ?time\b|\blength\b|\bminutes\b"),
    "genres": re.compile(r"\bwhat (genre|kind)|\bgenre\b"),
    "plot": re.compile(r"\babout\b|\bplot\b|\bstory\b"),
    "price": re.compile(r"\bprice\b|\bhow much\b|\bcost\b|\bcheap|\bexpensive"),
    "brand": re.compile(r"\b(what|which) brand|who makes|made by"),
}
_YEAR_CUE = re.compile(
    r"\b(1[89]\d\d|20\d\d|\d0'?s|'\d0s|decade|recent|recently|new|newer|newest|latest|modern|old|older|"
    r"classic|classics|vintage|century|this year|last year)\b"
)


def is_rejection(text: str) -> bool:
    """Whether the user turns down what was just recommended ("not that one", "seen it", "no")."""
    t = text.lower()
    return bool(_BARE_NO.match(t) or _REJECT.search(t))


def is_greeting_only(text: str) -> bool:
    """Whether the message is only greetings or thanks."""
    return bool(_GREETING.match(text.lower()))


def detect_act(text: str, *, has_recent_recs: bool) -> tuple[DialogueAct, bool]:
    """The dialogue act the cues show.

    Args:
        text: the user message.
        has_recent_recs: whether the agent recommended something on its last turn.

    Returns:
        (dialogue act, whether a cue fired; False means ``elicit`` by default).
    """
    t = text.lower()
    if has_recent_recs and is_rejection(t):
        return "reject", True
    if _WHY.search(t) and (has_recent_recs or _ORDINAL.search(t)):
        return "explain", True
    if _FACT.search(t) and ("?" in t or t.startswith(("who", "what", "when", "how", "tell"))):
        return "ask_fact", True
    if _REQUEST.search(t):
        return "recommend", True
    if is_greeting_only(t):
        return "chitchat", True
    return "elicit", False


def negative_near(text: str, start: int, end: int) -> bool:
    """Whether the clause around ``text[start:end]`` holds a negative opinion cue."""
    t = text.lower()
    left = 0
    for m in _CLAUSE.finditer(t, 0, start):
        left = m.end()
    right_m = _CLAUSE.search(t, end)
    right = right_m.start() if right_m else len(t)
    clause = t[left:start] + " " + t[end:right]
    return bool(_NEGATIVE.search(clause))


_REQUESTED = re.compile(
    r"\b(recommend|suggest|give|show|play|find)(s|ed|ing)?( me| us)?( the (movie|film|product))?\s*$"
)


def requested_directly(text: str, start: int) -> bool:
    """Whether the item at ``text[start:]`` is asked for by name ("recommend X"): no opinion of it.

    "recommend something like X" is an opinion (X is the seed), so only a request verb right
    before the mention counts.
    """
    return bool(_REQUESTED.search(text[:start].lower()))


def has_negative(text: str) -> bool:
    """Whether the text holds a negative opinion cue anywhere."""
    return bool(_NEGATIVE.search(text.lower()))


def ordinal_refs(text: str, n: int) -> list[int]:
    """Indices (0-based, into the last ``n`` recommendations) the text refers to by ordinal."""
    out: list[int] = []
    for m in _ORDINAL.finditer(text.lower()):
        i = _ORDINALS.get(m.group(1), None)
        if i is None:
            continue
        i = n - 1 if i == -1 else i
        if 0 <= i < n and i not in out:
            out.append(i)
    return out


def refers_back(text: str) -> bool:
    """Whether the text points back at something already said ("it", "that one" ...)."""
    return bool(_BACKREF.search(text.lower()))


def has_year_cue(text: str) -> bool:
    """Whether the text speaks of years or eras (grounds an LLM-extracted year range)."""
    return bool(_YEAR_CUE.search(text.lower()))


class Comparative(NamedTuple):
    """A comparative request.

    Attributes:
        direction: ``more`` or ``less``.
        word: the adjective compared ("scary" for "scarier", "violent" for "less violent").
        explicit: said with "more"/"less" or in a comparative frame ("something darker",
            "darker than"), not only a word that ends in "-er".
    """

    direction: str
    word: str
    explicit: bool
    surface: str = ""


_FRAME_BEFORE = frozenset("something anything bit little much slightly even way somewhat lot".split())
_FRAME_AFTER = frozenset("than one ones movie movies film films please".split())


def _base(word: str, suffix: str) -> list[str]:
    """Candidate base forms of a comparative ("scarier" -> scary; "lighter" -> light; "nicer" -> nice)."""
    if suffix == "ier":
        return [word + "y"]
    out = [word, word + "e"]
    if len(word) > 3 and word[-1] == word[-2]:
        out.insert(0, word[:-1])  # "bigger" -> big
    return out


def comparatives(text: str) -> list[Comparative]:
    """Comparative requests in a message: "something scarier", "less violent", "a lighter one".

    Returns:
        Comparatives in text order; an "-er" word gives every plausible base form, so the
        caller keeps the one its lexicon or catalogue knows.
    """
    t = text.lower()
    out: list[Comparative] = []
    for m in _MORE_LESS.finditer(t):
        if m.group(2) in ("like", "than", "of", "the", "a", "one", "ones", "about", "from", "with", "movies", "films"):
            continue
        out.append(Comparative("less" if m.group(1) != "more" else "more", m.group(2), True, m.group(0)))
    for m in _ER.finditer(t):
        word = m.group(0)
        if word in _NOT_COMPARATIVE or len(word) < 5:
            continue
        before = (t[: m.start()].split()[-1:] or [""])[0]
        after = (re.findall(r"[a-z]+", t[m.end() :])[:1] or ["?"])[0] if t[m.end() :].strip(" ?!.") else "?"
        if before in ("more", "less"):
            continue
        short = len(re.findall(r"[a-z']+", t)) <= 2  # "Scarier?", "older ones?"
        explicit = before in _FRAME_BEFORE or after in _FRAME_AFTER or short
        for base in _base(m.group(1), m.group(2)):
            out.append(Comparative("more", base, explicit, word))
    return out


def is_correction(text: str) -> bool:
    """Whether the user corrects what the agent understood ("I meant the 1995 Heat", "no, the Shyamalan one")."""
    return bool(_CORRECTION.search(text.lower()))


def points_at_one(text: str, it_is_one: bool = False) -> bool:
    """Whether the message points at one item ("that one", "this movie"; "it" and "that" only
    when ``it_is_one``: after a question about one item, or a list of one — "no, that's not
    it" after a list of three turns the list down)."""
    t = text.lower()
    return bool(_ONE_REF.search(t) or (it_is_one and _IT.search(t)))


def points_at_all(text: str) -> bool:
    """Whether the message points at the whole last list ("them", "none of these")."""
    return bool(_ALL_REF.search(text.lower()))


def asked_field(text: str) -> str | None:
    """The record field a question asks for (``directors``, ``cast``, ``year``, ``runtime``,
    ``genres``, ``plot``, ``price``, ``brand``), or None."""
    t = text.lower()
    for name, rx in _FIELDS.items():
        if rx.search(t):
            return name
    return None
