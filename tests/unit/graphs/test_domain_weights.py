"""Per-domain fusion weights: office rankings default to ``OFFICE_WEIGHTS``, movies keep ``DEFAULT_WEIGHTS``."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from crsagent.agent.settings import Settings
from crsagent.graphs.context import CRSContext
from crsagent.graphs.ranking import (
    DEFAULT_WEIGHTS,
    DOMAIN_WEIGHTS,
    OFFICE_WEIGHTS,
    FusionWeights,
    SignalTable,
    domain_weights,
    rank_candidates,
)
from crsagent.graphs.ranking import fusion as fusion_mod
from crsagent.graphs.runner import CRSAgent
from crsagent.tools.toolkit import Toolkit


def _office_toolkit(fakes: Any) -> Toolkit:
    tk = fakes.make_toolkit()
    return Toolkit("office", **{name: getattr(tk, name) for name in ("db", "linker", "lexicon", "cf", "index")})


def test_the_table_maps_office_to_its_own_weights_and_everything_else_to_the_movie_weights() -> None:
    assert DOMAIN_WEIGHTS == {"office": OFFICE_WEIGHTS}
    assert domain_weights("office") is OFFICE_WEIGHTS
    assert OFFICE_WEIGHTS != DEFAULT_WEIGHTS  # the tuned weights differ from the movie ones
    for name in ("movies", None, "", "books"):
        assert domain_weights(name) is DEFAULT_WEIGHTS
    assert DEFAULT_WEIGHTS == FusionWeights()  # movie behaviour unchanged: the dataclass defaults


def test_context_defaults_to_the_toolkit_domain_weights_and_keeps_explicit_ones(fakes: Any) -> None:
    assert CRSContext(toolkit=fakes.make_toolkit()).weights is DEFAULT_WEIGHTS
    office = _office_toolkit(fakes)
    assert CRSContext(toolkit=office).weights is OFFICE_WEIGHTS
    mine = dataclasses.replace(DEFAULT_WEIGHTS, cf=9.0)
    assert CRSContext(toolkit=office, weights=mine).weights is mine


def test_runners_default_to_the_domain_weights(tmp_path: Any, fakes: Any) -> None:
    settings = Settings(home=tmp_path / "home")
    mem = {"checkpointer": InMemorySaver(), "store": InMemoryStore()}
    movies = CRSAgent.create(settings, "movies", "crs-only", toolkit=fakes.make_toolkit(), **mem)
    office = CRSAgent.create(settings, "office", "crs-only", toolkit=_office_toolkit(fakes), **mem)
    mine = dataclasses.replace(DEFAULT_WEIGHTS, content=0.0)
    chosen = CRSAgent.create(settings, "office", "crs-only", toolkit=_office_toolkit(fakes), weights=mine, **mem)
    assert movies.weights is DEFAULT_WEIGHTS and office.weights is OFFICE_WEIGHTS and chosen.weights is mine
    assert movies.context().weights is DEFAULT_WEIGHTS and office.context().weights is OFFICE_WEIGHTS


def test_rank_candidates_fuses_with_the_toolkit_domain_weights(fakes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[FusionWeights] = []

    def fake_fuse(table: SignalTable, weights: FusionWeights, k: int) -> list[Any]:
        seen.append(weights)
        return []

    monkeypatch.setattr(fusion_mod, "collect_signals", lambda *a, **kw: SignalTable())
    monkeypatch.setattr(fusion_mod, "fuse", fake_fuse)
    rank_candidates(fakes.make_toolkit(), {}, "")
    rank_candidates(_office_toolkit(fakes), {}, "")
    rank_candidates(_office_toolkit(fakes), {}, "", weights=DEFAULT_WEIGHTS)
    assert seen == [DEFAULT_WEIGHTS, OFFICE_WEIGHTS, DEFAULT_WEIGHTS]
    assert seen[0] is DEFAULT_WEIGHTS and seen[1] is OFFICE_WEIGHTS
