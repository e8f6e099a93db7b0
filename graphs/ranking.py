"""The deterministic recommend pipeline: candidates from every signal, fused into one ranking.

Signals (each optional; a missing tool just contributes nothing):

* ``vector`` — vector search of the soft-preference text (cosine similarity);
* ``cf`` — collaborative filtering from the liked (and disliked) items;
* ``intent`` — the LatentCRS intent scorer over the liked items and the dialogue text;
* ``popularity`` — log popularity in the catalogue;
* ``attr`` — matches of the item's attributes with the liked genres, people and brands;
* ``prior`` — how often ReDial recommenders suggest the item (train-half dialogues,
  :mod:`~crsagent.tools.prior.redial`);
* ``trans`` — how often recommenders suggested it after the items mentioned so far (same data);
* ``crew`` — directors, writers and cast shared with the items mentioned so far (:mod:`~crsagent.graphs.crew`);
* ``content`` — closeness of the item's document to the items mentioned so far (:mod:`~crsagent.graphs.content`);
* ``seq``, ``comention``, ``itemsim`` — SASRec, tuning-half co-mention and MovieLens item
  similarity (:mod:`~crsagent.graphs.features`), computed only for the learned ranker.

Items already mentioned never become candidates; :func:`echo_candidates` scores them separately
for re-mention, for the catalogue ranking the replay protocol scores (never for recommendations).

Hard constraints are applied by the product database (:func:`~crsagent.graphs.belief.belief_filter`):
only items it returns are candidates, and disliked, rejected, liked and already-mentioned items
are excluded. Each signal's scores are min-max normalised over the items it returned (an item a
signal did not return scores 0 on it), then ranked by the learned ranker when the toolkit has
one (:mod:`~crsagent.graphs.learned`, a LightGBM lambdarank build artifact), else fused as a
weighted sum with the weights of :data:`DEFAULT_WEIGHTS`, tuned on ReDial dev turns
(``docs/ranking.md``). The per-signal scores are kept with each candidate, for explanations
and for the reply prompt.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from crsagent.agent.errors import ToolInputError
from crsagent.graphs.belief import (
    Belief,
    belief_filter,
    disliked_ids,
    excluded_ids,
    liked_genres,
    liked_ids,
    liked_people,
    soft_text,
)
from crsagent.graphs.content import content_scores
from crsagent.graphs.crew import crew_scores
from crsagent.graphs.features import EXTRA_SIGNALS, extra_signal_scores

if TYPE_CHECKING:  # pragma: no cover
    from crsagent.graphs.state import Candidate
    from crsagent.tools.toolkit import Toolkit

__all__ = [
    "SIGNALS",
    "FusionWeights",
    "DEFAULT_WEIGHTS",
    "SignalTable",
    "query_text",
    "allowed_ids",
    "collect_signals",
    "fuse",
    "rank_candidates",
    "named_in",
    "echo_candidates",
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
        echo: the weight of re-mentions (:func:`echo_candidates`): items already mentioned enter
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
    echo: float = 40.0
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


#: Tuned on the ``tune`` half of the held-out ReDial dev dialogues (graphs/tuning.py); the
#: method is in docs/ranking.md, the evidence in docs/journal/2026-12-02-ranking-tuning.md.
DEFAULT_WEIGHTS = FusionWeights()


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


#: Most words of soft-preference text in the vector-search query (the latest are kept): the
#: embedding's cost grows with the length, and old statements matter less.
QUERY_WORDS = 40


def query_text(belief: Belief) -> str:
    """The vector-search text: liked genres and people, then the latest soft preferences."""
    parts = [" ".join(liked_genres(belief)), " ".join(liked_people(belief))]
    parts.append(" ".join(soft_text(belief).split()[-QUERY_WORDS:]))
    return " ".join(p for p in parts if p).strip()


_WORD = re.compile(r"[\w']+")


def named_in(person: str, text: str) -> bool:
    """Whether ``text`` names the person (full name, or a surname of 3+ letters as a word)."""
    low = f" {' '.join(_WORD.findall(text.lower()))} "
    name = " ".join(_WORD.findall(person.lower()))
    if not name:
        return False
    surname = name.split()[-1]
    return f" {name} " in low or (len(surname) >= 3 and f" {surname} " in low)


def allowed_ids(
    toolkit: Toolkit, belief: Belief, genres_hard: bool = True, people_hard: bool = False, recent: str | None = None
) -> list[str] | None:
    """Item ids that satisfy the hard constraints, or None when nothing but exclusions applies.

    A person constraint that leaves nothing once the excluded items are gone is dropped (the
    user asked for someone's films and has seen them all: the rest of the wishes still hold).
    With ``recent`` (the user's latest message) it holds only while that message names the
    person: "something with Tom Hanks" asks for his films now, while a star liked turns ago
    only boosts (``attr``, ``crew``).
    """
    if people_hard and recent is not None:
        latest = liked_people(belief)[-1:]
        people_hard = bool(latest) and named_in(latest[0], recent)
    f = belief_filter(belief, exclude=False, genres_hard=genres_hard, people_hard=people_hard)
    if f.is_empty():
        return None
    ids = toolkit.filter_ids(f)
    if f.people and not set(ids) - set(excluded_ids(belief)):
        return allowed_ids(toolkit, belief, genres_hard, people_hard=False)
    return ids


def _attr_scores(toolkit: Toolkit, belief: Belief, ids: Sequence[str]) -> dict[str, float]:
    genres = set(liked_genres(belief))
    people = {p.lower() for p in liked_people(belief)}
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


def collect_signals(
    toolkit: Toolkit,
    belief: Belief,
    dialogue_text: str = "",
    *,
    pool: int = POOL,
    text: str | None = None,
    genres_hard: bool = True,
    people_hard: bool = False,
    skip: frozenset[str] = frozenset(),
    recent: str | None = None,
) -> SignalTable:
    """Run every available signal over the items that satisfy the hard constraints.

    Args:
        toolkit: the domain's tools.
        belief: the current belief.
        dialogue_text: the user's recent words (for the intent scorer).
        pool: how many items each signal contributes.
        text: the vector-search text (default :func:`query_text`).
        genres_hard: liked genres filter the candidates (else they only feed ``attr``/``vector``).
        people_hard: the most recently liked person filters the candidates.
        skip: signals not to compute (those fused with weight 0; the extra signals of the
            learned ranker, :data:`~crsagent.graphs.features.EXTRA_SIGNALS`, unless it uses them).
        recent: the user's latest message; the person filter then holds only while it names
            the person (see :func:`allowed_ids`).

    Returns:
        The raw per-signal scores and the candidate pool.
    """
    allowed = allowed_ids(toolkit, belief, genres_hard, people_hard, recent)
    context = excluded_ids(belief)  # the dialogue's items, in order (sums over them stay deterministic)
    excluded = set(context)
    cand = None if allowed is None else [i for i in allowed if i not in excluded]
    table = SignalTable()
    if cand is not None and not cand:
        return table
    k = min(pool, len(cand)) if cand is not None else pool
    liked = [i for i in liked_ids(belief) if toolkit.has(i)]
    disliked = [i for i in disliked_ids(belief) if toolkit.has(i)]

    # popularity: the most popular allowed items always join the pool
    popular = cand if cand is not None else toolkit.ids_by_popularity()
    top_pop = list(itertools.islice((i for i in popular if i not in excluded), k))
    pop = toolkit.popularity_map()
    table.add("popularity", {i: pop.get(i, 0.0) for i in top_pop})

    text = query_text(belief) if text is None else text
    if text and toolkit.index is not None and "vector" not in skip:
        hits = toolkit.index.query_scores(text, k=min(k + len(excluded), 1000), candidate_ids=cand)
        table.add("vector", {i: v for i, v in hits.items() if i not in excluded})
    if liked and toolkit.cf is not None and "cf" not in skip:
        table.add("cf", toolkit.cf.recommend_scores(liked, disliked, k=k, candidate_ids=cand, exclude=sorted(excluded)))
    if "intent" not in skip and toolkit.intent is not None and (liked or dialogue_text.strip()):
        try:
            intents, scored = toolkit.intent.score_pairs(
                liked, dialogue_text, k=min(k + len(excluded), 1000), candidate_ids=cand
            )
        except ToolInputError:
            intents, scored = [], None
        if scored is not None:
            table.add("intent", {i: v for i, v in scored.items() if i not in excluded})
            if intents:
                table.intent_label = str(_intent_label(intents[0]))
    prior = getattr(toolkit, "prior", None)
    if prior is not None and "prior" not in skip:
        table.add("prior", prior.top_prior(k, cand, excluded))
    if prior is not None and "trans" not in skip:
        table.add("trans", prior.top_transitions(context, k, cand, excluded))
    if "crew" not in skip and excluded:
        table.add("crew", crew_scores(toolkit, context, k, cand, excluded))
    if "content" not in skip and excluded and toolkit.index is not None:
        bad = set(disliked)
        profile = [i for i in context if i not in bad]
        # the candidates already leave the excluded items out; only a search of every item needs them
        table.add("content", content_scores(toolkit.index, profile, k, cand, excluded if cand is None else ()))
    bad_ids = set(disliked)
    profile = [i for i in context if i not in bad_ids]
    for name in EXTRA_SIGNALS:
        if name not in skip:
            table.add(name, extra_signal_scores(toolkit, name, context, profile, k, cand, excluded))
    if "attr" not in skip:
        table.add("attr", _attr_scores(toolkit, belief, table.pool))
    # every pooled item gets its popularity, so the signal is defined over the whole pool
    table.scores["popularity"] = {i: pop.get(i, 0.0) for i in table.pool}
    return table


def _intent_label(intent: Any) -> str:
    if isinstance(intent, (tuple, list)):
        return str(intent[-1])
    return str(getattr(intent, "label", intent))


def _normalised(scores: Mapping[str, float]) -> dict[str, float]:
    vals = [v for v in scores.values() if math.isfinite(v)]
    if not vals:
        return {}
    lo, hi = min(vals), max(vals)
    if hi - lo < 1e-12:
        return {i: (1.0 if hi > 0 else 0.0) for i in scores}
    return {i: (v - lo) / (hi - lo) if math.isfinite(v) else 0.0 for i, v in scores.items()}


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
    w = weights.as_dict()
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
    weights: FusionWeights = DEFAULT_WEIGHTS,
    recent: str | None = None,
) -> tuple[list[Candidate], str | None]:
    """The recommend pipeline: collect signals, rank (learned ranker or fusion), keep the top ``k``.

    With a learned ranker (``toolkit.ranker`` and ``weights.learned``) the signals its features
    need are collected and the model ranks the pool (:func:`~crsagent.graphs.learned.learned_rank`);
    otherwise the signals with a weight are fused. ``recent`` is the user's latest message (it
    scopes the person filter, :func:`allowed_ids`).

    Returns:
        (candidates best first, the top intent label or None).
    """
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
        from crsagent.graphs.learned import learned_rank

        return learned_rank(toolkit, ranker, table, belief, k), table.intent_label
    return fuse(table, weights, k), table.intent_label


def learned_ranker(toolkit: Toolkit, weights: FusionWeights = DEFAULT_WEIGHTS) -> Any:
    """The toolkit's learned ranker when the weights ask for it, else None."""
    return getattr(toolkit, "ranker", None) if weights.learned else None


def skipped_signals(weights: FusionWeights, ranker: Any = None) -> frozenset[str]:
    """Signals not to compute: for the fusion, those with weight 0 and the extra signals; for a
    learned ranker, those its features do not use and those switched off (default weight above
    0, weight 0 here)."""
    w = weights.as_dict()
    if ranker is None:
        return frozenset({n for n, v in w.items() if v == 0 and n != "popularity"} | set(EXTRA_SIGNALS))
    used = {f.removesuffix("_raw") for f in ranker.features}
    default = DEFAULT_WEIGHTS.as_dict()
    off = {n for n, v in w.items() if v == 0 and default.get(n, 0) != 0 and n != "popularity"}
    return frozenset({n for n in (*SIGNALS, *EXTRA_SIGNALS) if n not in used and n != "popularity"} | off)


def echo_candidates(toolkit: Toolkit, belief: Belief, weights: FusionWeights = DEFAULT_WEIGHTS) -> list[Candidate]:
    """Items already mentioned, scored by how often recommenders come back to them.

    ReDial recommenders often talk again about the film the seeker just named or asked about;
    the replay protocol ranks the whole catalogue, so those re-mentions count there. The score is
    ``weights.echo`` times the item's re-mention rate (by how recently it was first mentioned,
    :meth:`~crsagent.tools.prior.redial.RedialPrior.echo`), on the fused score's scale so the two
    lists merge (:func:`catalogue_ranking`). Rejected items are left out.

    Returns:
        Echo candidates, best first (``signals`` holds ``echo``); empty when the weight is 0 or
        the toolkit has no ReDial prior.
    """
    prior = getattr(toolkit, "prior", None)
    if not weights.echo or prior is None:
        return []
    ranker = learned_ranker(toolkit, weights)
    if ranker is not None:
        from crsagent.graphs.learned import learned_echoes

        return learned_echoes(toolkit, ranker, belief)
    rejected = set(belief.get("rejected") or [])
    mentioned = [i for i in belief.get("mentioned") or [] if i not in rejected and toolkit.has(i)]
    rates = prior.echo(mentioned)
    out: list[Candidate] = [
        {"item_id": i, "score": round(weights.echo * v, 6), "signals": {"echo": round(v, 6)}} for i, v in rates.items()
    ]
    out.sort(key=lambda c: -c["score"])
    return out


def catalogue_ranking(candidates: Sequence[Candidate], echoes: Sequence[Candidate]) -> list[Candidate]:
    """The fused candidates and the echo candidates in one list by score (stable: at equal
    scores a fused candidate stays first)."""
    if not echoes:
        return list(candidates)
    return sorted([*candidates, *echoes], key=lambda c: -c["score"])
