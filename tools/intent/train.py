"""Train the LatentCRS intent scorer from histories, dialogues and a trained sequential model.

Used by the ``intent`` build stage and by the offline evaluation (with its own split), so
both run the same code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from crsagent.agent.domains import domain_spec
from crsagent.tools.catalog.schema import Item
from crsagent.tools.cf.data import UserHistory
from crsagent.tools.cf.universe import Universe
from crsagent.tools.intent.em import EMData, EMParams, EMTrace, fit_em
from crsagent.tools.intent.scorer import EmbedFn, IntentScorer, embed_text
from crsagent.tools.intent.texts import Examples, TitleWords, redial_examples, user_examples
from crsagent.tools.seq.model import SeqModel

__all__ = [
    "build_examples",
    "embed_examples",
    "train_intent",
    "intent_labels",
    "zscore",
    "fuse_scores",
    "FUSION_WEIGHT",
]

#: weight of the intent scores when fused with CF (z-scores), chosen on the validation split
FUSION_WEIGHT: dict[str, float] = {"movies": 0.5, "office": 0.5}


def build_examples(
    universe: Universe,
    histories: Sequence[UserHistory],
    data_dir: Path | None,
    per_user: int = 6,
    seed: int = 0,
    redial_split: str = "train",
) -> Examples:
    """Template examples from the histories plus (movies) ReDial dialogue examples of ``redial_split``."""
    words = TitleWords(universe.items) if domain_spec(universe.domain).product_words else None
    users = [h for h in histories if h.source != "redial"]
    ex = user_examples(users, universe.by_id, universe.domain, per_user=per_user, seed=seed, words=words)
    if domain_spec(universe.domain).dialogues and data_dir is not None and universe.id_maps.get("redial"):
        ex.extend(redial_examples(data_dir, universe.id_maps["redial"], universe.by_id, split=redial_split))
    return ex


def intent_labels(
    assign: np.ndarray, behaviours: Sequence[Sequence[str]], by_id: dict[str, Item], domain: str, k: int
) -> list[str]:
    """A readable name per intent: the attributes most over-represented among its examples.

    Args:
        assign: the intent of each example (``argmax p(m | b, t)``).
        behaviours: the items of each example (behaviour and target).
        by_id: catalogue records.
        domain: ``movies`` (genres) or ``office`` (distinctive title words).
        k: number of intents.
    """
    words = TitleWords(list(by_id.values())) if domain_spec(domain).product_words else None

    def feats(ids: Sequence[str]) -> list[str]:
        items = [by_id[i] for i in ids[-20:] if i in by_id]
        if domain_spec(domain).product_words:
            return words.top(items, 3) if words else []
        return [g for it in items for g in it.genres if g != "(no genres listed)"]

    per: list[Counter[str]] = [Counter() for _ in range(k)]
    total: Counter[str] = Counter()
    for m, beh in zip(assign, behaviours):
        f = feats(beh)
        per[int(m)].update(f)
        total.update(f)
    n_total = sum(total.values()) or 1
    labels: list[str] = []
    for m in range(k):
        n_m = sum(per[m].values())
        if not n_m:
            labels.append(f"intent {m}")
            continue
        lift = {f: (c / n_m) / (total[f] / n_total) for f, c in per[m].items() if c / n_m >= 0.03}
        top = sorted(lift, key=lambda f: (-lift[f], f))[:2]
        name = " & ".join(top) or f"intent {m}"
        labels.append(name if name not in labels else f"{name} ({m})")
    return labels


def train_intent(
    universe: Universe,
    seq: SeqModel,
    examples: Examples,
    params: EMParams | None = None,
    embed_fn: EmbedFn | None = None,
    log: Callable[[str], None] | None = None,
    on_iteration: Callable[[int], None] | None = None,
    text_vectors: np.ndarray | None = None,
) -> tuple[IntentScorer, EMTrace]:
    """Embed behaviours and texts, run variational EM, name the intents.

    Args:
        universe: the catalogue (its ids must be the sequential model's ids).
        seq: the trained sequential model (behaviour encoder and item-embedding init).
        examples: training examples (:func:`build_examples`).
        params: EM hyper-parameters.
        embed_fn: text embedder; default all-MiniLM-L6-v2.
        log: receives the per-iteration objective and KL.
        on_iteration: progress hook.
        text_vectors: the examples' text embeddings, if already computed (:func:`embed_examples`).
    """
    params = params or EMParams()
    t = embed_examples(examples, embed_fn) if text_vectors is None else text_vectors
    b = seq.embed_many(examples.behaviours, strict=False)
    v = np.array([seq.index[i] - 1 for i in examples.targets], dtype=np.int64)
    data = EMData(b=b, t=t, v=v, b_empty=seq.embed_many([[]])[0])
    net, trace = fit_em(
        data,
        len(seq.item_ids),
        params,
        item_init=seq.item_embeddings(),
        device=str(seq.device),
        log=log,
        on_iteration=on_iteration,
    )
    with torch.no_grad():
        prior, _ = net.p_logits(torch.as_tensor(b, device=seq.device), torch.as_tensor(t, device=seq.device))
        assign = prior.argmax(-1).cpu().numpy()
    named = [list(beh) + [tgt] for beh, tgt in zip(examples.behaviours, examples.targets)]
    labels = intent_labels(assign, named, universe.by_id, universe.domain, net.n_intents)
    meta = {**asdict(params), "examples": len(examples), "origins": dict(Counter(examples.origins))}
    scorer = IntentScorer(net, seq, labels, meta, universe.titles, embed_fn)
    return scorer, trace


def embed_examples(examples: Examples, embed_fn: EmbedFn | None = None) -> np.ndarray:
    """Text embeddings of the examples ``(n, 384)``, each distinct text embedded once."""
    uniq = sorted(set(examples.texts))
    pos = {t: k for k, t in enumerate(uniq)}
    vecs = embed_text(uniq, embed_fn)
    return vecs[[pos[x] for x in examples.texts]] if examples.texts else np.zeros((0, vecs.shape[1]), np.float32)


def zscore(x: np.ndarray) -> np.ndarray:
    """Standardise scores per row over their finite entries (for fusing models)."""
    x = np.asarray(x, dtype=np.float32)
    finite = np.isfinite(x)
    filled = np.where(finite, x, np.nan)
    mu = np.nanmean(filled, axis=-1, keepdims=True)
    sd = np.nanstd(filled, axis=-1, keepdims=True) + 1e-6
    return np.where(finite, (x - mu) / sd, -np.inf).astype(np.float32)


def fuse_scores(cf: np.ndarray, intent: np.ndarray, weight: float) -> np.ndarray:
    """CF + intent fusion: ``z(cf) + weight * z(intent)`` (weight chosen on dev data)."""
    return zscore(cf) + weight * zscore(intent)
