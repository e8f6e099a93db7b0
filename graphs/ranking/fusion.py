"""Fusion: the weights of the signals and the ranking they make, plus re-mentions.

:func:`rank_candidates` is the recommend pipeline: it collects every registered signal over
the items that satisfy the hard constraints (:func:`~crsagent.graphs.ranking.collect.collect_signals`),
then ranks the pool with the learned ranker when the toolkit has one and the weights ask for it
(:mod:`~crsagent.graphs.ranking.learned`), else fuses it: each signal's scores are min-max
normalised over the items it returned (``popularity`` and ``attr`` are on a fixed scale
already) and summed with the domain's weights (:func:`domain_weights`: :data:`DEFAULT_WEIGHTS`,
tuned on ReDial dev turns, for movies and any domain without its own; :data:`OFFICE_WEIGHTS`,
tuned on held-out office users; ``docs/ranking.md``). The per-signal scores are kept with each
candidate, for explanations and for the reply prompt.

Items already mentioned never become candidates; :func:`remention_candidates` scores them
separately for re-mention, for the catalogue ranking the replay protocol scores (never for
recommendations).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from crsagent.graphs.dialogue.belief import Belief
from crsagent.graphs.ranking.collect import collect_signals
from crsagent.graphs.ranking.signals import SignalTable, registered_signals

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.graphs.state import Candidate
    from crsagent.tools.toolkit import Toolkit

__all__ = [
    "SIGNALS",
    "POOL",
    "FusionWeights",
    "DEFAULT_WEIGHTS",
    "OFFICE_WEIGHTS",
    "DOMAIN_WEIGHTS",
    "domain_weights",
    "fuse",
    "signal_weights",
    "rank_candidates",
    "remention_candidates",
    "catalogue_ranking",
    "learned_ranker",
    "skipped_signals",
]

SIGNALS: tuple[str, ...] = ("vector", "cf", "intent", "popularity", "attr", "prior", "trans", "crew", "content")
POOL = 200  # items each signal contributes to the candidate pool


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the normalised signals in the fused score (the one place they live).

    Attributes:
        vector, cf, intent, popularity, attr, prior, trans, crew, content: each signal's weight.
        remention: the weight of re-mentions (:func:`remention_candidates`): items already mentioned enter
            the catalogue ranking the replay scores (``TurnResult.ranking``), never the
            recommendations.
        genre_filter: liked genres are a hard constraint (True) or only a boost (False).
        people_filter: the most recently liked person is a hard constraint while the user's
            latest message names them (relaxed when nothing else is left).
        learned: rank with the toolkit's learned ranker when it has one (the weights then only
            switch signals off: a signal whose default weight is above 0 and whose weight here
            is 0 is not computed, so the model sees it as absent). Off by default: serving
            fuses, so ``score`` stays the weighted sum of ``signals`` (docs/api.md); the learned
            ranker showed no measured gain and is slower (docs/ranking.md).
    """

    vector: float = 0.1
    cf: float = 2.0
    intent: float = 0.0
    popularity: float = 6.0
    attr: float = 4.0
    prior: float = 0.25
    trans: float = 3.0
    crew: float = 4.0
    content: float = 3.0
    remention: float = 40.0
    genre_filter: bool = True
    people_filter: bool = True
    learned: bool = False

    def as_dict(self) -> dict[str, float]:
        """The weights by signal name."""
        d = asdict(self)
        d.pop("genre_filter")
        d.pop("people_filter")
        d.pop("learned")
        return d


#: Tuned on the ``tune`` half of the held-out ReDial dev dialogues (evals/tuning/weights.py); the
#: method is in docs/ranking.md, the evidence in docs/journal/2026-12-02-ranking-tuning.md.
DEFAULT_WEIGHTS = FusionWeights()

