"""The ranking-signal seam: the :class:`Signal` protocol, its context and the registry.

A ranking signal scores catalogue items for one turn. A new signal is one module that defines
a class satisfying :class:`Signal` and calls :func:`register_signal` at import (the built-in
ones are in :mod:`~crsagent.graphs.ranking.builtin`). :func:`~crsagent.graphs.ranking.collect.collect_signals`
runs every registered signal in registration order; the fusion weights a signal by its field
of :class:`~crsagent.graphs.ranking.fusion.FusionWeights`, or by its own ``weight`` when the
weights have no such field. ``tests/unit/graphs/test_signal_contract.py`` checks every
registered signal against its fake (empty context, unknown ids, exclusions, ``k``,
determinism).

Example:
    >>> from crsagent.graphs.ranking.signals import SignalContext, register_signal
    >>> class Newest:
    ...     name, weight, learned_only, overfetch, pooled = "newest", 1.0, False, False, False
    ...     def scores(self, ctx: SignalContext) -> dict[str, float]:
    ...         return {}
    >>> _ = register_signal(Newest())  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "Signal",
    "SignalContext",
    "SignalTable",
    "register_signal",
    "unregister_signal",
    "registered_signals",
    "get_signal",
]


@dataclass
class SignalTable:
    """Per-signal raw scores of the candidate pool, before fusion.

    Attributes:
        scores: signal -> item id -> raw score (only items the signal returned).
        pool: candidate ids, in first-seen order (every id satisfies the hard constraints).
        intent_label: the top latent intent's label, when the intent scorer ran.
    """

    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    pool: list[str] = field(default_factory=list)
    intent_label: str | None = None

    def add(self, signal: str, scored: Mapping[str, float]) -> None:
        """Record a signal's scores and grow the pool with its items."""
        if not scored:
            return
        cur = self.scores.setdefault(signal, {})
        cur.update(scored)
        seen = set(self.pool)
        self.pool.extend(i for i in scored if i not in seen)


@dataclass
class SignalContext:
    """What a signal sees of one turn.

    Attributes:
        toolkit: the domain's tools (a signal returns nothing when the tool it needs is missing).
        belief: the current belief.
        dialogue_text: the user's recent words.
        text: the vector-search text of the belief.
        context: every item the dialogue has mentioned, in order (the excluded items).
        excluded: items never to return.
        candidates: the items that satisfy the hard constraints (None: every item).
        k: how many items a signal returns (see :attr:`Signal.overfetch`).
        liked: liked items the toolkit knows.
        disliked: disliked items the toolkit knows.
        pool: the items pooled by the signals run so far (read by signals that score the pool).
        notes: side results a signal reports (``intent_label``).
    """

    toolkit: Any
    belief: Mapping[str, Any]
    dialogue_text: str = ""
    text: str = ""
    context: Sequence[str] = ()
    excluded: frozenset[str] = frozenset()
    candidates: Sequence[str] | None = None
    k: int = 200
    liked: Sequence[str] = ()
    disliked: Sequence[str] = ()
    pool: Sequence[str] = ()
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def profile(self) -> list[str]:
        """The dialogue's items without the disliked ones, in order."""
        bad = set(self.disliked)
        return [i for i in self.context if i not in bad]


@runtime_checkable
class Signal(Protocol):
    """One ranking signal.

    Attributes:
        name: the key of its scores (``SignalTable.scores``, candidates' ``signals``).
        weight: its fusion weight when :class:`~crsagent.graphs.ranking.fusion.FusionWeights`
            has no field of that name (0: computed only for the learned ranker).
        learned_only: computed only when the learned ranker uses it (never fused by weight).
        overfetch: it asks its tool for ``k + len(excluded)`` items and keeps those that are
            not excluded, so it may return up to that many (the tuned weights assume it).
        pooled: it scores the items the other signals pooled (``ctx.pool``) rather than ``k``
            of its own; it runs after them.
    """

    @property
    def name(self) -> str: ...

    @property
    def weight(self) -> float: ...

    @property
    def learned_only(self) -> bool: ...

    @property
    def overfetch(self) -> bool: ...

    @property
    def pooled(self) -> bool: ...

    def scores(self, ctx: SignalContext) -> Mapping[str, float]:
        """Raw scores of at most ``ctx.k`` items (see ``overfetch``), best first.

        Never an excluded item, never an item outside ``ctx.candidates`` (when given); empty
        when the signal has nothing to say (its tool is missing, the context is empty).
        """
        ...


_REGISTRY: dict[str, Signal] = {}


def register_signal(signal: Signal, *, before: str | None = None) -> Signal:
    """Register (or replace) a ranking signal.

    Args:
        signal: the signal.
        before: run it before this registered signal (default: last, though before the
            signals that score the pool, ``pooled``, which need every other signal's items).

    Returns:
        ``signal``.
    """
    _REGISTRY.pop(signal.name, None)
    if before is None and not signal.pooled:
        before = next((n for n, s in _REGISTRY.items() if s.pooled), None)
    if before is None or before not in _REGISTRY:
        _REGISTRY[signal.name] = signal
        return signal
    items = list(_REGISTRY.items())
    at = [n for n, _ in items].index(before)
    items.insert(at, (signal.name, signal))
    _REGISTRY.clear()
    _REGISTRY.update(items)
    return signal


def unregister_signal(name: str) -> None:
    """Remove a registered signal (tests, plug-ins that switch one off)."""
    _REGISTRY.pop(name, None)


def registered_signals() -> tuple[Signal, ...]:
    """Every registered signal, in the order they run."""
    from crsagent.graphs.ranking import builtin  # noqa: F401  (registers the built-in signals)

    return tuple(_REGISTRY.values())


def get_signal(name: str) -> Signal:
    """The registered signal called ``name``.

    Raises:
        KeyError: no such signal.
    """
    for s in registered_signals():
        if s.name == name:
            return s
    raise KeyError(f"unknown signal {name!r}; registered: {[s.name for s in registered_signals()]}")
