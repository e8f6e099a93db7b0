"""DomainSpec: the registry answers what a domain has, and unknown domains fail loudly."""

from __future__ import annotations

import pytest

from crsagent.agent.domains import MOVIES, OFFICE, DomainSpec, domain_spec, register_domain, registered_domains
from crsagent.agent.errors import ConfigError
from crsagent.agent.settings import DOMAINS


def test_bundled_domains_are_registered() -> None:
    assert registered_domains()[:2] == ("movies", "office")
    assert DOMAINS == ("movies", "office")
    assert domain_spec("movies") is MOVIES and domain_spec("office") is OFFICE


def test_specs_carry_the_differences() -> None:
    assert (MOVIES.noun, OFFICE.noun) == ("movie", "product")
    assert (MOVIES.long_noun, OFFICE.long_noun) == ("movie", "office product")
    assert (MOVIES.people_slot, OFFICE.people_slot) == ("people", "brands")
    assert MOVIES.dialogues and not OFFICE.dialogues
    assert OFFICE.product_words and not MOVIES.product_words


def test_unknown_domain_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown domain 'books'"):
        domain_spec("books")


def test_a_spec_passes_through_and_a_new_domain_registers() -> None:
    books = DomainSpec(name="books-test", noun="book", long_noun="book")
    assert domain_spec(books) is books
    try:
        register_domain(books)
        assert domain_spec("books-test") is books
        assert "books-test" in registered_domains()
    finally:
        from crsagent.agent import domains

        domains._REGISTRY.pop("books-test", None)
