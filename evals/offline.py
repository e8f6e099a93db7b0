"""Offline evaluation of the recommender models, and the CF latency benchmark.

Protocol (leave-last-out): each MovieLens user's last positive rating (>= 3.5, by timestamp)
and each Amazon user's next item (valid.csv's ``item_id``) is held out; the models are fitted
on the rest with the same training code as the build stages (an evaluation-only fit; the
build's serving models train on everything). Every model ranks the full catalogue with the
user's training items removed, and Recall@10 / NDCG@10 are averaged over users.

* ``popularity``: training interaction counts.
* ``cf``: ALS fold-in of the user's training positives.
* ``sequential``: SASRec next-item scores after the user's training positives.
* ``cf+intent``: CF fused with the LatentCRS scorer; its dialogue text is the synthetic
  template text over the user's training items (the offline data has no dialogues).

``split_level=1`` moves everything one positive back (validation: the second-to-last positive is
the target), which is what the hyper-parameters were chosen on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crsagent.agent.domains import domain_spec
from crsagent.agent.settings import Settings
from crsagent.evals.metrics import mean_metrics, ranking_metrics
from crsagent.tools.artifacts import ArtifactStore
from crsagent.tools.cf.data import UserHistory
from crsagent.tools.cf.model import CFModel, top_k
from crsagent.tools.cf.stage import train_cf
from crsagent.tools.cf.tune import holdout_level as split_holdout
from crsagent.tools.cf.universe import Universe
from crsagent.tools.intent.em import EMParams
from crsagent.tools.intent.stage import PARAMS as INTENT_PARAMS
from crsagent.tools.intent.stage import PER_USER
from crsagent.tools.intent.texts import Examples, TitleWords, template_text
from crsagent.tools.intent.train import FUSION_WEIGHT, build_examples, embed_examples, fuse_scores, train_intent
from crsagent.tools.seq.model import SeqModel
from crsagent.tools.seq.stage import train_seq

__all__ = [
    "OfflineRun",
    "prepare_offline",
    "score_intent",
    "evaluate_offline",
    "tune_intent",
    "default_grid",
    "bench_cf",
    "bench_model",
    "bench_intent",
    "split_holdout",
    "rank_users",
]

Progress = Callable[[str, int | None], Callable[[int], None]]


def _no_tick(n: int = 1) -> None:
    """A progress bar's advance that shows nothing."""


def _no_progress(desc: str, total: int | None) -> Callable[[int], None]:
    return _no_tick


def rank_users(
    scores: np.ndarray, item_ids: Sequence[str], exclude: Sequence[np.ndarray], targets: Sequence[str], k: int = 10
) -> dict[str, float]:
    """Mean ranking metrics of score rows (one per user) with each row's ``exclude`` indices removed."""
    rows = []
    for s, ex, tgt in zip(scores, exclude, targets):
        s = np.array(s, dtype=np.float32)
        s[ex] = -np.inf
        rows.append(ranking_metrics([item_ids[j] for j in top_k(s, k)], {tgt}, ks=(k,)))
    return {key: round(v, 4) for key, v in mean_metrics(rows).items()}


def _search_dir(store: ArtifactStore) -> Path | None:
    try:
        return store.path("search")
    except Exception:  # noqa: BLE001 - content fallback works without it
        return None


@dataclass
class OfflineRun:
    """Everything fitted once per split: the user set, CF, the sequential model, intent examples."""

    domain: str
    universe: Universe
    users: list[UserHistory]
    exclude: list[np.ndarray]
    targets: list[str]
    cf: CFModel
    cf_scores: np.ndarray
    seq: SeqModel
    behaviours: list[list[str]]
    texts: list[str]
    examples: Examples
    example_vectors: np.ndarray
    results: dict[str, Any] = field(default_factory=dict)


