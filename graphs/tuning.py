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

Run: ``python -m crsagent.graphs.tuning --json out/ranking-tuning.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from crsagent.agent.errors import DataError
from crsagent.agent.settings import Settings
from crsagent.graphs.context import CRSContext
from crsagent.graphs.nodes.understand import make_understand
from crsagent.graphs.prompting import dialogue_text
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
from langchain_core.messages import AIMessage, HumanMessage

__all__ = ["TurnSignals", "GRID", "SPLITS", "tuning_split", "prepare", "evaluate", "grid_weights", "main"]

#: The weight grid searched (signals in ``SIGNALS`` order).
GRID: dict[str, tuple[float, ...]] = {
    "vector": (0.0, 0.25, 0.5, 1.0),
    "cf": (0.0, 0.25, 0.5, 1.0, 2.0),
    "intent": (0.0, 0.25, 0.5, 1.0),
    "popularity": (0.0, 0.3, 0.6, 1.0, 1.5, 2.0),
    "attr": (0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
}
KS = (1, 10, 50)
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


def _matrix(table: SignalTable) -> tuple[np.ndarray, np.ndarray, list[str]]:
    fused = fuse(table, FusionWeights(), k=len(table.pool))
    index = {c["item_id"]: k for k, c in enumerate(fused)}
    m = np.zeros((len(fused), len(SIGNALS)), dtype=np.float64)
    for c in fused:
        for j, s in enumerate(SIGNALS):
            m[index[c["item_id"]], j] = c["signals"].get(s, 0.0)
    order = [c["item_id"] for c in fused]
    pop = np.array([table.scores.get("popularity", {}).get(i, 0.0) for i in order])
    return m, pop, order


def prepare(
    toolkit: Any,
    turns: Iterable[Any],
    resolver: Any,
    *,
    genres_hard: bool,
    people_hard: bool = False,
    limit: int | None = None,
) -> list[TurnSignals]:
    """Collect each turn's signals once.

    Args:
        toolkit: the movie toolkit.
        turns: ``evals.datasets.ReplayTurn`` objects.
        resolver: ``evals.datasets.TitleResolver``.
        genres_hard: liked genres filter the candidates.
        people_hard: the most recently liked person filters the candidates.
        limit: at most this many turns.

    Returns:
        One entry per turn that has at least one scorable (not already mentioned) sample.
    """
    from crsagent.evals.datasets import context_to_messages

    understand = make_understand(VARIANT_SPECS["crs-only"])
    rt = _Runtime(CRSContext(toolkit=toolkit))
    out: list[TurnSignals] = []
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
        lc = [HumanMessage(content=m.content) if m.role == "user" else AIMessage(content=m.content) for m in msgs]
        upd = understand({"messages": lc}, rt)
        belief = upd["belief"]
        table = collect_signals(
            toolkit, belief, dialogue_text(lc, 6), pool=POOL, genres_hard=genres_hard, people_hard=people_hard
        )
        if not table.pool:
            out.append(TurnSignals(np.zeros((0, len(SIGNALS))), np.zeros(0), [-1] * len(gold)))
            continue
        m, pop, order = _matrix(table)
        row = {i: k for k, i in enumerate(order)}
        out.append(TurnSignals(m, pop, [row.get(g, -1) if g else -1 for g in gold]))
    return out


def grid_weights(grid: dict[str, Sequence[float]] = GRID) -> np.ndarray:
    """Every weight combination of a grid, ``(combos, len(SIGNALS))``."""
    return np.array(list(itertools.product(*(grid[s] for s in SIGNALS))), dtype=np.float64)


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


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Tune on ``tune``, report the chosen weights on every split; print and save JSON."""
    import torch
    from crsagent.evals.datasets import TitleResolver, load_turns
    from crsagent.tools.toolkit import Toolkit

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--limit", type=int, default=None, help="at most this many turns per split")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=None, help="pickle of the collected signals (reused when present)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # one short text at a time: one thread is ~10x faster on a busy CPU
    settings = Settings.from_env()
    tk = Toolkit.load(settings, "movies", eager=True)
    resolver = TitleResolver.from_catalog(settings, "movies", tk.items().values())
    turns = load_turns(settings.data_dir / "redial" / "dev_turns.jsonl")
    splits = {h: [t for t in turns if tuning_split(t.dialog_id) == h] for h in SPLITS}
    grid = grid_weights()
    report: dict[str, Any] = {"tuned_on": "tune", "turns": {h: len(v) for h, v in splits.items()}, "ks": list(KS)}
    results: dict[str, Any] = {}
    t0 = time.time()
    cached: dict[str, Any] = {}
    if args.cache is not None and args.cache.exists():
        cached = pickle.loads(args.cache.read_bytes())
    # the default mode on every split; the alternatives on ``tune`` only
    modes = {"genres+people hard": (True, True), "genres hard, people soft": (True, False), "soft": (False, False)}
    for key, (g_hard, p_hard) in modes.items():
        wanted = SPLITS if key == "genres+people hard" else ("tune",)
        data = cached.get(key) or {
            h: prepare(tk, splits[h], resolver, genres_hard=g_hard, people_hard=p_hard, limit=args.limit)
            for h in wanted
        }
        cached[key] = data
        rec = evaluate(data["tune"], grid)
        best = int(np.lexsort((rec[:, 0], rec[:, 2], rec[:, 1]))[-1])  # Recall@10, then @50, then @1
        top = np.argsort(-rec[:, 1], kind="stable")[:10]
        default_row = np.array([[DEFAULT_WEIGHTS.as_dict()[s] for s in SIGNALS]])
        results[key] = {
            "samples": {h: sum(len(t.targets) for t in d) for h, d in data.items()},
            "best": dict(zip(SIGNALS, grid[best].tolist(), strict=True)),
            "best_recall": {h: evaluate(d, grid[best : best + 1])[0].round(4).tolist() for h, d in data.items()},
            "default_recall": {h: evaluate(d, default_row)[0].round(4).tolist() for h, d in data.items()},
            "top10": [
                {"weights": dict(zip(SIGNALS, grid[i].tolist(), strict=True)), "recall": rec[i].round(4).tolist()}
                for i in top
            ],
            "single_signal": {
                h: {s: evaluate(d, np.eye(len(SIGNALS))[j : j + 1])[0].round(4).tolist() for j, s in enumerate(SIGNALS)}
                for h, d in data.items()
            },
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
