"""Variational EM for the LatentCRS intent model.

With intents ``m``, behaviour ``b``, text ``t`` and target item ``v`` the evidence lower bound is

    log p(v | b, t) >= E_q(m|b)[log p_nce(v | m, b, t)] - KL(q(m|b) || p(m|b, t))

where ``p_nce`` is the InfoNCE likelihood of ``v`` against sampled negative items. Training:

1. K-means over the behaviour embeddings gives K prototypes; ``q`` starts as the soft K-means
   assignment.
2. M-step: with ``q`` fixed, fit the generative model on InfoNCE (expected under ``q``)
   + ``lam`` * KL(q || p) + ``aux`` * the InfoNCE loss of the mixture score (the
   recommendation loss). A fraction of texts is blanked (``text_dropout``) and a fraction of
   behaviours replaced by the empty session (``behaviour_dropout``), so ``p`` serves sessions
   that have only one of the two.
3. E-step: with ``p`` fixed, fit ``q`` (behaviour only) to the posterior
   ``p(m | v, b, t) ∝ p(m | b, t) p_nce(v | m, b, t)``.
4. Repeat until the negative ELBO (on a fixed sample with fixed negatives) improves by less
   than ``tol`` (relative), or ``max_iter`` iterations. The objective and the KL are logged
   every iteration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from crsagent.tools.intent.net import IntentNet

__all__ = ["EMParams", "EMData", "EMTrace", "kmeans_prototypes", "fit_em", "em_objective"]


@dataclass
class EMParams:
    """Hyper-parameters (chosen on dev data; see ``docs/models.md``); ``threads`` caps torch's CPU threads."""

    n_intents: int = 16
    lam: float = 1.0
    negatives: int = 64
    aux_weight: float = 1.0
    hidden: int = 128
    lr: float = 3e-3
    batch_size: int = 256
    max_iter: int = 8
    tol: float = 1e-3
    text_dropout: float = 0.2
    behaviour_dropout: float = 0.15
    threads: int | None = None
    seed: int = 0


@dataclass
class EMData:
    """Training examples as arrays: behaviour ``b`` (N, d), text ``t`` (N, 384), target ``v`` (N,).

    ``b_empty`` is the behaviour embedding of an empty session; the M-step swaps it in for a
    fraction of examples (``behaviour_dropout``) so the text alone can drive the intents.
    """

    b: np.ndarray
    t: np.ndarray
    v: np.ndarray
    b_empty: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.v)


@dataclass
class EMTrace:
    """Per-iteration figures; index 0 is before the first M-step."""

    objective: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    converged: bool = False


