"""Tuning the fusion weights on ReDial dev turns (the evidence behind ``DEFAULT_WEIGHTS``).

Splits (by dialogue, :func:`tuning_split`): the intent model and the CF co-mention users train
on the ``train`` half of ``data/redial/dev_turns.jsonl``
(:func:`crsagent.tools.intent.split.dialogue_split`), so its signals are optimistic there and
tuning on it over-weights them. The weights are therefore tuned on ``tune`` — half of the
held-out dialogues — and checked on ``check``, the other half, which stays clean for replay
evaluation together with nothing else seen. For each turn the context is read the way the
``crs-only`` graph reads a history (deterministic understanding), every signal is collected
once, and every weight combination of a grid is scored in one matrix product: the rank of each
ground-truth item in the fused ranking. Samples follow the *filtered* replay protocol: a
ground-truth title already mentioned in the context is dropped (the agent never re-recommends
mentioned items). Ties break by popularity, as in :func:`~crsagent.graphs.ranking.fuse`.
The chosen row has the highest Recall@10 + Recall@50 on ``tune`` (ties: Recall@1, then the later grid row).

The ``prior`` and ``trans`` signals (:mod:`crsagent.tools.prior.redial`) are learned from the
``train`` half too. The person filter is scoped to the seeker's latest message, as in the agent.
The re-mention weight (``remention``) is tuned separately on the plain protocol
(:mod:`crsagent.evals.tuning.remention`). ``--extra NAME`` adds an experimental signal (:func:`prior_extras`) as a
further column, its weight gridded over :data:`EXTRA_GRID`, and reports the best rows with and
without it: the collected turns are cached (``--cache``), so an experiment costs only the grid.

Run: ``crsagent eval tune weights --json out/ranking-tuning.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

from crsagent.agent.errors import DataError
from crsagent.agent.settings import Settings
from crsagent.evals.leakage import MENTION_SOURCES, leak_free_settings
from crsagent.graphs.context import CRSContext
from crsagent.graphs.dialogue.belief import Belief
from crsagent.graphs.dialogue.prompting import dialogue_text
from crsagent.graphs.nodes.understand import make_understand
from crsagent.graphs.ranking import (
    DEFAULT_WEIGHTS,
    POOL,
    SIGNALS,
    FusionWeights,
    SignalTable,
    collect_signals,
    fuse,
)
from crsagent.graphs.variants import VARIANT_SPECS

__all__ = [
    "TurnSignals",
    "RawTurn",
    "GRID",
    "EXTRA_GRID",
    "SPLITS",
    "tuning_split",
    "collect_turns",
    "cached_turns",
    "to_signals",
    "prior_extras",
    "evaluate",
    "grid_weights",
    "main",
]

#: The weight grid searched (signals in ``SIGNALS`` order).
GRID: dict[str, tuple[float, ...]] = {
    "vector": (0.0, 0.1),
    "cf": (0.5, 1.0, 2.0, 3.0),
    # intent > 0 runs the intent scorer every turn (4x the turn time) and its label in the
    # explanations fails the explanation check; it also wins nothing on ``check``
    # (docs/journal/2026-12-02-ranking-tuning.md)
    "intent": (0.0,),
    "popularity": (3.0, 4.0, 5.0, 6.0, 8.0),
    # attr below 3 wins ReDial turns by a sample or two but loses attribute precision with the
    # agenda-simulated users, who state genres, decades and people (docs/journal/2026-12-02-ranking-tuning.md, run 5)
    "attr": (3.0, 4.0, 5.0),
    "prior": (0.0, 0.25, 0.5),
    "trans": (1.5, 3.0, 5.0),
    "crew": (0.0, 2.0, 3.0, 4.0, 6.0),
    "content": (0.0, 1.0, 2.0, 3.0, 4.0),
}
#: Weights tried for an experimental extra signal (``--extra``), on top of :data:`GRID`.
EXTRA_GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
KS = (1, 10, 50)
_COUNTS_KEY = "_mention_counts"  # the cache's record of the counts its turns were read with
SPLITS: tuple[str, ...] = ("train", "tune", "check")


def tuning_split(dialog_id: str) -> str:
    """``train`` (the models' half), ``tune`` or ``check`` (halves of the held-out dialogues).

    ``tune``/``check`` is decided by the second byte of the SHA-256 of the dialogue id (even:
    ``tune``), independent of the first byte that decides ``train``/``heldout``.
    """
    import hashlib

    from crsagent.tools.intent.split import TRAIN, dialogue_split

    if dialogue_split(dialog_id) == TRAIN:
        return "train"
    digest = hashlib.sha256(str(dialog_id).strip().encode()).digest()
    return "tune" if digest[1] % 2 == 0 else "check"


@dataclass
class TurnSignals:
    """One turn's normalised signal matrix and where its ground-truth items sit.

    Attributes:
        matrix: ``(pool, len(SIGNALS))`` normalised scores, as :func:`fuse` computes them.
        popularity: ``(pool,)`` for tie-breaks.
        targets: the pool row of each ground-truth sample, -1 when the item is not in the pool.
    """

    matrix: np.ndarray
    popularity: np.ndarray
    targets: list[int]


class _Runtime:
    def __init__(self, context: CRSContext) -> None:
        self.context = context
        self.store = None


def _matrix(table: SignalTable, signals: Sequence[str] = SIGNALS) -> tuple[np.ndarray, np.ndarray, list[str]]:
    fused = fuse(table, FusionWeights(), k=len(table.pool))
    index = {c["item_id"]: k for k, c in enumerate(fused)}
    m = np.zeros((len(fused), len(signals)), dtype=np.float64)
    for c in fused:
        for j, s in enumerate(signals):
            m[index[c["item_id"]], j] = c["signals"].get(s, 0.0)
    order = [c["item_id"] for c in fused]
    pop = np.array([table.scores.get("popularity", {}).get(i, 0.0) for i in order])
    return m, pop, order


@dataclass
class RawTurn:
    """One turn's collected signals before fusion (what the expensive models produced).

    Attributes:
        table: the raw per-signal scores (:func:`~crsagent.graphs.ranking.collect_signals`).
        belief: the belief the ``crs-only`` understanding read from the context.
        gold: each scorable sample's item id (None: the title did not map).
        recent: the seeker's latest message (it scopes the person filter).
    """

    table: SignalTable
    belief: Belief
    gold: list[str | None]
    recent: str | None = None


#: An extra signal for :func:`to_signals`: ``(belief, candidates or None, excluded, k)`` -> scores.
ExtraSignal = Callable[[Belief, "list[str] | None", "set[str]", int], dict[str, float]]


def collect_turns(
    toolkit: Any,
    turns: Iterable[Any],
    resolver: Any,
    *,
    genres_hard: bool,
    people_hard: bool = False,
    limit: int | None = None,
) -> list[RawTurn]:
    """Read each turn's context and collect its signals once (the expensive part of tuning).

    Returns:
        One entry per turn that has at least one scorable (not already mentioned) sample.
    """
    from crsagent.evals.datasets import context_to_messages

    understand = make_understand(VARIANT_SPECS["crs-only"])
    rt: Any = _Runtime(CRSContext(toolkit=toolkit))  # the node reads only .context and .store
    out: list[RawTurn] = []
    for n, turn in enumerate(turns):
        if limit is not None and n >= limit:
            break
        gold = [resolver.resolve(t) for t in turn.rec]
        mentioned = resolver.mentioned_ids(turn.context, turn.entity, turn.rec)
        gold = [g for g in gold if g is None or g not in mentioned]
        if not gold:
            continue
        try:
            msgs = context_to_messages(turn.context)
        except DataError:  # a context without a seeker line is not scorable
            continue
        lc: list[AnyMessage] = [
            HumanMessage(content=m.content) if m.role == "user" else AIMessage(content=m.content) for m in msgs
        ]
        upd = understand({"messages": lc}, rt)
        belief = upd["belief"]
        recent = dialogue_text(lc, 1)
        table = collect_signals(
            toolkit,
            belief,
            dialogue_text(lc, 6),
            pool=POOL,
            genres_hard=genres_hard,
            people_hard=people_hard,
            recent=recent,
        )
        out.append(RawTurn(table, Belief(**belief), gold, recent))
    return out


def to_signals(
    toolkit: Any,
    raw: Sequence[RawTurn],
    *,
    genres_hard: bool,
    people_hard: bool = False,
    extras: Mapping[str, ExtraSignal] | None = None,
) -> list[TurnSignals]:
    """Signal matrices of collected turns, with optional extra signals as further columns.

    An extra signal is computed over the same candidates as the others (the items that satisfy
    the hard constraints, minus the excluded ones), contributes up to ``POOL`` items to the pool
    (their ``attr`` and ``popularity`` are then computed too, as
    :func:`~crsagent.graphs.ranking.collect_signals` would) and is min-max normalised like
    ``cf``. Columns: ``SIGNALS`` then the extras in order.
    """
    from crsagent.graphs.dialogue.belief import excluded_ids
    from crsagent.graphs.ranking import allowed_ids
    from crsagent.graphs.ranking.builtin import attr_scores

    extras = dict(extras or {})
    signals = tuple(SIGNALS) + tuple(e for e in extras if e not in SIGNALS)
    pop = toolkit.popularity_map()
    out: list[TurnSignals] = []
    for r in raw:
        table = r.table
        if extras:
            scores = {name: dict(v) for name, v in r.table.scores.items()}
            table = SignalTable(scores, list(r.table.pool), r.table.intent_label)
            allowed = allowed_ids(toolkit, r.belief, genres_hard, people_hard, r.recent)
            excluded = set(excluded_ids(r.belief))
            cand = None if allowed is None else [i for i in allowed if i not in excluded]
            if cand is None or cand:
                k = min(POOL, len(cand)) if cand is not None else POOL
                before = set(table.pool)
                for name, fn in extras.items():
                    table.add(name, fn(r.belief, cand, excluded, k))
                new = [i for i in table.pool if i not in before]
                attr = attr_scores(toolkit, r.belief, new) if new else {}
                if attr:
                    table.scores.setdefault("attr", {}).update(attr)
                table.scores["popularity"] = {i: pop.get(i, 0.0) for i in table.pool}
        if not table.pool:
            out.append(TurnSignals(np.zeros((0, len(signals))), np.zeros(0), [-1] * len(r.gold)))
            continue
        m, p, order = _matrix(table, signals)
        row = {i: k for k, i in enumerate(order)}
        out.append(TurnSignals(m, p, [row.get(g, -1) if g else -1 for g in r.gold]))
    return out


def prior_extras(toolkit: Any, data_dir: Path, names: Sequence[str]) -> dict[str, ExtraSignal]:
    """Experimental variants of the ReDial prior signals (:mod:`crsagent.tools.prior.redial`) by name.

    Names: ``prior0`` (train-half suggestion counts without the corpus-mention smoothing of
    ``prior``), ``trans_liked`` (transitions from the liked items only, not every context item
    as ``trans``). ``prior`` and ``trans`` themselves are ranking signals (``SIGNALS``).
    """
    from crsagent.graphs.dialogue.belief import liked_ids
    from crsagent.tools.prior.redial import load_prior

    prior = toolkit.prior or load_prior(data_dir, toolkit.db.source_map("redial"))

    def prior0(belief: Belief, cand: list[str] | None, excluded: set[str], k: int) -> dict[str, float]:
        return prior.top_prior(k, cand, excluded, smoothing=0.0)

    def trans_liked(belief: Belief, cand: list[str] | None, excluded: set[str], k: int) -> dict[str, float]:
        return prior.top_transitions(liked_ids(belief), k, cand, excluded)

    table: dict[str, ExtraSignal] = {"prior0": prior0, "trans_liked": trans_liked}
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"unknown extra signal(s) {unknown}; use {sorted(table)}")
    return {n: table[n] for n in names}


def grid_weights(grid: Mapping[str, Sequence[float]] = GRID, signals: Sequence[str] = SIGNALS) -> np.ndarray:
    """Every weight combination of a grid, ``(combos, len(signals))``."""
    return np.array(list(itertools.product(*(grid[s] for s in signals))), dtype=np.float64)


def evaluate(data: Sequence[TurnSignals], weights: np.ndarray, ks: Sequence[int] = KS) -> np.ndarray:
    """Recall@k of every weight row: ``(combos, len(ks))``."""
    hits = np.zeros((weights.shape[0], len(ks)))
    samples = 0
    for t in data:
        samples += len(t.targets)
        if t.matrix.shape[0] == 0:
            continue
        scores = t.matrix @ weights.T  # (pool, combos)
        for r in t.targets:
            if r < 0:
                continue
            s = scores[r]
            better = (scores > s + 1e-12).sum(axis=0)
            ties = ((np.abs(scores - s) <= 1e-12) & (t.popularity[:, None] > t.popularity[r])).sum(axis=0)
            rank = 1 + better + ties
            for j, k in enumerate(ks):
                hits[:, j] += rank <= k
    return hits / max(samples, 1)


def cached_turns(path: Path | None, mention_counts: str) -> dict[str, Any]:
    """The collected turns of an earlier run (``--cache``), by mode, when they were read with the
    same mention counts; else an empty cache (a cache written before the counts were recorded was
    read with the corpus counts). The returned dict records ``mention_counts``."""
    cached: dict[str, Any] = {}
    if path is not None and path.exists():
        cached = pickle.loads(path.read_bytes())
        if cached.get(_COUNTS_KEY, "corpus") != mention_counts:  # read with other counts: collect again
            cached = {}
    cached[_COUNTS_KEY] = mention_counts
    return cached


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Tune on ``tune``, report the chosen weights on every split; print and save JSON."""
    import torch

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--limit", type=int, default=None, help="at most this many turns per split")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=None, help="pickle of the collected turns (reused when present)")
    ap.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="SIGNAL",
        help="an experimental extra signal (prior, prior0, trans, trans_liked; repeatable), weights EXTRA_GRID",
    )
    ap.add_argument("--default-mode-only", action="store_true", help="skip the soft-constraint alternatives")
    ap.add_argument(
        "--mention-counts",
        default="train-half",
        choices=MENTION_SOURCES,
        help="ReDial mention counts behind popularity and the prior's smoothing (as eval replay's)",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # one short text at a time: one thread is ~10x faster on a busy CPU
    with tempfile.TemporaryDirectory(prefix="crsagent-tune-") as work:
        # the counts replay scores with: by default none from an evaluated dialogue
        settings = leak_free_settings(Settings.from_env(), args.mention_counts, Path(work))
        return _tune(args, settings)


def _tune(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """:func:`main` once the settings are read (the grid search and its report)."""
    from crsagent.evals.datasets import TitleResolver, load_turns
    from crsagent.tools.toolkit import Toolkit

    tk = Toolkit.load(settings, "movies", eager=True, cache=False)
    resolver = TitleResolver.from_catalog(settings, "movies", tk.items().values())
    turns = load_turns(settings.data_dir / "redial" / "dev_turns.jsonl")
    splits = {h: [t for t in turns if tuning_split(t.dialog_id) == h] for h in SPLITS}
    extras = prior_extras(tk, settings.data_dir, args.extra) if args.extra else {}
    signals = tuple(SIGNALS) + tuple(e for e in extras if e not in SIGNALS)
    grid = grid_weights({**GRID, **{e: EXTRA_GRID for e in extras}}, signals)
    plain = np.all(grid[:, len(SIGNALS) :] == 0, axis=1)  # rows without the extra signals
    report: dict[str, Any] = {
        "tuned_on": "tune",
        "mention_counts": args.mention_counts,
        "turns": {h: len(v) for h, v in splits.items()},
        "ks": list(KS),
        "signals": list(signals),
    }
    results: dict[str, Any] = {}
    t0 = time.time()
    cached = cached_turns(args.cache, args.mention_counts)
    # the default mode on every split; the alternatives on ``tune`` only
    modes = {"genres+people hard": (True, True), "genres hard, people soft": (True, False), "soft": (False, False)}
    if args.default_mode_only:
        modes = {k: v for k, v in modes.items() if k == "genres+people hard"}

    def named(row: np.ndarray) -> dict[str, float]:
        return dict(zip(signals, row.tolist(), strict=True))

    def pick(rec: np.ndarray, rows: np.ndarray) -> int:
        idx = np.flatnonzero(rows)
        sub = rec[idx]
        # Recall@10 + Recall@50 (both are targets of the replay), then Recall@1
        return int(idx[np.lexsort((sub[:, 0], sub[:, 1] + sub[:, 2]))[-1]])

    for key, (g_hard, p_hard) in modes.items():
        wanted = SPLITS if key == "genres+people hard" else ("tune",)
        raw = cached.get(key) or {
            h: collect_turns(tk, splits[h], resolver, genres_hard=g_hard, people_hard=p_hard, limit=args.limit)
            for h in wanted
        }
        cached[key] = raw
        data = {h: to_signals(tk, r, genres_hard=g_hard, people_hard=p_hard, extras=extras) for h, r in raw.items()}
        rec = evaluate(data["tune"], grid)
        best = pick(rec, np.ones(len(grid), dtype=bool))
        best_plain = pick(rec, plain)
        top = np.argsort(-rec[:, 1], kind="stable")[:10]
        default_row = np.array([[DEFAULT_WEIGHTS.as_dict().get(s, 0.0) for s in signals]])
        results[key] = {
            "samples": {h: sum(len(t.targets) for t in d) for h, d in data.items()},
            "best": named(grid[best]),
            "best_recall": {h: evaluate(d, grid[best : best + 1])[0].round(4).tolist() for h, d in data.items()},
            "default_recall": {h: evaluate(d, default_row)[0].round(4).tolist() for h, d in data.items()},
            "top10": [{"weights": named(grid[i]), "recall": rec[i].round(4).tolist()} for i in top],
            "single_signal": {
                h: {s: evaluate(d, np.eye(len(signals))[j : j + 1])[0].round(4).tolist() for j, s in enumerate(signals)}
                for h, d in data.items()
            },
        }
        if extras:
            results[key]["best_without_extras"] = named(grid[best_plain])
            results[key]["best_without_extras_recall"] = {
                h: evaluate(d, grid[best_plain : best_plain + 1])[0].round(4).tolist() for h, d in data.items()
            }
            # the default weights plus each extra signal alone at its best weight on ``tune``
            for j, e in enumerate(signals[len(SIGNALS) :], start=len(SIGNALS)):
                rows = np.repeat(default_row, len(EXTRA_GRID), axis=0)
                rows[:, j] = EXTRA_GRID
                r_tune = evaluate(data["tune"], rows)
                b = int(np.lexsort((r_tune[:, 0], r_tune[:, 2], r_tune[:, 1]))[-1])
                results[key][f"default_plus_{e}"] = {
                    "weight": EXTRA_GRID[b],
                    "recall": {h: evaluate(d, rows[b : b + 1])[0].round(4).tolist() for h, d in data.items()},
                }
    report["results"] = results
    if args.cache is not None:
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        args.cache.write_bytes(pickle.dumps(cached))
    report["seconds"] = round(time.time() - t0, 1)
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)
    return report


if __name__ == "__main__":  # pragma: no cover
    main()
