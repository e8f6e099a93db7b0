"""Uses of a title's words that are not a mention of the film, read from the words around them.

A span can spell a title and still not name the film: people wish each other "merry
christmas", look for "a movie for date night", talk about "The Rock" the actor, ask whether a
film "is about Dracula", mean a franchise in "a star wars movie" or "Star Wars fans", or the
book in "the book Jaws". Each rule here recognises one such use from the neighbouring words
only (no list of titles); :func:`other_use` names the first that applies. The linker then
takes the span for the film only with evidence that outweighs the reading: a year or quotes,
and for the rules marked :data:`YIELDS_TO_VIEWING` a viewing cue (``seen``, ``watched``).
Capital letters are no such evidence: greetings, people, characters and franchises are
capitalised too.
"""

from __future__ import annotations

from crsagent.tools.linker.text import ARTICLES, Token

__all__ = [
    "other_use",
    "OCCASION",
    "GREETING",
    "CAST",
    "PERSON",
    "SURNAME",
    "TOPIC",
    "ROLE",
    "FRANCHISE",
    "MEDIUM",
    "VERB",
    "GENRE_LIST",
    "YIELDS_TO_VIEWING",
    "DECISIVE",
    "VIEWING_CUES",
    "SALUTATIONS",
]

OCCASION, GREETING, CAST, PERSON, SURNAME = "occasion", "greeting", "cast", "person", "surname"
TOPIC, ROLE, FRANCHISE, MEDIUM, VERB, GENRE_LIST = "topic", "role", "franchise", "medium", "verb", "genre list"

# Readings that no popularity outweighs: the text names another medium.
DECISIVE: frozenset[str] = frozenset({MEDIUM})
# Readings that a viewing cue overrides: "have you seen Merry Christmas?" names the film.
YIELDS_TO_VIEWING: frozenset[str] = frozenset({GREETING, PERSON, SURNAME, CAST, GENRE_LIST, VERB})
VIEWING_CUES: frozenset[str] = frozenset(
    "seen watched watch watching rewatch rewatched saw rented caught movie film called titled named".split()
)
# Formulaic wishes and sign-offs: as a whole message part they are a salutation, not a title.
SALUTATIONS: frozenset[tuple[str, ...]] = frozenset(
    tuple(p.split())
    for p in """merry christmas|merry xmas|happy christmas|happy holidays|happy new year|happy
    thanksgiving|happy easter|happy halloween|happy birthday|happy hanukkah|happy valentines
    day|happy mothers day|happy fathers day|happy friday|happy weekend|good morning|good
    afternoon|good evening|good night|good day|good luck|good bye|take care|thank you|thanks a
    lot|have a nice day|have a good day|have a great day|have a good night|see you|see you
    later|see ya|best wishes|cheers|welcome|sweet dreams""".replace("\n", " ").split("|")
)
# "<a movie> for date night", "something for grown ups": an occasion or audience, not a title.
PURPOSE_HEADS: frozenset[str] = frozenset(
    """movie movies film films flick flicks something anything one ones it suggestion suggestions
    idea ideas recommendation recommendations option options pick picks choice good great
    perfect fun""".split()
)
# "<has> X in it": a cast member.
HAVING: frozenset[str] = frozenset("has have had having with starring featuring stars".split())
# "X is one of my favorite actors": a person.
PERSON_NOUNS: frozenset[str] = frozenset(
    """actor actors actress actresses director directors comedian comedians filmmaker
    filmmakers singer singers rapper wrestler guy dude man woman lady person""".split()
)
COPULAS: frozenset[str] = frozenset("is was s isnt wasnt has becomes became".split())
# "is it about X", "a movie about X": the subject matter, not a title ("what about X" is a cue).
TOPIC_HEADS: frozenset[str] = frozenset(
    "is was are were be its it that thats this movie movies film films story documentary one show".split()
)
ROLE_VERBS: frozenset[str] = frozenset("play plays played playing portray portrays portrayed portraying".split())
# "Star Wars fans", "star wars lore": the title as a modifier names a franchise or its world.
ADJUNCT_NOUNS: frozenset[str] = frozenset("fan fans fandom lore universe franchise character characters".split())
SINGLE_KIND: frozenset[str] = frozenset("movie film flick".split())
PLURAL_KIND: frozenset[str] = frozenset("movies films flicks ones".split())
# Words that make "the ... X movies" several films: "all the", "those", "the original".
QUANTIFIERS: frozenset[str] = frozenset("all every both those these two three four five several many original".split())
# "X was in all those films": a cast member ("was in theaters" is not).
CAST_SCOPE: frozenset[str] = frozenset("all those these that this it every many most several both".split())
INDEFINITE: frozenset[str] = frozenset("a an another any every".split())
# Other media: "the TV series X", "the X song", "didn't he write X".
MEDIA_BEFORE: frozenset[str] = frozenset("book novel song album tv comic game write wrote written read".split())
MEDIA_AFTER: frozenset[str] = frozenset("book books novel novels song songs album comic comics game games".split())
# "sing it all the time": a verb with its object; "saw heat it was great" is a new clause.
OBJECT_PRONOUNS: frozenset[str] = frozenset("them him me us".split())
AFTER_OBJECT_IT: frozenset[str] = frozenset("all again up out over every to too with for at on along".split())
GENRE_NOUNS: frozenset[str] = frozenset(
    """comedies comedy dramas drama thrillers thriller horror romance romances documentaries
    westerns action musicals cartoons animation mysteries""".split()
)
LIST_JOIN: frozenset[str] = frozenset("and or".split())
_SENTENCE_END = set(".!?\n;")


