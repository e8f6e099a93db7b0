"""The built-in ranking signals, registered in the order they run (the pool's first-seen order).

* ``popularity`` — log popularity in the catalogue (the most popular allowed items always join
  the pool);
* ``vector`` — vector search of the soft-preference text (cosine similarity);
* ``cf`` — collaborative filtering from the liked (and disliked) items;
* ``intent`` — the LatentCRS intent scorer over the liked items and the dialogue text;
* ``prior`` / ``trans`` — how often ReDial recommenders suggest the item, overall and after
  the items mentioned so far (:mod:`~crsagent.tools.prior.redial`);
* ``crew`` — people shared with the items mentioned so far (:mod:`~crsagent.graphs.ranking.crew`);
* ``content`` — closeness to the items mentioned so far (:mod:`~crsagent.graphs.ranking.content`);
* ``seq``, ``comention``, ``itemsim`` — for the learned ranker only
  (:mod:`~crsagent.graphs.ranking.features`);
* ``attr`` — matches of the pooled items' attributes with the liked genres, people and brands.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crsagent.agent.errors import ToolInputError
from crsagent.graphs.dialogue.belief import liked_genres, liked_people
from crsagent.graphs.ranking.content import content_scores
from crsagent.graphs.ranking.crew import crew_scores
from crsagent.graphs.ranking.features import EXTRA_SIGNALS, extra_signal_scores
from crsagent.graphs.ranking.signals import SignalContext, register_signal

__all__ = ["BuiltinSignal", "BUILTIN_SIGNALS", "attr_scores"]

#: How many items an over-fetching signal may ask its tool for.
MAX_FETCH = 1000


@dataclass(frozen=True)
class BuiltinSignal:
    """A built-in signal: a name, its flags and a scoring function of the context."""

    name: str
    fn: Any
    weight: float = 0.0
    learned_only: bool = False
    overfetch: bool = False
    pooled: bool = False

    def scores(self, ctx: SignalContext) -> Mapping[str, float]:
        """Raw scores of the turn (see :class:`~crsagent.graphs.ranking.signals.Signal`)."""
        return dict(self.fn(ctx))


def _popularity(ctx: SignalContext) -> dict[str, float]:
    tk = ctx.toolkit
    popular = ctx.candidates if ctx.candidates is not None else tk.ids_by_popularity()
    top = list(itertools.islice((i for i in popular if i not in ctx.excluded), max(ctx.k, 0)))
    pop = tk.popularity_map()
    return {i: pop.get(i, 0.0) for i in top}


def _vector(ctx: SignalContext) -> dict[str, float]:
    index = ctx.toolkit.index
    if not ctx.text or index is None or ctx.k <= 0:
        return {}
    hits = index.query_scores(ctx.text, k=min(ctx.k + len(ctx.excluded), MAX_FETCH), candidate_ids=ctx.candidates)
    return {i: v for i, v in hits.items() if i not in ctx.excluded}


def _cf(ctx: SignalContext) -> dict[str, float]:
    cf = ctx.toolkit.cf
    if not ctx.liked or cf is None:
        return {}
    return dict(
        cf.recommend_scores(
            list(ctx.liked), list(ctx.disliked), k=ctx.k, candidate_ids=ctx.candidates, exclude=sorted(ctx.excluded)
        )
    )


def _intent_label(intent: Any) -> str:
    if isinstance(intent, (tuple, list)):
        return str(intent[-1])
    return str(getattr(intent, "label", intent))


def _intent(ctx: SignalContext) -> dict[str, float]:
    scorer = ctx.toolkit.intent
    if scorer is None or not (ctx.liked or ctx.dialogue_text.strip()) or ctx.k <= 0:
        return {}
    try:
        intents, scored = scorer.score_pairs(
            list(ctx.liked),
            ctx.dialogue_text,
            k=min(ctx.k + len(ctx.excluded), MAX_FETCH),
            candidate_ids=ctx.candidates,
        )
    except ToolInputError:
        return {}
    if scored is None:
        return {}
    if intents:
        ctx.notes["intent_label"] = _intent_label(intents[0])
    return {i: v for i, v in scored.items() if i not in ctx.excluded}


def _prior(ctx: SignalContext) -> dict[str, float]:
    prior = getattr(ctx.toolkit, "prior", None)
    return {} if prior is None else dict(prior.top_prior(ctx.k, ctx.candidates, ctx.excluded))


def _trans(ctx: SignalContext) -> dict[str, float]:
    prior = getattr(ctx.toolkit, "prior", None)
    return {} if prior is None else dict(prior.top_transitions(list(ctx.context), ctx.k, ctx.candidates, ctx.excluded))


def _crew(ctx: SignalContext) -> dict[str, float]:
    if not ctx.excluded:
        return {}
    return crew_scores(ctx.toolkit, ctx.context, ctx.k, ctx.candidates, ctx.excluded)


def _content(ctx: SignalContext) -> dict[str, float]:
    index = ctx.toolkit.index
    if not ctx.excluded or index is None:
        return {}
    # the candidates already leave the excluded items out; only a search of every item needs them
    exclude = ctx.excluded if ctx.candidates is None else ()
    return content_scores(index, ctx.profile, ctx.k, ctx.candidates, exclude)


def _extra(name: str) -> Any:
    def fn(ctx: SignalContext) -> dict[str, float]:
        return extra_signal_scores(
            ctx.toolkit, name, list(ctx.context), ctx.profile, ctx.k, ctx.candidates, ctx.excluded
        )

    return fn


def attr_scores(toolkit: Any, belief: Mapping[str, Any], ids: Any) -> dict[str, float]:
    """Attribute matches of ``ids`` with the liked genres, liked/disliked people and liked brands.

    Returns:
        Item id -> the mean over the parts the belief has (genre share, +1/-1 person, brand),
        between -1 and 1; empty when the belief has none.
    """
    genres = set(liked_genres(belief))  # type: ignore[arg-type]
    people = {p.lower() for p in liked_people(belief)}  # type: ignore[arg-type]
    bad_people = {p.lower() for p, v in (belief.get("people") or {}).items() if v == "dislike"}
    brands = {b.lower() for b, v in (belief.get("brands") or {}).items() if v == "like"}
    if not (genres or people or bad_people or brands):
        return {}
    items = toolkit.items()
    out: dict[str, float] = {}
    n_parts = bool(genres) + bool(people or bad_people) + bool(brands)
    for i in ids:
        item = items.get(i)
        if item is None:
            continue
        total = 0.0
        if genres:
            total += len(genres.intersection(item.genres)) / len(genres)
        if people or bad_people:
            names = toolkit.people_of(i)
            total += (1.0 if names & people else 0.0) - (1.0 if names & bad_people else 0.0)
        if brands:
            total += 1.0 if (item.brand or "").lower() in brands else 0.0
        out[i] = total / n_parts
    return out


def _attr(ctx: SignalContext) -> dict[str, float]:
    return attr_scores(ctx.toolkit, ctx.belief, [i for i in ctx.pool if i not in ctx.excluded])


#: The built-in signals in the order they run (popularity first: its items always join the pool).
BUILTIN_SIGNALS: tuple[BuiltinSignal, ...] = (
    BuiltinSignal("popularity", _popularity),
    BuiltinSignal("vector", _vector, overfetch=True),
    BuiltinSignal("cf", _cf),
    BuiltinSignal("intent", _intent, overfetch=True),
    BuiltinSignal("prior", _prior),
    BuiltinSignal("trans", _trans),
    BuiltinSignal("crew", _crew),
    BuiltinSignal("content", _content),
    *(BuiltinSignal(n, _extra(n), learned_only=True) for n in EXTRA_SIGNALS),
    BuiltinSignal("attr", _attr, pooled=True),
)

for _signal in BUILTIN_SIGNALS:
    register_signal(_signal)