#: Tuned on the ``tuning`` half of the held-out Amazon office users' next items
#: (:mod:`crsagent.evals.tuning.office_weights`; ``crsagent eval tune office-weights``): much less
#: popularity, less content. Only ``popularity``, ``crew`` and ``content`` were gridded, relative
#: to ``cf`` (the histories carry no text, genres or brands; office items have no crew, so its
#: weight changes nothing and 0 skips it); the rest are the movie weights. Evidence:
#: docs/journal/2026-12-07-office-weights.md.
OFFICE_WEIGHTS = FusionWeights(popularity=0.25, crew=0.0, content=2.0)

#: The default fusion weights of each domain that has its own (the one place they live); any
#: other domain, movies included, uses :data:`DEFAULT_WEIGHTS`.
DOMAIN_WEIGHTS: Mapping[str, FusionWeights] = {"office": OFFICE_WEIGHTS}


def domain_weights(domain: str | None) -> FusionWeights:
    """The default fusion weights of ``domain`` (:data:`DOMAIN_WEIGHTS`, else :data:`DEFAULT_WEIGHTS`).

    Args:
        domain: a domain name (``movies``, ``office``), or None.

    Returns:
        The domain's weights; :data:`DEFAULT_WEIGHTS` for movies, None and unlisted domains.
    """
    return DOMAIN_WEIGHTS.get(domain or "", DEFAULT_WEIGHTS)


def _normalised(scores: Mapping[str, float]) -> dict[str, float]:
    vals = [v for v in scores.values() if math.isfinite(v)]
    if not vals:
        return {}
    lo, hi = min(vals), max(vals)
    if hi - lo < 1e-12:
        return {i: (1.0 if hi > 0 else 0.0) for i in scores}
    return {i: (v - lo) / (hi - lo) if math.isfinite(v) else 0.0 for i, v in scores.items()}


def signal_weights(weights: FusionWeights = DEFAULT_WEIGHTS) -> dict[str, float]:
    """Every signal's fusion weight: its field of ``weights``, else the registered signal's own
    ``weight`` (a signal registered by a plug-in), 0 for the learned ranker's own signals."""
    w = {s.name: (0.0 if s.learned_only else float(s.weight)) for s in registered_signals()}
    w.update(weights.as_dict())
    return w


def fuse(table: SignalTable, weights: FusionWeights = DEFAULT_WEIGHTS, k: int = 50) -> list[Candidate]:
    """Fuse the signals into one ranking (pure).

    Args:
        table: raw per-signal scores.
        weights: fusion weights.
        k: how many candidates to return.

    Returns:
        Candidates, best first; ``signals`` holds each signal's normalised score (0-1; ``attr``
        may be negative) and ``score`` their weighted sum. Ties break by popularity, then id.
    """
    w = signal_weights(weights)
    norm: dict[str, Mapping[str, float]] = {}
    for name, scores in table.scores.items():  # popularity and attr are on a fixed scale already
        norm[name] = scores if name in ("popularity", "attr") else _normalised(scores)
    pop = norm.get("popularity", {})
    total = dict.fromkeys(table.pool, 0.0)
    for name, vals in norm.items():  # signal by signal: the same sums, in the same order, as item by item
        wt = w.get(name, 0.0)
        if wt:
            for i, v in vals.items():
                if i in total:
                    total[i] += wt * v
    pop_of = pop.get
    keyed = [(-round(v, 9), -pop_of(i, 0.0), i, v) for i, v in total.items()]
    out: list[Candidate] = []
    for _, _, i, score in heapq.nsmallest(k, keyed):
        sig = {name: round(float(vals.get(i, 0.0)), 6) for name, vals in norm.items()}
        out.append({"item_id": i, "score": round(score, 6), "signals": sig})
    return out