def prepare_offline(
    settings: Settings,
    domain: str,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
    split_level: int = 0,
    cf_params: dict[str, Any] | None = None,
    seq_params: dict[str, Any] | None = None,
    embed_fn: Any = None,
) -> OfflineRun:
    """Hold out, fit CF and the sequential model, score popularity / CF / sequential, embed the
    intent examples. Needs the ``catalog`` artifact (and uses ``search`` when present)."""
    log = log or (lambda msg: None)
    start = progress or _no_progress
    store = ArtifactStore(settings.home, domain)
    universe = Universe.from_catalog_dir(store.path("catalog"), domain)
    train, targets = split_holdout(universe.histories(settings.data_dir), split_level)
    ids, index = universe.item_ids, {i: k for k, i in enumerate(universe.item_ids)}
    users = [h for h in train if h.user_id in targets]
    exclude = [np.array(sorted({index[i] for i in h.items}), dtype=np.int64) for h in users]
    tgt = [targets[h.user_id] for h in users]
    res: dict[str, Any] = {"domain": domain, "users": len(users), "items": len(ids), "split_level": split_level}
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    cf = train_cf(universe, train, _search_dir(store), cf_params)
    timings["cf_fit_s"] = time.perf_counter() - t0
    res["popularity"] = rank_users(np.broadcast_to(cf.popularity, (len(users), len(ids))), ids, exclude, tgt)
    advance = start(f"{domain}: scoring CF", len(users))
    cf_scores = np.stack([cf.scores_all(h.positives()) for h in users]) if users else np.zeros((0, len(ids)))
    advance(len(users))
    res["cf"] = rank_users(cf_scores, ids, exclude, tgt)
    res["cf_latency"] = bench_model(cf)
    log(f"{domain} offline: popularity {res['popularity']['recall@10']} cf {res['cf']['recall@10']}")

    t0 = time.perf_counter()
    adv_seq = start(f"{domain}: sequential model (eval fit)", None)
    seq = train_seq(universe, train, seq_params, on_epoch=lambda e, loss: adv_seq(1))
    timings["seq_fit_s"] = time.perf_counter() - t0
    behaviours = [h.positives()[-int(seq.params["max_len"]) :] for h in users]
    res["sequential"] = rank_users(seq.next_scores_many(behaviours), ids, exclude, tgt)
    log(f"{domain} offline: sequential {res['sequential']['recall@10']}")

    t0 = time.perf_counter()
    rng = np.random.default_rng(12345)
    words = TitleWords(universe.items) if domain_spec(domain).product_words else None
    texts = [template_text(universe.subset(h.positives()), rng, domain, words) for h in users]
    examples = build_examples(universe, train, settings.data_dir, per_user=PER_USER)
    vectors = embed_examples(examples, embed_fn)
    timings["text_embed_s"] = time.perf_counter() - t0
    res["timings"] = timings
    return OfflineRun(
        domain, universe, users, exclude, tgt, cf, cf_scores, seq, behaviours, texts, examples, vectors, res
    )


