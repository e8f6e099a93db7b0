"""The ranking-signal contract, run over every registered signal and its fake.

Each registered :class:`~crsagent.graphs.ranking.signals.Signal` must, on a toolkit of fakes:

* return nothing (and not fail) on an empty context: no liked item, no mention, no text
  (a context-free signal, :data:`CONTEXT_FREE`, returns at most ``k`` items);
* ignore ids the catalogue does not know;
* never return an excluded item, nor one outside the candidates;
* return at most ``k`` items (``k + len(excluded)`` for an over-fetching signal, the pool for a
  pooled one);
* give the same scores, in the same order, when asked twice.

A new signal registers itself and adds its fake to :data:`FAKES` (the first test fails until it
does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from crsagent.graphs.ranking import Signal, SignalContext, registered_signals
from crsagent.tools.prior.itemsim import learn_itemsim
from crsagent.tools.prior.redial import RedialPrior

UNKNOWN = "tt9999999"


class FakeSeq:
    """SASRec's surface: ``index`` (id -> row + 1), ``item_ids`` and ``next_scores``."""

    def __init__(self, ids: list[str]) -> None:
        self.item_ids = list(ids)
        self.index = {i: r + 1 for r, i in enumerate(ids)}

    def next_scores(self, known: list[str]) -> np.ndarray:
        last = self.index[known[-1]] - 1
        return np.asarray([1.0 / (1 + abs(r - last)) for r in range(len(self.item_ids))])


def _full(fakes: Any) -> Any:
    """A toolkit with every handle a built-in signal reads."""
    ids = [it.item_id for it in fakes.ITEMS]
    prior = RedialPrior(
        suggested={fakes.ALIEN: 9.0, fakes.WITCH: 1.0, fakes.US: 2.0},
        transitions={fakes.GET_OUT: {fakes.US: 3.0, fakes.WITCH: 1.0}, fakes.BABADOOK: {fakes.WITCH: 2.0}},
        comention={fakes.GET_OUT: {fakes.US: 2.0, fakes.ALIEN: 1.0}, fakes.US: {fakes.GET_OUT: 2.0}},
        remention_rates=(0.5, 0.2),
    )
    baskets = [[fakes.GET_OUT, fakes.US, fakes.WITCH], [fakes.BABADOOK, fakes.WITCH], [fakes.GET_OUT, fakes.ALIEN]]
    return fakes.make_toolkit(prior=prior, seq=FakeSeq(ids), itemsim=learn_itemsim(baskets, neighbours=5, shrink=1.0))


#: signal name -> a factory of the toolkit of fakes the signal is checked on.
FAKES: dict[str, Callable[[Any], Any]] = {
    name: _full
    for name in (
        "popularity",
        "vector",
        "cf",
        "intent",
        "prior",
        "trans",
        "crew",
        "content",
        "seq",
        "comention",
        "itemsim",
        "attr",
    )
}

#: Signals that score without a context (catalogue popularity, how often recommenders suggest an item).
CONTEXT_FREE = frozenset({"popularity", "prior"})

SIGNALS = registered_signals()


def _ctx(fakes: Any, tk: Any, *, k: int = 4, candidates: list[str] | None = None, empty: bool = False) -> SignalContext:
    if empty:
        return SignalContext(toolkit=tk, belief={}, k=k, candidates=candidates)
    context = [fakes.GET_OUT, fakes.BABADOOK, UNKNOWN]
    belief = {
        "items": {fakes.BABADOOK: {"opinion": "liked", "source": "linker"}},
        "mentioned": [fakes.GET_OUT, UNKNOWN],
        "genres": {"horror": "like"},
        "people": {"Jordan Peele": "like"},
    }
    excluded = frozenset(context)
    pool = [i for i in (candidates or [it.item_id for it in fakes.ITEMS]) if i not in excluded]
    return SignalContext(
        toolkit=tk,
        belief=belief,
        dialogue_text="something scary like get out",
        text="horror Jordan Peele scary",
        context=context,
        excluded=excluded,
        candidates=candidates,
        k=k,
        liked=[fakes.BABADOOK],
        disliked=[],
        pool=pool,
    )