def rank_candidates(
    toolkit: Toolkit,
    belief: Belief,
    dialogue_text: str = "",
    *,
    k: int = 50,
    weights: FusionWeights | None = None,
    recent: str | None = None,
) -> tuple[list[Candidate], str | None]:
    """The recommend pipeline: collect signals, rank (learned ranker or fusion), keep the top ``k``.

    With a learned ranker (``toolkit.ranker`` and ``weights.learned``) the signals its features
    need are collected and the model ranks the pool (:func:`~crsagent.graphs.ranking.learned.learned_rank`);
    otherwise the signals with a weight are fused. ``recent`` is the user's latest message (it
    scopes the person filter, :func:`allowed_ids`). ``weights`` None takes the toolkit's
    domain's (:func:`domain_weights`).

    Returns:
        (candidates best first, the top intent label or None).
    """
    if weights is None:
        weights = domain_weights(getattr(toolkit, "domain", None))
    ranker = learned_ranker(toolkit, weights)
    skip = skipped_signals(weights, ranker)
    table = collect_signals(
        toolkit,
        belief,
        dialogue_text,
        pool=max(POOL, k),
        genres_hard=weights.genre_filter,
        people_hard=weights.people_filter,
        skip=skip,
        recent=recent,
    )
    if ranker is not None:
        from crsagent.graphs.ranking.learned import learned_rank

        return learned_rank(toolkit, ranker, table, belief, k), table.intent_label
    return fuse(table, weights, k), table.intent_label


def learned_ranker(toolkit: Toolkit, weights: FusionWeights = DEFAULT_WEIGHTS) -> Any:
    """The toolkit's learned ranker when the weights ask for it, else None."""
    return getattr(toolkit, "ranker", None) if weights.learned else None


def skipped_signals(weights: FusionWeights, ranker: Any = None) -> frozenset[str]:
    """Signals not to compute: for the fusion, those with weight 0 and the extra signals; for a
    learned ranker, those its features do not use and those switched off (default weight above
    0, weight 0 here)."""
    w = signal_weights(weights)
    learned_only = {s.name for s in registered_signals() if s.learned_only}
    if ranker is None:
        return frozenset({n for n, v in w.items() if v == 0 and n != "popularity"} | learned_only)
    used = {f.removesuffix("_raw") for f in ranker.features}
    default = signal_weights(DEFAULT_WEIGHTS)
    off = {n for n, v in w.items() if v == 0 and default.get(n, 0) != 0 and n != "popularity"}
    names = (*SIGNALS, *(s.name for s in registered_signals()))
    return frozenset({n for n in names if n not in used and n != "popularity"} | off)


def remention_candidates(toolkit: Toolkit, belief: Belief, weights: FusionWeights = DEFAULT_WEIGHTS) -> list[Candidate]:
    """Items already mentioned, scored by how often recommenders come back to them.

    ReDial recommenders often talk again about the film the seeker just named or asked about;
    the replay protocol ranks the whole catalogue, so those re-mentions count there. The score is
    ``weights.remention`` times the item's re-mention rate (by how recently it was first mentioned,
    :meth:`~crsagent.tools.prior.redial.RedialPrior.remention`), on the fused score's scale so the two
    lists merge (:func:`catalogue_ranking`). Rejected items are left out. (The weight and the
    ``signals`` key were called ``echo`` before 2026-12-07.)

    Returns:
        Re-mention candidates, best first (``signals`` holds ``remention``); empty when the weight
        is 0 or the toolkit has no ReDial prior.
    """
    prior = getattr(toolkit, "prior", None)
    if not weights.remention or prior is None:
        return []
    ranker = learned_ranker(toolkit, weights)
    if ranker is not None:
        from crsagent.graphs.ranking.learned import learned_rementions

        return learned_rementions(toolkit, ranker, belief)
    rejected = set(belief.get("rejected") or [])
    mentioned = [i for i in belief.get("mentioned") or [] if i not in rejected and toolkit.has(i)]
    rates = prior.remention(mentioned)
    out: list[Candidate] = [
        {"item_id": i, "score": round(weights.remention * v, 6), "signals": {"remention": round(v, 6)}}
        for i, v in rates.items()
    ]
    out.sort(key=lambda c: -c["score"])
    return out


def catalogue_ranking(candidates: Sequence[Candidate], rementions: Sequence[Candidate]) -> list[Candidate]:
    """The fused candidates and the re-mention candidates in one list by score (stable: at
    equal scores a fused candidate stays first)."""
    if not rementions:
        return list(candidates)
    return sorted([*candidates, *rementions], key=lambda c: -c["score"])
