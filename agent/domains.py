"""Domain specifications: everything that differs between catalogue domains, in one place.

Code asks a :class:`DomainSpec` what a domain *has* or how it *says* things instead of
comparing the domain's name. A new domain is one :func:`register_domain` call with its spec;
a domain on new raw data also registers its catalogue builder and input files under its
``catalog`` key (``CATALOG_BUILDERS`` in :mod:`crsagent.tools.catalog.build`, ``CATALOG_INPUTS``
in :mod:`crsagent.tools.catalog.stage`) and the files of new ``sources``
(``SOURCE_FILES`` in :mod:`crsagent.tools.cf.stage`).

Example:
    >>> from crsagent.agent.domains import domain_spec
    >>> domain_spec("movies").noun
    'movie'
    >>> domain_spec("office").people_slot
    'brands'
"""

from __future__ import annotations

from dataclasses import dataclass

from crsagent.agent.errors import ConfigError

__all__ = ["DomainSpec", "MOVIES", "OFFICE", "domain_spec", "register_domain", "registered_domains"]


@dataclass(frozen=True)
class DomainSpec:
    """What one catalogue domain has and how the agent talks about its items.

    Attributes:
        name: the domain's name (``movies``, ``office``), the key of its artifacts.
        noun: the short item noun in replies ("movie", "product").
        long_noun: the item noun in LLM prompts ("movie", "office product").
        people_slot: the preference key that holds named people or makers (``people``, ``brands``).
        people_words: how prompts name that slot ("directors or actors", "brands").
        plural: the plural item noun of summaries ("films", "products").
        liked_verb: the past verb of a positive interaction in summaries ("liked", "bought").
        also_phrase: the co-interaction phrase of explanations.
        catalog: the catalogue source the domain's items are built from; its builder and raw
            input files are registered under this key in :mod:`crsagent.tools.catalog`
            (``movielens-redial``, ``amazon-office``).
        sources: the raw datasets the items link to and the models learn interactions from, in
            order (``movielens``, ``redial``, ``amazon``): the catalogue's source-id maps and the
            interaction histories (:func:`crsagent.tools.cf.data.domain_histories`).
        dialogues: whether the domain has recommendation dialogues (ReDial): the learned prior,
            the learned ranker, the entity-linker evaluation and the ReDial title resolver.
        product_words: whether item kinds come from title words (office: "stapler", "pens").
        text_genres: whether descriptive words map to genres through catalogue text.
        genre_likeness: whether shared genres make an explanation ("it is a comedy film").
        cast: whether items carry a cast worth naming.
    """

    name: str
    noun: str
    long_noun: str
    people_slot: str = "people"
    plural: str = "items"
    people_words: str = "people"
    liked_verb: str = "liked"
    also_phrase: str = "users who liked it also liked"
    catalog: str = ""
    sources: tuple[str, ...] = ()
    dialogues: bool = False
    product_words: bool = False
    text_genres: bool = False
    genre_likeness: bool = False
    cast: bool = False


MOVIES = DomainSpec(
    name="movies",
    noun="movie",
    long_noun="movie",
    people_slot="people",
    plural="films",
    people_words="directors or actors",
    liked_verb="liked",
    also_phrase="viewers who enjoyed it also enjoyed",
    catalog="movielens-redial",
    sources=("movielens", "redial"),
    dialogues=True,
    text_genres=True,
    genre_likeness=True,
    cast=True,
)

OFFICE = DomainSpec(
    name="office",
    noun="product",
    long_noun="office product",
    people_slot="brands",
    plural="products",
    people_words="brands",
    liked_verb="bought",
    also_phrase="customers who bought it also bought",
    catalog="amazon-office",
    sources=("amazon",),
    product_words=True,
)

_REGISTRY: dict[str, DomainSpec] = {MOVIES.name: MOVIES, OFFICE.name: OFFICE}


def register_domain(spec: DomainSpec) -> DomainSpec:
    """Register (or replace) a domain's spec.

    Args:
        spec: the domain's specification.

    Returns:
        ``spec``, so a module can write ``MINE = register_domain(DomainSpec(...))``.
    """
    _REGISTRY[spec.name] = spec
    return spec


def registered_domains() -> tuple[str, ...]:
    """The names of every registered domain, in registration order."""
    return tuple(_REGISTRY)


def domain_spec(domain: str | DomainSpec) -> DomainSpec:
    """The spec of ``domain``.

    Args:
        domain: a domain name, or a spec (returned as is).

    Returns:
        The registered :class:`DomainSpec`.

    Raises:
        ConfigError: ``domain`` is not registered.
    """
    if isinstance(domain, DomainSpec):
        return domain
    try:
        return _REGISTRY[domain]
    except KeyError:
        raise ConfigError(f"unknown domain '{domain}'; choose one of {list(_REGISTRY)}") from None
