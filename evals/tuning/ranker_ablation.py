"""Feature ablations of the learned ranker, cross-fitted (issue 18, item 4: do intents and SASRec earn their keep?).

Reads every dev turn once with every signal, the LatentCRS intent scorer included (the build
leaves it out), exactly as the ``ranker`` build stage reads them (train-half mention counts,
out-of-fold ReDial priors on the tuning half), then for each feature set trains the two
cross-fitted models (:func:`~crsagent.tools.ranker.stage.train_halves`) and scores each half
with the model trained on the other. Differences against the full feature set are paired over
the same turns, with a 95% bootstrap interval over turns (1,000 resamples, seed 0).

Run: ``crsagent eval tune ablation --json out/ranker-ablation.json --cache out/ranker-rows.pkl``.
"""

from __future__ import annotations

import argparse
import json
import pickle
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crsagent.evals.tuning.ranker_data import TurnRows, rank_of
from crsagent.graphs.ranking.features import FEATURES

__all__ = ["ABLATIONS", "sample_hits", "paired", "main"]

#: Feature set name -> features left out (``all`` keeps every feature, the intent scorer's too).
ABLATIONS: dict[str, tuple[str, ...]] = {
    "all": (),
    "-intent": ("intent",),
    "-seq": ("seq",),
    "-intent -seq": ("intent", "seq"),
    "-comention": ("comention", "comention_raw"),
    "-itemsim": ("itemsim", "itemsim_raw"),
    "-comention -itemsim": ("comention", "comention_raw", "itemsim", "itemsim_raw"),
}


def sample_hits(
    rows: Sequence[TurnRows], score: Callable[[np.ndarray], np.ndarray], k: int, dedup: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Per turn: (hits at k, samples) under the plain (or dedup) protocol."""
    hits, n = np.zeros(len(rows)), np.zeros(len(rows))
    for t, r in enumerate(rows):
        scores = score(r.matrix) if r.matrix.shape[0] else np.zeros(0)
        where = {i: j for j, i in enumerate(r.ids)}
        for g in r.gold:
            if dedup and (g is None or g in r.mentioned):
                continue
            n[t] += 1
            j = where.get(g) if g is not None else None
            hits[t] += j is not None and rank_of(scores, r.popularity, j) <= k
    return hits, n


def paired(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], resamples: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Recall of ``a`` minus ``b`` (same turns) with a 95% bootstrap interval over turns."""
    (ha, n), (hb, _) = a, b
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(resamples):
        idx = rng.integers(0, len(n), len(n))
        diffs.append((ha[idx].sum() - hb[idx].sum()) / max(n[idx].sum(), 1))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {
        "delta": round(float((ha.sum() - hb.sum()) / max(n.sum(), 1)), 4),
        "lo": round(float(lo), 4),
        "hi": round(float(hi), 4),
    }


def _collect(cache: Path | None) -> list[TurnRows]:
    if cache is not None and cache.exists():
        return pickle.loads(cache.read_bytes())
    import torch

    from crsagent.agent.settings import Settings
    from crsagent.evals.datasets import TitleResolver, load_turns
    from crsagent.evals.leakage import leak_free_settings
    from crsagent.evals.tuning.ranker_data import collect_rows, fold_of, fold_toolkits
    from crsagent.tools.intent.split import TRAIN, dialogue_split
    from crsagent.tools.toolkit import Toolkit

    torch.set_num_threads(1)
    settings = Settings.from_env()
    turns = load_turns(settings.data_dir / "redial" / "dev_turns.jsonl")
    resolver = TitleResolver.from_catalog(settings)
    with tempfile.TemporaryDirectory(prefix="crsagent-ablation-") as work:
        clean = leak_free_settings(settings, "train-half", Path(work))
        base = Toolkit.load(clean, "movies", cache=False).with_handles(ranker=None)
        folds = fold_toolkits(base, clean.data_dir)
        rows = collect_rows(
            lambda t: folds[fold_of(t.dialog_id)] if dialogue_split(t.dialog_id) == TRAIN else base, turns, resolver
        )
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(rows))
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train and score every feature set of :data:`ABLATIONS`; print and save JSON."""
    from crsagent.tools.intent.split import dialogue_split
    from crsagent.tools.ranker.stage import FOLDS, train_halves

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=None, help="pickle of the collected rows (reused when present)")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        dest="sets",
        metavar="NAME",
        help="feature sets to run (repeatable; default every one of ABLATIONS; 'all' always runs)",
    )
    args = ap.parse_args(argv)
    unknown = set(args.sets) - set(ABLATIONS)
    if unknown:
        ap.error(f"unknown feature set(s) {sorted(unknown)}; use {list(ABLATIONS)}")
    chosen = {n: d for n, d in ABLATIONS.items() if n == "all" or not args.sets or n in args.sets}
    t0 = time.time()
    rows = _collect(args.cache)
    halves = {f: {r.dialog_id for r in rows if dialogue_split(r.dialog_id) == f} for f in FOLDS}
    by_half = {f: [r for r in rows if dialogue_split(r.dialog_id) == f] for f in FOLDS}
    report: dict[str, Any] = {"turns": {f: len(v) for f, v in by_half.items()}, "runs": {}}
    outcomes: dict[str, dict[str, Any]] = {}
    for name, drop in chosen.items():
        feats = tuple(f for f in FEATURES if f not in drop)
        cols = [FEATURES.index(f) for f in feats]
        models = train_halves(rows, halves, feats)
        run: dict[str, Any] = {}
        outcomes[name] = {}
        for half in FOLDS:  # each half scored by the model trained on the other
            model = models["heldout" if half == "train" else "train"]
            run[half] = model.info["other_half"]

            def score(m: np.ndarray, model: Any = model, cols: list[int] = cols) -> np.ndarray:
                return model.score(m[:, cols])

            outcomes[name][half] = {
                (k, d): sample_hits(by_half[half], score, k, d) for k in (10, 50) for d in (False, True)
            }
        run["rounds"] = {f: m.info["rounds"] for f, m in models.items()}
        report["runs"][name] = run
    report["paired_vs_all"] = {
        name: {
            half: {
                f"{'dedup_' if d else ''}recall@{k}": paired(
                    outcomes["all"][half][(k, d)], outcomes[name][half][(k, d)]
                )
                for k in (10, 50)
                for d in (False, True)
            }
            for half in FOLDS
        }
        for name in chosen
        if name != "all"
    }
    report["seconds"] = round(time.time() - t0, 1)
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)
    return report


if __name__ == "__main__":  # pragma: no cover
    main()
