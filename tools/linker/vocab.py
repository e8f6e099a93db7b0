"""Word lists of the attribute lexicon: genre synonyms, negation cues and their scope breakers.

Genre synonyms map what people type to the catalogue's genre names (MovieLens and ReDial
use lower-case names such as ``sci-fi``, ``children``, ``film-noir``); the lexicon keeps only
the targets the catalogue actually has. Keys are phrases in the tokenised form of
:mod:`crsagent.tools.linker.text` (``sci-fi`` is ``sci fi``).
"""

from __future__ import annotations

__all__ = [
    "GENRE_SYNONYMS",
    "NEGATION_CUES",
    "NEGATION_PHRASES",
    "NOT_NEGATION",
    "SCOPE_BREAKERS",
    "POSITIVE_VERBS",
    "TRAILING_NEGATION",
    "NAME_PARTICLES",
]


def _syn(targets: str, phrases: str) -> dict[str, tuple[str, ...]]:
    t = tuple(targets.split(","))
    return {p.strip(): t for p in phrases.split(",") if p.strip()}


GENRE_SYNONYMS: dict[str, tuple[str, ...]] = {
    **_syn(
        "horror",
        "horror, horrors, horror movie, scary, scare, scares, spooky, creepy, frightening, terrifying,"
        " slasher, slashers, gore, gory, zombie, zombies, haunted house, haunting",
    ),
    **_syn(
        "comedy",
        "comedy, comedies, comedic, funny, funnier, funniest, hilarious, humor, humour, humorous,"
        " laugh, laughs, goofy, slapstick, parody, spoof",
    ),
    **_syn("romance", "romance, romances, romantic, love story, love stories, chick flick, chick flicks"),
    **_syn("romance,comedy", "romcom, romcoms, rom com, rom coms, romantic comedy, romantic comedies"),
    **_syn("sci-fi", "sci fi, scifi, science fiction, syfy, futuristic, dystopian, dystopia, space opera"),
    **_syn("action", "action, action packed, explosions, shoot em up, martial arts, kung fu"),
    **_syn("adventure", "adventure, adventures, adventurous, swashbuckler, treasure hunt"),
    **_syn("thriller", "thriller, thrillers, suspense, suspenseful, thrilling, edge of my seat, psychological"),
    **_syn("drama", "drama, dramas, dramatic, tearjerker, tear jerker, tearjerkers"),
    **_syn(
        "crime",
        "crime, crimes, gangster, gangsters, mafia, mob, mobster, mobsters, heist, heists, cop, cops, heist movie",
    ),
    **_syn("mystery", "mystery, mysteries, whodunit, whodunnit, detective, detectives, murder mystery"),
    **_syn("fantasy", "fantasy, fantasies, magical, wizards, wizard, dragons, fairy tale, fairy tales"),
    **_syn("family,children", "family, family friendly, kid friendly, kids, for kids, children, childrens, kiddie"),
    **_syn("animation", "animation, animated, cartoon, cartoons, anime, pixar"),
    **_syn("documentary", "documentary, documentaries, docu, docudrama"),
    **_syn("biography", "biography, biographies, biopic, biopics, biographical, true story, based on a true story"),
    **_syn("history", "history, historical, period piece, period pieces, period drama"),
    **_syn("music", "music, musician, musicians, band, concert"),
    **_syn("musical", "musical, musicals, singing, broadway"),
    **_syn("sport", "sport, sports, sporty, football, baseball, basketball, boxing"),
    **_syn("war", "war, war movie, war movies, war film, military, wwii, ww2, world war"),
    **_syn("western", "western, westerns, cowboy, cowboys, wild west"),
    **_syn("film-noir", "noir, film noir"),
}

# One-word cues that negate what follows in the same clause.
NEGATION_CUES: frozenset[str] = frozenset(
    """no not never without except hate hated hates hating dislike dislikes disliked avoid
    nothing none neither nor against excluding exclude minus nope dont didnt doesnt isnt
    arent wont cant cannot skip ban""".split()
)
# Several-word cues (checked before the one-word ones).
NEGATION_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split())
    for p in (
        "anything but", "anything except", "cant stand", "can not stand", "sick of", "tired of",
        "stay away from", "steer clear of", "rather not", "prefer not", "no more", "not a fan of",
        "not into", "not big on", "not really into", "turned off by", "enough of", "bored of",
        "bored with", "other than",
    )
)  # fmt: skip
# Phrases with a negation word that do not negate what follows.
NOT_NEGATION: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split())
    for p in ("not sure", "dont know", "not certain", "dont mind", "not only", "no matter", "not just", "no problem",
              "doesnt matter", "dont care", "never mind", "cant wait", "cant decide", "cant choose", "not picky")
)  # fmt: skip
# Words that end a negation's scope.
SCOPE_BREAKERS: frozenset[str] = frozenset(
    "but though although however yet instead rather whereas while otherwise".split()
)
# A positive verb after the cue (not right after it) starts a new, positive clause.
POSITIVE_VERBS: frozenset[str] = frozenset(
    "like likes love loves loved liked want wants prefer prefers enjoy enjoys enjoyed adore need".split()
)
# "<genre> is not my thing": a negation that follows what it negates.
TRAILING_NEGATION: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split())
    for p in (
        "not my thing", "not for me", "isnt for me", "arent for me", "isnt my thing", "arent my thing",
        "not my cup of tea", "not my style", "not my genre", "not really my thing", "not my favorite",
        "sucks", "suck", "is boring", "are boring", "bores me", "bore me", "is overrated", "are overrated",
    )
)  # fmt: skip
# Surname particles: "Robert De Niro" is also typed "de niro" and "deniro".
NAME_PARTICLES: frozenset[str] = frozenset("de di da del della van von der le la du mac st".split())