def kmeans_prototypes(b: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """K-means centroids ``(k, d)`` of behaviour embeddings (k is capped by the sample count)."""
    from sklearn.cluster import KMeans

    k = max(1, min(k, len(b)))
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit(b).cluster_centers_.astype(np.float32)


def _batches(n: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(n)
    return [order[i : i + size] for i in range(0, n, size)]


def _candidates(v: torch.Tensor, n_items: int, n_neg: int, gen: torch.Generator) -> torch.Tensor:
    neg = torch.randint(0, n_items, (len(v), n_neg), generator=gen, device="cpu").to(v.device)
    return torch.cat([v[:, None], neg], dim=1)


def _terms(net: IntentNet, b, t, cand, q_log):
    """Per-example NCE log-likelihood per intent, log p(m|b,t) and mixture scores."""
    prior, users = net.p_logits(b, t)
    log_p = F.log_softmax(prior, dim=-1)
    s = net.item_scores(users, cand)  # (B, K, C)
    collide = (cand[:, 1:] == cand[:, :1])[:, None, :]
    s = torch.cat([s[..., :1], s[..., 1:].masked_fill(collide, -1e9)], dim=-1)
    log_nce = F.log_softmax(s, dim=-1)[..., 0]  # (B, K)
    mix = torch.logsumexp(log_p[..., None] + s, dim=1)  # (B, C)
    return log_nce, log_p, mix


@torch.no_grad()
def em_objective(net: IntentNet, b, t, cand) -> tuple[float, float]:
    """(negative ELBO, KL(q || p)) averaged over the given examples and candidates."""
    q_log = F.log_softmax(net.q_logits(b), dim=-1)
    log_nce, log_p, _ = _terms(net, b, t, cand, q_log)
    q = q_log.exp()
    kl = (q * (q_log - log_p)).sum(-1).mean()
    rec = -(q * log_nce).sum(-1).mean()
    return float(rec + kl), float(kl)


def fit_em(
    data: EMData,
    n_items: int,
    params: EMParams | None = None,
    prototypes: np.ndarray | None = None,
    item_init: np.ndarray | None = None,
    device: str = "cpu",
    log: Callable[[str], None] | None = None,
    on_iteration: Callable[[int], None] | None = None,
) -> tuple[IntentNet, EMTrace]:
    """Train the intent model by variational EM.

    Args:
        data: training examples.
        n_items: catalogue size (targets index into it).
        params: hyper-parameters.
        prototypes: K-means centroids; computed from ``data.b`` when None.
        item_init: initial item embeddings ``(n_items, d)`` (SASRec's), or None.
        device: torch device.
        log: receives one line per iteration (objective and KL).
        on_iteration: called with 1 after each EM iteration (progress).

    Returns:
        (trained network, trace of objective and KL per iteration).
    """
    p = params or EMParams()
    saved = torch.get_num_threads()
    if p.threads:
        torch.set_num_threads(p.threads)
    try:
        return _fit(data, n_items, p, prototypes, item_init, device, log, on_iteration)
    finally:
        torch.set_num_threads(saved)


def _fit(data, n_items, p, prototypes, item_init, device, log, on_iteration) -> tuple[IntentNet, EMTrace]:
    torch.manual_seed(p.seed)
    rng = np.random.default_rng(p.seed)
    gen = torch.Generator().manual_seed(p.seed)
    proto = kmeans_prototypes(data.b, p.n_intents, p.seed) if prototypes is None else prototypes
    init = None if item_init is None else torch.as_tensor(item_init, dtype=torch.float32)
    net = IntentNet(n_items, data.b.shape[1], data.t.shape[1], torch.as_tensor(proto), init, p.hidden).to(device)
    b = torch.as_tensor(data.b, dtype=torch.float32, device=device)
    t = torch.as_tensor(data.t, dtype=torch.float32, device=device)
    v = torch.as_tensor(data.v, dtype=torch.long, device=device)
    b_empty = None if data.b_empty is None else torch.as_tensor(data.b_empty, dtype=torch.float32, device=device)
    opt_q = torch.optim.Adam(net.q.parameters(), lr=p.lr)
    opt_p = torch.optim.Adam(net.generative_parameters(), lr=p.lr)
    batches = lambda: _batches(len(data), p.batch_size, rng)  # noqa: E731

    # q starts as the soft K-means assignment
    proto_t = torch.as_tensor(proto, device=device)
    d2 = torch.cdist(b, proto_t) ** 2
    tau = float(d2.min(dim=1).values.median().clamp_min(1e-6))
    target0 = F.softmax(-d2 / tau, dim=-1)
    for _ in range(3):
        for idx in batches():
            loss = -(target0[idx] * F.log_softmax(net.q_logits(b[idx]), -1)).sum(-1).mean()
            opt_q.zero_grad()
            loss.backward()
            opt_q.step()

    ev = torch.as_tensor(rng.permutation(len(data))[:2000], device=device)
    ev_cand = _candidates(v[ev], n_items, p.negatives, torch.Generator().manual_seed(p.seed + 1))
    trace = EMTrace()
    obj, kl = em_objective(net, b[ev], t[ev], ev_cand)
    trace.objective.append(obj)
    trace.kl.append(kl)
    if log:
        log(f"intent EM start: objective {obj:.4f} KL {kl:.4f}")
    for it in range(1, p.max_iter + 1):
        # M-step: generative model, q fixed
        for idx in batches():
            bi, ti, cand = b[idx], t[idx], _candidates(v[idx], n_items, p.negatives, gen)
            keep = torch.as_tensor(rng.random(len(idx)) >= p.text_dropout, device=device)
            ti = ti * keep[:, None]
            if b_empty is not None and p.behaviour_dropout > 0:
                drop = torch.as_tensor(rng.random(len(idx)) < p.behaviour_dropout, device=device) & keep
                bi = torch.where(drop[:, None], b_empty[None], bi)
            with torch.no_grad():
                q_log = F.log_softmax(net.q_logits(bi), dim=-1)
            log_nce, log_p, mix = _terms(net, bi, ti, cand, q_log)
            q = q_log.exp()
            nce = -(q * log_nce).sum(-1).mean()
            kl_term = (q * (q_log - log_p)).sum(-1).mean()
            aux = -F.log_softmax(mix, dim=-1)[:, 0].mean()
            loss = nce + p.lam * kl_term + p.aux_weight * aux
            opt_p.zero_grad()
            loss.backward()
            opt_p.step()
        # E-step: q (behaviour only) towards the posterior under the current p
        for idx in batches():
            bi, ti, cand = b[idx], t[idx], _candidates(v[idx], n_items, p.negatives, gen)
            with torch.no_grad():
                log_nce, log_p, _ = _terms(net, bi, ti, cand, None)
                post = F.softmax(log_p + log_nce, dim=-1)
            loss = -(post * F.log_softmax(net.q_logits(bi), dim=-1)).sum(-1).mean()
            opt_q.zero_grad()
            loss.backward()
            opt_q.step()
        obj, kl = em_objective(net, b[ev], t[ev], ev_cand)
        trace.objective.append(obj)
        trace.kl.append(kl)
        if log:
            log(f"intent EM iteration {it}: objective {obj:.4f} KL {kl:.4f}")
        if on_iteration:
            on_iteration(1)
        prev = trace.objective[-2]
        if abs(prev - obj) <= p.tol * max(abs(prev), 1e-9):
            trace.converged = True
            break
    return net.eval(), trace