def _limit(signal: Signal, ctx: SignalContext) -> int:
    if signal.pooled:
        return len(ctx.pool)
    return ctx.k + len(ctx.excluded) if signal.overfetch else ctx.k


def test_every_registered_signal_has_a_fake() -> None:
    assert {s.name for s in SIGNALS} <= set(FAKES), "register the new signal's fake in FAKES"
    assert all(isinstance(s, Signal) for s in SIGNALS)


@pytest.mark.parametrize("signal", SIGNALS, ids=lambda s: s.name)
def test_the_fake_exercises_the_signal(signal: Signal, fakes: Any) -> None:
    assert signal.scores(_ctx(fakes, FAKES[signal.name](fakes), k=6))


@pytest.mark.parametrize("signal", SIGNALS, ids=lambda s: s.name)
def test_empty_context(signal: Signal, fakes: Any) -> None:
    got = signal.scores(_ctx(fakes, FAKES[signal.name](fakes), empty=True))
    if signal.name in CONTEXT_FREE:
        assert 0 < len(got) <= 4
    else:
        assert dict(got) == {}


@pytest.mark.parametrize("signal", SIGNALS, ids=lambda s: s.name)
def test_unknown_ids_are_ignored(signal: Signal, fakes: Any) -> None:
    tk = FAKES[signal.name](fakes)
    ctx = _ctx(fakes, tk, k=6)
    got = signal.scores(ctx)
    assert UNKNOWN not in got
    only_unknown = SignalContext(
        toolkit=tk, belief={"mentioned": [UNKNOWN]}, context=[UNKNOWN], excluded=frozenset({UNKNOWN}), k=6
    )
    assert UNKNOWN not in signal.scores(only_unknown)


@pytest.mark.parametrize("signal", SIGNALS, ids=lambda s: s.name)
def test_exclusions_and_candidates_hold(signal: Signal, fakes: Any) -> None:
    tk = FAKES[signal.name](fakes)
    got = signal.scores(_ctx(fakes, tk, k=12))
    assert not set(got) & {fakes.GET_OUT, fakes.BABADOOK}
    cand = [fakes.US, fakes.WITCH, fakes.ALIEN, fakes.SUPERBAD]
    assert set(signal.scores(_ctx(fakes, tk, k=12, candidates=cand))) <= set(cand)


@pytest.mark.parametrize("signal", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("k", [0, 1, 3])
def test_at_most_k_items(signal: Signal, k: int, fakes: Any) -> None:
    ctx = _ctx(fakes, FAKES[signal.name](fakes), k=k)
    assert len(signal.scores(ctx)) <= _limit(signal, ctx)


@pytest.mark.parametrize("signal", SIGNALS, ids=lambda s: s.name)
def test_deterministic(signal: Signal, fakes: Any) -> None:
    tk = FAKES[signal.name](fakes)
    first = list(signal.scores(_ctx(fakes, tk, k=6)).items())
    again = list(signal.scores(_ctx(fakes, tk, k=6)).items())
    assert first == again


def test_a_registered_signal_joins_the_pool_and_the_fusion(fakes: Any) -> None:
    from crsagent.graphs.ranking import rank_candidates, register_signal, unregister_signal

    class Newest:
        name, weight, learned_only, overfetch, pooled = "newest", 100.0, False, False, False

        def scores(self, ctx: SignalContext) -> dict[str, float]:
            return {} if fakes.WITCH in ctx.excluded else {fakes.WITCH: 1.0}

    tk = fakes.make_toolkit()
    register_signal(Newest())
    try:
        assert [s.name for s in registered_signals()][-2:] == ["newest", "attr"]  # pooled signals stay last
        cands, _ = rank_candidates(tk, {"genres": {"horror": "like"}}, k=1)
        assert cands[0]["item_id"] == fakes.WITCH and cands[0]["signals"]["newest"] == 1.0
    finally:
        unregister_signal("newest")
    assert "newest" not in {s.name for s in registered_signals()}
