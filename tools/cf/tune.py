"""CF hyper-parameter validation: Recall@10 / NDCG@10 over several leave-last-out levels.

Level ``n`` holds out each user's ``(n + 1)``-th-to-last positive (level 0 is the test split of
``crsagent eval offline``). One level has ~600 MovieLens users, so a single Recall@10 carries a
standard error of about 0.012; the CF parameters are chosen on the mean of levels 1-4 (about
2,400 held-out items), never on level 0.

Usage::

    from crsagent.tools.cf.tune import validate_cf
    validate_cf(settings, "movies", {"alpha": 2.0, "recency_boost": 10.0})
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from crsagent.tools.artifacts import ArtifactStore
from crsagent.tools.cf.data import UserHistory, holdout_last
from crsagent.tools.cf.stage import _search_dir, train_cf
from crsagent.tools.cf.universe import Universe

__all__ = ["VALIDATION_LEVELS", "holdout_level", "level_metrics", "validate_cf"]

VALIDATION_LEVELS = (1, 2, 3, 4)


def holdout_level(histories: Sequence[UserHistory], level: int = 0) -> tuple[list[UserHistory], dict[str, str]]:
    """Training histories and targets with ``level`` more positives dropped before the hold-out
    (``crsagent eval offline --split-level`` uses it too)."""
    train, targets = holdout_last(histories)
    for _ in range(level):
        train, targets = holdout_last(train)
    return train, targets


def level_metrics(
    universe: Universe,
    histories: Sequence[UserHistory],
    level: int,
    params: dict[str, Any] | None = None,
    search_dir: Any = None,
) -> dict[str, float]:
    """CF and popularity Recall@10 / NDCG@10 of one level (training items of a user are excluded)."""
    train, targets = holdout_level(histories, level)
    cf = train_cf(universe, train, search_dir, params)
    users = [h for h in train if h.user_id in targets]
    out: dict[str, float] = {"users": float(len(users))}
    for name in ("cf", "popularity"):
        rec = ndcg = 0.0
        for h in users:
            s = cf.scores_all(h.positives()) if name == "cf" else cf.popularity.copy()
            s[cf.indices(h.items, strict=False)] = -np.inf
            rank = int((s > s[cf.index[targets[h.user_id]]]).sum())
            rec, ndcg = rec + (rank < 10), ndcg + (1.0 / np.log2(rank + 2) if rank < 10 else 0.0)
        out[f"{name}_recall@10"] = rec / max(len(users), 1)
        out[f"{name}_ndcg@10"] = ndcg / max(len(users), 1)
    return out


def validate_cf(
    settings: Any, domain: str, params: dict[str, Any] | None = None, levels: Sequence[int] = VALIDATION_LEVELS
) -> dict[str, Any]:
    """Mean CF / popularity metrics over ``levels`` for ``params`` (on top of the stage's PARAMS).

    Needs the domain's ``catalog`` artifact (and uses ``search`` for cold-item content).
    """
    store = ArtifactStore(settings.home, domain)
    universe = Universe.from_catalog_dir(store.path("catalog"), domain)
    histories = universe.histories(settings.data_dir)
    per = {lv: level_metrics(universe, histories, lv, params, _search_dir(store)) for lv in levels}
    keys = [k for k in per[levels[0]] if k != "users"]
    mean = {k: round(float(np.mean([m[k] for m in per.values()])), 4) for k in keys}
    return {
        "domain": domain,
        "params": params or {},
        "levels": list(levels),
        "mean": mean,
        "per_level": {str(lv): {k: round(v, 4) for k, v in m.items()} for lv, m in per.items()},
    }
