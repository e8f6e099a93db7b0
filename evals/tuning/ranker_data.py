"""Training and evaluation rows of the learned ranker, read from ReDial dev turns.

Each turn's context is read the way the ``crs-only`` graph reads a history (deterministic
understanding), its signals are collected once (:func:`~crsagent.graphs.ranking.collect_signals`)
and its re-mentions scored (:func:`~crsagent.graphs.ranking.learned.remention_inputs`); the rows are the
pool and the re-mentions (:func:`~crsagent.graphs.ranking.features.feature_rows`), labelled 1 when the
item is one of the turn's ground-truth titles (the plain replay protocol's samples).

Out-of-fold priors: the ``prior``, ``trans`` and ``comention`` counts and the re-mention rates
are learned from the ``train`` (tuning) half, so on its own turns they would remember the
answer. :func:`fold_toolkits` gives each of :data:`FOLDS` folds of that half a toolkit whose
ReDial prior was learned without the fold; :func:`collect_rows` reads each training turn with
its fold's toolkit.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crsagent.agent.errors import DataError
from crsagent.graphs.ranking.features import FEATURES, feature_rows

__all__ = ["FOLDS", "TurnRows", "fold_of", "fold_toolkits", "collect_rows", "stack", "rank_of", "evaluate_rows"]

#: Folds of the tuning half for the out-of-fold priors.
FOLDS = 4


def fold_of(dialog_id: str, folds: int = FOLDS) -> int:
    """The fold of a dialogue: the third byte of the SHA-256 of its id, modulo ``folds``."""
    return hashlib.sha256(str(dialog_id).strip().encode()).digest()[2] % folds


@dataclass
class TurnRows:
    """One turn's feature rows.

    Attributes:
        dialog_id: the ReDial conversation id.
        ids: row item ids (the pool, then the re-mentions).
        matrix: ``(rows, len(FEATURES))``.
        labels: 1 for a ground-truth item, else 0.
        gold: each sample's item id (None: unmapped), in the turn's order.
        mentioned: items mentioned before the turn (the dedup protocol drops their samples).
        popularity: ``(rows,)`` for tie-breaks.
    """

    dialog_id: str
    ids: list[str]
    matrix: np.ndarray
    labels: np.ndarray
    gold: list[str | None]
    mentioned: frozenset[str]
    popularity: np.ndarray


def fold_toolkits(toolkit: Any, data_dir: Path, folds: int = FOLDS) -> dict[int, Any]:
    """Per fold of the tuning half, the toolkit whose ReDial evidence leaves that fold out.

    The ReDial prior (suggestions, transitions, co-mentions, re-mention rates) is learned from the
    other folds, and the catalogue popularity and the prior's smoothing base count the mentions
    of the other folds only (rescaled to the mentions file's total, as
    :func:`~crsagent.evals.leakage.leak_free_settings` rescales the half's counts); the
    candidates the database returns are re-ordered by that popularity.
    """
    from crsagent.evals.leakage import item_mentions, message_mentions
    from crsagent.tools.cf.data import redial_dialogues
    from crsagent.tools.intent.split import TRAIN, dialogue_split
    from crsagent.tools.prior.redial import learn_prior, read_mentions, rescaled_base

    dialogues = redial_dialogues(Path(data_dir))
    id_map = toolkit.db.source_map("redial")
    path = Path(data_dir) / "redial" / "movies_with_mentions.csv"
    total = sum(read_mentions(path).values()) if path.exists() else 0.0
    items = toolkit.items()
    out: dict[int, Any] = {}
    for f in range(folds):

        def keep(cid: str, f: int = f) -> bool:
            return fold_of(cid, folds) != f

        prior = learn_prior(dialogues, id_map, keep=keep)

        def train_kept(c: str, keep: Callable[[str], bool] = keep) -> bool:
            return dialogue_split(c) == TRAIN and keep(c)

        counts = message_mentions(dialogues, train_kept)
        scale = total / max(sum(counts.values()), 1)
        scaled = {rid: round(c * scale) for rid, c in counts.items()}
        prior.base = rescaled_base(scaled, id_map, sum(prior.suggested.values())) if scaled else {}
        twin = toolkit.with_handles(prior=prior)
        per_item = item_mentions(scaled, id_map)
        pop = {i: float(it.rating_count) + round(per_item.get(i, 0.0)) for i, it in items.items()}
        denom = math.log1p(max(max(pop.values(), default=0.0), 0.0)) or 1.0
        twin._pop_norm = {i: math.log1p(max(v, 0.0)) / denom for i, v in pop.items()}
        twin._by_pop = sorted(pop, key=lambda i: (-pop[i], i))
        order = {i: r for r, i in enumerate(twin._by_pop)}
        shared = toolkit.filter_ids  # the database orders matches by its own (whole-half) popularity

        def filter_ids(flt: Any, shared: Any = shared, order: dict[str, int] = order) -> list[str]:
            return sorted(shared(flt), key=lambda x: order.get(x, len(order)))

        twin.filter_ids = filter_ids
        out[f] = twin
    return out


def collect_rows(
    toolkit_for: Callable[[Any], Any],
    turns: Iterable[Any],
    resolver: Any,
    *,
    skip: frozenset[str] = frozenset(),
    on_turn: Callable[[], None] | None = None,
) -> list[TurnRows]:
    """Feature rows of every scorable turn (a context with a seeker line and a mapped title).

    Args:
        toolkit_for: the toolkit to read a turn with (out-of-fold priors for tuning-half turns).
        turns: ReDial turns (:class:`~crsagent.evals.datasets.ReplayTurn`).
        resolver: the title resolver of the replay.
        skip: signals not to compute (``intent`` unless the ablation wants it).
        on_turn: called after each turn (progress).
    """
    from langchain_core.messages import AIMessage, HumanMessage

    from crsagent.evals.datasets import context_to_messages
    from crsagent.graphs.context import CRSContext
    from crsagent.graphs.dialogue.belief import excluded_ids, liked_ids
    from crsagent.graphs.dialogue.prompting import dialogue_text
    from crsagent.graphs.nodes.understand import make_understand
    from crsagent.graphs.ranking import POOL, collect_signals
    from crsagent.graphs.ranking.learned import remention_inputs
    from crsagent.graphs.variants import VARIANT_SPECS

    understand = make_understand(VARIANT_SPECS["crs-only"])
    out: list[TurnRows] = []
    for turn in turns:
        if on_turn is not None:
            on_turn()
        gold = [resolver.resolve(t) for t in turn.rec]
        if not any(gold):
            continue
        try:
            msgs = context_to_messages(turn.context)
        except DataError:
            continue
        tk = toolkit_for(turn)
        lc: list[Any] = [
            HumanMessage(content=m.content) if m.role == "user" else AIMessage(content=m.content) for m in msgs
        ]
        rt: Any = _Runtime(CRSContext(toolkit=tk))  # the node reads only .context and .store
        belief = understand({"messages": lc}, rt)["belief"]
        recent = dialogue_text(lc, 1)
        table = collect_signals(
            tk, belief, dialogue_text(lc, 6), pool=POOL, genres_hard=True, people_hard=True, skip=skip, recent=recent
        )
        rementions = remention_inputs(tk, belief)
        ids, m, _ = feature_rows(
            table, rementions, tk.popularity_map(), len(excluded_ids(belief)), len(liked_ids(belief))
        )
        wanted = {g for g in gold if g}
        labels = np.array([1.0 if i in wanted else 0.0 for i in ids])
        pop = tk.popularity_map()
        mentioned = frozenset(resolver.mentioned_ids(turn.context, turn.entity, turn.rec))
        out.append(
            TurnRows(
                str(turn.dialog_id),
                ids,
                m.astype(np.float32),
                labels,
                gold,
                mentioned,
                np.array([pop.get(i, 0.0) for i in ids]),
            )
        )
    return out


class _Runtime:
    def __init__(self, context: Any) -> None:
        self.context = context
        self.store = None


def stack(
    rows: Sequence[TurnRows], columns: Sequence[int] | None = None, positives_only: bool = True
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``(matrix, labels, group sizes)`` of turns (those with a labelled row, by default)."""
    keep = [r for r in rows if r.matrix.shape[0] and (not positives_only or r.labels.any())]
    if not keep:
        return np.zeros((0, len(columns) if columns is not None else len(FEATURES))), np.zeros(0), []
    m = np.concatenate([r.matrix for r in keep])
    if columns is not None:
        m = m[:, list(columns)]
    return m, np.concatenate([r.labels for r in keep]), [r.matrix.shape[0] for r in keep]


def rank_of(scores: np.ndarray, popularity: np.ndarray, row: int) -> int:
    """1-based rank of a row by score, ties broken by popularity (as the serving ranking)."""
    s = scores[row]
    better = int((scores > s + 1e-9).sum())
    ties = int(((np.abs(scores - s) <= 1e-9) & (popularity > popularity[row])).sum())
    return 1 + better + ties


def evaluate_rows(
    rows: Sequence[TurnRows], score: Callable[[np.ndarray], np.ndarray], ks: Sequence[int] = (1, 10, 50)
) -> dict[str, float]:
    """Offline Recall@k of a scorer: plain (every sample) and dedup (samples not mentioned before).

    An item outside the rows is a miss. ``n`` and ``dedup_n`` count the samples of the rows'
    turns (turns without a mapped title are not in the rows).
    """
    hits = {k: 0 for k in ks}
    dhits = {k: 0 for k in ks}
    n = dn = 0
    for r in rows:
        scores = score(r.matrix) if r.matrix.shape[0] else np.zeros(0)
        where = {i: j for j, i in enumerate(r.ids)}
        for g in r.gold:
            n += 1
            dedup = g is not None and g not in r.mentioned
            dn += dedup
            j = where.get(g) if g is not None else None
            if j is None:
                continue
            rank = rank_of(scores, r.popularity, j)
            for k in ks:
                hits[k] += rank <= k
                dhits[k] += dedup and rank <= k
    out = {f"recall@{k}": round(hits[k] / max(n, 1), 4) for k in ks}
    out.update({f"dedup_recall@{k}": round(dhits[k] / max(dn, 1), 4) for k in ks})
    out.update({"n": n, "dedup_n": dn})
    return out
