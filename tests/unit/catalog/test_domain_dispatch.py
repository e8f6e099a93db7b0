"""The build stages ask the domain's spec (catalogue source, data sources, dialogues), not its name."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from crsagent.agent.domains import MOVIES, OFFICE, DomainSpec, register_domain
from crsagent.agent.errors import DataError
from crsagent.tools.catalog import stage as catalog_stage
from crsagent.tools.catalog.build import build_domain
from crsagent.tools.cf import stage as cf_stage
from crsagent.tools.cf.data import domain_histories
from crsagent.tools.prior import stage as prior_stage
from crsagent.tools.ranker import stage as ranker_stage


@pytest.fixture
def register() -> Iterator[object]:
    """Register test domains for one test, and drop them after it."""
    from crsagent.agent import domains

    added: list[str] = []

    def add(spec: DomainSpec) -> DomainSpec:
        added.append(spec.name)
        return register_domain(spec)

    yield add
    for name in added:
        domains._REGISTRY.pop(name, None)


def test_bundled_specs_name_their_catalogue_and_sources() -> None:
    assert (MOVIES.catalog, MOVIES.sources) == ("movielens-redial", ("movielens", "redial"))
    assert (OFFICE.catalog, OFFICE.sources) == ("amazon-office", ("amazon",))


def test_a_new_domain_on_the_office_data_builds_like_office(tiny_data: Path, register: object) -> None:
    register(replace(OFFICE, name="stationery-test"))  # type: ignore[operator]
    assert catalog_stage.input_files(tiny_data, "stationery-test") == catalog_stage.input_files(tiny_data, "office")
    assert cf_stage.input_files(tiny_data, "stationery-test") == [tiny_data / "amazon-office" / "valid.csv"]
    built = build_domain(tiny_data, "stationery-test")
    assert [it.item_id for it in built.items] == [it.item_id for it in build_domain(tiny_data, "office").items]
    histories = domain_histories(tiny_data, "stationery-test")
    assert histories and all(h.source == "amazon" for h in histories)


def test_movie_sources_give_movielens_then_redial_files(tiny_data: Path) -> None:
    names = [p.relative_to(tiny_data).as_posix() for p in cf_stage.input_files(tiny_data, "movies")]
    assert names == [
        "movielens-latest-small/ratings.csv",
        "movielens-latest-small/links.csv",
        "redial/dev_dialogues.jsonl",
    ]


def test_dialogue_inputs_follow_the_dialogues_flag(
    tiny_data: Path, register: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(replace(MOVIES, name="films-test", dialogues=False))  # type: ignore[operator]
    assert prior_stage._inputs(tiny_data, "movies") and not prior_stage._inputs(tiny_data, "films-test")
    hashed: dict[str, list[Path]] = {}
    monkeypatch.setattr(ranker_stage, "hash_inputs", lambda files, extra: hashed.setdefault(extra["domain"], files))
    for domain in ("movies", "films-test"):
        ranker_stage.input_hash(SimpleNamespace(data_dir=tiny_data, domain=domain))
    assert [p.name for p in hashed["movies"]] == ["dev_turns.jsonl", "dev_dialogues.jsonl", "movies_with_mentions.csv"]
    assert hashed["films-test"] == []


def test_an_unknown_domain_or_catalogue_source_is_a_data_error(tiny_data: Path, register: object) -> None:
    with pytest.raises(DataError, match="unknown domain"):
        catalog_stage.input_files(tiny_data, "books")
    with pytest.raises(DataError, match="unknown domain"):
        domain_histories(tiny_data, "books")
    register(DomainSpec(name="books-test", noun="book", long_noun="book", catalog="goodreads", sources=("goodreads",)))  # type: ignore[operator]
    with pytest.raises(DataError, match="no catalogue builder"):
        build_domain(tiny_data, "books-test")
    with pytest.raises(DataError, match="no input files"):
        catalog_stage.input_files(tiny_data, "books-test")
    with pytest.raises(DataError, match="no interaction histories"):
        domain_histories(tiny_data, "books-test")
