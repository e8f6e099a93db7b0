"""The LatentCRS networks: inference model q(m | behaviour) and generative model p(v, m | behaviour, text).

* ``q``: an MLP from the behaviour embedding ``b`` (SASRec) to K intent logits.
* ``p(m | b, t)``: an MLP from ``b`` and the projected text embedding ``t`` (all-MiniLM-L6-v2)
  to K intent logits.
* ``p(v | m, b, t)``: item ``v`` scores ``<u_m, e_v> + bias_v`` with the intent-conditioned user
  vector ``u_m = W_b b + W_t t + W_m M_m``; ``M`` starts at the K-means prototypes.

An item's overall score is the log of the mixture ``sum_m p(m | b, t) exp(score(v | m))``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["IntentNet"]


class IntentNet(nn.Module):
    """Inference and generative models sharing the intent space.

    Args:
        n_items: catalogue size.
        b_dim: behaviour-embedding size (also the item-embedding size).
        t_dim: text-embedding size.
        prototypes: ``(K, b_dim)`` K-means centroids.
        item_init: ``(n_items, b_dim)`` initial item embeddings (SASRec's), or None.
        hidden: hidden size of the MLPs.
    """

    def __init__(
        self,
        n_items: int,
        b_dim: int,
        t_dim: int,
        prototypes: torch.Tensor,
        item_init: torch.Tensor | None = None,
        hidden: int = 128,
    ) -> None:
        super().__init__()
        k = prototypes.shape[0]
        self.n_intents = k
        self.q = nn.Sequential(nn.Linear(b_dim, hidden), nn.GELU(), nn.Linear(hidden, k))
        self.t_proj = nn.Sequential(nn.Linear(t_dim, hidden), nn.GELU())
        self.p_prior = nn.Sequential(nn.Linear(b_dim + hidden, hidden), nn.GELU(), nn.Linear(hidden, k))
        self.w_b = nn.Linear(b_dim, b_dim)
        self.w_t = nn.Linear(hidden, b_dim, bias=False)
        self.w_m = nn.Linear(b_dim, b_dim, bias=False)
        self.intents = nn.Parameter(prototypes.clone().float())
        self.items = nn.Embedding(n_items, b_dim)
        if item_init is not None:
            with torch.no_grad():
                self.items.weight.copy_(item_init)
        self.item_bias = nn.Parameter(torch.zeros(n_items))

    def generative_parameters(self) -> list[nn.Parameter]:
        """Everything but the inference model ``q`` (what the M-step trains)."""
        q_ids = {id(p) for p in self.q.parameters()}
        return [p for p in self.parameters() if id(p) not in q_ids]

    def q_logits(self, b: torch.Tensor) -> torch.Tensor:
        """Inference model logits ``(B, K)`` from behaviour only."""
        return self.q(b)

    def p_logits(self, b: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Generative prior logits ``(B, K)`` and user vectors ``(B, K, dim)``."""
        th = self.t_proj(t)
        prior = self.p_prior(torch.cat([b, th], dim=-1))
        base = self.w_b(b) + self.w_t(th)
        users = base[:, None, :] + self.w_m(self.intents)[None]
        return prior, users

    def item_scores(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores ``(B, K, C)`` of candidate items ``items`` ``(B, C)`` under each intent."""
        e = self.items(items)  # (B, C, d)
        return torch.einsum("bkd,bcd->bkc", users, e) + self.item_bias[items][:, None, :]

    def mixture_all(self, b: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Intent distribution ``(B, K)`` and mixture scores over every item ``(B, n_items)``."""
        prior, users = self.p_logits(b, t)
        log_p = F.log_softmax(prior, dim=-1)
        s = torch.einsum("bkd,nd->bkn", users, self.items.weight) + self.item_bias[None, None, :]
        return log_p.exp(), torch.logsumexp(log_p[..., None] + s, dim=1)