def score_intent(
    run: OfflineRun,
    params: EMParams,
    fusion_weights: Sequence[float],
    embed_fn: Any = None,
    log: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fit the intent model on ``run``'s examples and score ``intent`` and ``cf+intent`` (per weight)."""
    start = progress or _no_progress
    t0 = time.perf_counter()
    adv = start(f"{run.domain}: latent intents (eval fit)", params.max_iter)
    scorer, trace = train_intent(run.universe, run.seq, run.examples, params, embed_fn, log, adv, run.example_vectors)
    _, intent_scores = scorer.scores_many(run.behaviours, run.texts)
    ids = run.universe.item_ids
    fused = {
        w: rank_users(fuse_scores(run.cf_scores, intent_scores, w), ids, run.exclude, run.targets)
        for w in fusion_weights
    }
    return {
        "intent": rank_users(intent_scores, ids, run.exclude, run.targets),
        "fusion": {str(w): m for w, m in fused.items()},
        "em": {
            "objective": [round(x, 4) for x in trace.objective],
            "kl": [round(x, 4) for x in trace.kl],
            "iterations": len(trace.objective) - 1,
            "converged": trace.converged,
            "examples": len(run.examples),
            "params": asdict(params),
        },
        "fit_s": round(time.perf_counter() - t0, 2),
    }


def evaluate_offline(
    settings: Settings,
    domain: str,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
    split_level: int = 0,
    em_params: EMParams | None = None,
    fusion_weight: float | None = None,
    embed_fn: Any = None,
) -> dict[str, Any]:
    """Run the offline protocol for one domain.

    Returns:
        ``{"popularity": {...}, "cf": {...}, "sequential": {...}, "cf+intent": {...}, ...}``
        with ``recall@10``, ``ndcg@10``, ``hit@10``, ``mrr@10`` per model, plus ``intent``
        alone, the fusion weight, the EM trace, CF latency, user counts and timings.
    """
    run = prepare_offline(settings, domain, progress, log, split_level, embed_fn=embed_fn)
    w = FUSION_WEIGHT[domain] if fusion_weight is None else fusion_weight
    scored = score_intent(run, em_params or INTENT_PARAMS[domain], [w], embed_fn, log, progress)
    out = dict(run.results)
    out["intent"] = scored["intent"]
    out["cf+intent"] = scored["fusion"][str(w)]
    out["fusion_weight"] = w
    out["intent_em"] = scored["em"]
    out["timings"] = {**{k: round(v, 2) for k, v in run.results["timings"].items()}, "intent_fit_s": scored["fit_s"]}
    if log:
        log(f"{domain} offline: intent {out['intent']['recall@10']} cf+intent {out['cf+intent']['recall@10']}")
    return {k: out[k] for k in ("popularity", "cf", "sequential", "cf+intent")} | {
        k: v for k, v in out.items() if k not in ("popularity", "cf", "sequential", "cf+intent")
    }


def default_grid(domain: str) -> list[EMParams]:
    """One-at-a-time sweeps around the domain's defaults: K, then lambda, then negatives."""
    from dataclasses import replace

    base = INTENT_PARAMS[domain]
    grid = [replace(base, n_intents=k) for k in (4, 8, 16, 32)]
    grid += [replace(base, lam=lam) for lam in (0.1, 1.0, 3.0)]
    grid += [replace(base, negatives=n) for n in (16, 64, 256)]
    seen, out = set(), []
    for g in grid:
        key = (g.n_intents, g.lam, g.negatives)
        if key not in seen:
            seen.add(key)
            out.append(g)
    return out


def tune_intent(
    settings: Settings,
    domain: str,
    grid: Sequence[EMParams],
    fusion_weights: Sequence[float] = (0.25, 0.5, 1.0, 2.0),
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
    embed_fn: Any = None,
) -> dict[str, Any]:
    """Choose K, lambda, negatives and the fusion weight on the validation split (``split_level=1``).

    Returns:
        The baselines of the validation split and one entry per configuration.
    """
    run = prepare_offline(settings, domain, progress, log, split_level=1, embed_fn=embed_fn)
    rows = []
    for params in grid:
        r = score_intent(run, params, fusion_weights, embed_fn, log, progress)
        rows.append(r)
        if log:
            best = max(r["fusion"].items(), key=lambda kv: kv[1]["recall@10"])
            log(
                f"K={params.n_intents} lam={params.lam} neg={params.negatives}: intent {r['intent']['recall@10']} "
                f"best cf+intent {best[1]['recall@10']} at w={best[0]}"
            )
    base = {k: run.results[k] for k in ("popularity", "cf", "sequential")}
    return {"domain": domain, "split_level": 1, "users": len(run.users), **base, "configs": rows}


def bench_model(model: CFModel, queries: int = 200, liked: int = 5, k: int = 50, seed: int = 0) -> dict[str, float]:
    """Latency of ``model.recommend`` (top-``k``) for random sessions of ``liked`` warm items, single-threaded."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    warm = np.flatnonzero(model.warm)
    pool = warm if warm.size >= liked else np.arange(len(model.item_ids))
    times = []
    with threadpool_limits(1):
        for q in range(queries + 10):
            session = [model.item_ids[j] for j in rng.choice(pool, size=liked, replace=False)]
            t0 = time.perf_counter()
            model.recommend(session, k=k)
            if q >= 10:  # warm-up
                times.append((time.perf_counter() - t0) * 1000)
    return {
        "p50_ms": round(float(np.percentile(times, 50)), 3),
        "p90_ms": round(float(np.percentile(times, 90)), 3),
        "items": len(model.item_ids),
        "queries": queries,
        "k": k,
    }


_WORDS = (
    "scary funny animated kids thriller romance space heist nineties classic dark twist family sad war western".split()
)


def bench_intent(scorer: Any, queries: int = 200, liked: int = 3, k: int = 50, seed: int = 0) -> dict[str, Any]:
    """Latency of ``score_intents`` (top-``k``) over the catalogue, behaviour only and with text.

    Every query with text has a new sentence, so no cache answers it: the cost includes the
    all-MiniLM-L6-v2 forward pass (onnxruntime when the toolkit activated the built encoder).
    """
    rng = np.random.default_rng(seed)
    ids = scorer.item_ids
    out: dict[str, Any] = {"items": len(ids), "queries": queries, "k": k}
    for mode in ("behaviour", "text"):
        times = []
        for q in range(queries + 10):
            session = [ids[j] for j in rng.choice(len(ids), size=liked, replace=False)]
            words = " ".join(rng.choice(_WORDS, size=4, replace=False))
            text = f"i would like something {words}, query {mode} {q}" if mode == "text" else ""
            t0 = time.perf_counter()
            scorer.score(session, text, k=k)
            if q >= 10:  # warm-up
                times.append((time.perf_counter() - t0) * 1000)
        out[f"{mode}_p50_ms"] = round(float(np.percentile(times, 50)), 3)
        out[f"{mode}_p90_ms"] = round(float(np.percentile(times, 90)), 3)
    return out


def bench_cf(n_items: int, factors: int = 64, queries: int = 100, k: int = 50, seed: int = 0) -> dict[str, float]:
    """p50 latency of top-``k`` fold-in recommendation on a synthetic catalogue of ``n_items`` items.

    Random item factors and counts stand in for a trained model (the cost does not depend on
    the values); no content vectors.
    """
    rng = np.random.default_rng(seed)
    factors_m = rng.normal(scale=0.1, size=(n_items, factors)).astype(np.float32)
    counts = rng.integers(1, 100, size=n_items).astype(np.float32)
    ids = [f"i{j}" for j in range(n_items)]
    model = CFModel(ids, factors_m, counts, {"factors": factors})
    return bench_model(model, queries=queries, k=k, seed=seed)