def _word(tokens: list[Token], i: int) -> str:
    return tokens[i].norm if 0 <= i < len(tokens) else ""


def _clause_after(text: str, tokens: list[Token], e: int, limit: int) -> list[str]:
    """Up to ``limit`` words after token ``e - 1``, stopping at the end of the sentence."""
    out: list[str] = []
    for i in range(e, min(e + limit, len(tokens))):
        if any(ch in _SENTENCE_END for ch in text[tokens[i - 1].end : tokens[i].start]):
            break
        out.append(tokens[i].norm)
    return out


def _bare(key: tuple[str, ...]) -> tuple[str, ...]:
    return key[1:] if len(key) > 1 and key[0] in ARTICLES else key


def other_use(
    text: str, tokens: list[Token], s: int, e: int, key: tuple[str, ...], surnames: frozenset[str] = frozenset()
) -> str | None:
    """The non-title use of the span ``tokens[s:e]`` (matched as ``key``), if its context shows one.

    Args:
        text: the message.
        tokens: its tokens.
        s: first token of the span.
        e: one past its last token.
        key: the matched title key.
        surnames: surnames of people credited on many catalogue items ("hitchcock").

    Returns:
        The name of the use (one of the module's constants), or None for none.
    """
    prev, prev2 = _word(tokens, s - 1), _word(tokens, s - 2)
    nxt, nxt2 = _word(tokens, e), _word(tokens, e + 1)
    bare = _bare(key)
    if bare in SALUTATIONS:
        return GREETING
    indefinite = prev in INDEFINITE or prev2 in INDEFINITE or key[0] in INDEFINITE
    franchise = nxt in ADJUNCT_NOUNS or (nxt in SINGLE_KIND and indefinite)  # "a star wars movie"
    i = s - 1
    while i >= s - 3 and _word(tokens, i) in {"the", "of"}:  # "all of the ..."
        i -= 1
    several = _word(tokens, i) in QUANTIFIERS
    franchise = franchise or (nxt in PLURAL_KIND and several)  # "all the indiana jones movies"
    if prev in ARTICLES:  # "about a boy and his dog" matched without its article: look past it
        prev, prev2 = prev2, _word(tokens, s - 3)
    if prev == "for" and prev2 in PURPOSE_HEADS:
        return OCCASION
    if (prev in HAVING and nxt == "in") or (nxt in COPULAS and nxt2 == "in" and _word(tokens, e + 2) in CAST_SCOPE):
        return CAST
    after = _clause_after(text, tokens, e, 8)
    if after and after[0] in COPULAS and any(w in PERSON_NOUNS for w in after[1:]):
        return PERSON
    if len(key) == 1 and key[0] in surnames:
        return SURNAME
    if prev == "about" and prev2 in TOPIC_HEADS:
        return TOPIC
    if prev in ROLE_VERBS:
        return ROLE
    if franchise:
        return FRANCHISE
    if prev in MEDIA_BEFORE or (prev in {"series", "show"} and prev2 == "tv") or nxt in MEDIA_AFTER:
        return MEDIUM
    if len(key) == 1 and (nxt in OBJECT_PRONOUNS or (nxt == "it" and nxt2 in AFTER_OBJECT_IT)):
        return VERB
    if (nxt in LIST_JOIN and nxt2 in GENRE_NOUNS) or (prev in LIST_JOIN and prev2 in GENRE_NOUNS):
        return GENRE_LIST
    return None
