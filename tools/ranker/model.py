"""A LightGBM lambdarank model over per-candidate feature rows, with what it was trained on.

:class:`LearnedRanker` wraps a ``lightgbm.Booster`` with the feature names it expects (in
column order), the ReDial dialogue ids it was trained on (so replay can prove it never scores
them: ``docs/ranking.md``, cross-fitting) and its training figures. It is saved as
``<fold>.txt`` (LightGBM's text format) plus ``<fold>.json`` (the rest).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crsagent.agent.errors import DataError

__all__ = ["NOT_MONOTONE", "RankerParams", "LearnedRanker", "train_ranker"]

#: Features the score may depend on either way; on every other feature (a signal, its raw value,
#: the re-mention rate, how many signals returned the item) the score never decreases. The
#: constraint keeps the small training set from learning noise.
NOT_MONOTONE: frozenset[str] = frozenset({"remention_rank", "n_context", "n_liked"})


@dataclass(frozen=True)
class RankerParams:
    """Training settings (small trees, monotone in the evidence: about 1,000 positive rows train it).

    Attributes:
        num_leaves, learning_rate, min_data_in_leaf, feature_fraction: LightGBM tree settings.
        rounds: the most boosting rounds; early stopping picks fewer.
        early_stopping: rounds without a better validation NDCG before stopping.
        eval_at: the NDCG cut-off watched for early stopping.
        seed: LightGBM's seed (training is deterministic for one seed and one thread count).
    """

    num_leaves: int = 7
    learning_rate: float = 0.03
    min_data_in_leaf: int = 200
    feature_fraction: float = 1.0
    rounds: int = 800
    early_stopping: int = 100
    eval_at: int = 50
    seed: int = 0

    def lgb_params(self, features: Sequence[str] = ()) -> dict[str, Any]:
        """The parameters for ``lightgbm.train``; with ``features``, the monotone constraints
        (:data:`NOT_MONOTONE`)."""
        mono = (
            {
                "monotone_constraints": [0 if f in NOT_MONOTONE else 1 for f in features],
                "monotone_constraints_method": "advanced",
            }
            if features
            else {}
        )
        return {
            **mono,
            "objective": "lambdarank",
            "metric": "ndcg",
            "eval_at": [self.eval_at],
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_seed": self.seed,
            "feature_fraction_seed": self.seed,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 1,
            "verbose": -1,
            "lambdarank_truncation_level": 60,
        }


@dataclass
class LearnedRanker:
    """A trained ranking model.

    Attributes:
        booster: the LightGBM booster.
        features: feature names, in column order.
        trained_on: the ReDial dialogue ids whose turns trained it (early-stopping ones included).
        fold: which half of the dev dialogues it was trained on (``train`` or ``heldout``).
        info: training figures (rounds, validation NDCG, rows).
    """

    booster: Any
    features: tuple[str, ...]
    trained_on: frozenset[str] = frozenset()
    fold: str = "train"
    info: dict[str, Any] = field(default_factory=dict)

    def score(self, matrix: np.ndarray) -> np.ndarray:
        """Scores of feature rows ``(n, len(features))``; higher is better."""
        if matrix.shape[0] == 0:
            return np.zeros(0)
        if matrix.shape[1] != len(self.features):
            raise DataError(f"ranker expects {len(self.features)} features, got {matrix.shape[1]}")
        return np.asarray(self.booster.predict(matrix, num_threads=1), dtype=np.float64)

    def save(self, out_dir: Path) -> None:
        """Write ``<fold>.txt`` and ``<fold>.json`` into ``out_dir`` (each renamed into place)."""
        out_dir = Path(out_dir)
        model = out_dir / f"{self.fold}.txt"
        fd, tmp = tempfile.mkstemp(prefix=f".{self.fold}-", dir=out_dir)
        os.close(fd)
        self.booster.save_model(tmp)
        os.replace(tmp, model)
        meta = {
            "features": list(self.features),
            "trained_on": sorted(self.trained_on),
            "fold": self.fold,
            "info": self.info,
        }
        fd, tmp = tempfile.mkstemp(prefix=f".{self.fold}-", dir=out_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(meta, fh, indent=1, sort_keys=True)
        os.replace(tmp, out_dir / f"{self.fold}.json")

    @classmethod
    def load(cls, folder: Path, fold: str = "train") -> LearnedRanker:
        """Read the model trained on ``fold`` from a folder.

        Raises:
            DataError: the files are missing or do not agree.
        """
        import lightgbm as lgb

        from crsagent.graphs.ranking.features import current_name

        folder = Path(folder)
        model, meta_path = folder / f"{fold}.txt", folder / f"{fold}.json"
        if not model.exists() or not meta_path.exists():
            raise DataError(f"no ranker trained on '{fold}'", folder)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        booster = lgb.Booster(model_file=str(model))
        features = tuple(current_name(f) for f in meta["features"])  # models saved before a rename
        if booster.num_feature() != len(features):
            raise DataError("ranker model and its feature list disagree", folder)
        return cls(booster, features, frozenset(meta["trained_on"]), meta["fold"], meta.get("info") or {})


def train_ranker(
    train: tuple[np.ndarray, np.ndarray, Sequence[int]],
    valid: tuple[np.ndarray, np.ndarray, Sequence[int]],
    features: Sequence[str],
    params: RankerParams = RankerParams(),
) -> tuple[Any, dict[str, Any]]:
    """Fit a lambdarank booster with early stopping on ``valid``.

    Args:
        train: ``(rows, labels, group sizes)``; groups are turns, rows in group order.
        valid: the same for the early-stopping turns.
        features: the column names.
        params: training settings.

    Returns:
        (the booster cut at its best round, figures).
    """
    import lightgbm as lgb

    names = list(features)
    dtrain = lgb.Dataset(train[0], label=train[1], group=list(train[2]), feature_name=names, free_raw_data=True)
    dvalid = lgb.Dataset(valid[0], label=valid[1], group=list(valid[2]), reference=dtrain, feature_name=names)
    evals: dict[str, Any] = {}
    booster = lgb.train(
        params.lgb_params(names),
        dtrain,
        num_boost_round=params.rounds,
        valid_sets=[dvalid],
        valid_names=["valid"],
        callbacks=[lgb.early_stopping(params.early_stopping, verbose=False), lgb.record_evaluation(evals)],
    )
    best = int(booster.best_iteration or params.rounds)
    curve = evals.get("valid", {}).get(f"ndcg@{params.eval_at}", [])
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    info = {
        "rounds": best,
        "valid_ndcg": round(float(curve[best - 1]), 5) if curve else None,
        "rows": int(train[0].shape[0]),
        "turns": len(train[2]),
        "valid_turns": len(valid[2]),
    }
    return booster, info
