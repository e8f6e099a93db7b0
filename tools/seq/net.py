"""The SASRec network (Kang and McAuley, 2018): causal self-attention over an item sequence.

Sequences are left-padded with item index 0; item ``k`` of the catalogue has index ``k + 1``.
As in the original SASRec, padding positions are zero vectors under a causal mask (no key
padding mask, so every query has at least itself to attend to and the fast attention path is
used).
The hidden state at the last position is the *behaviour embedding* of the sequence, and its
dot product with an item's embedding is the item's next-item score.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["SASRec"]


class SASRec(nn.Module):
    """A small SASRec encoder.

    Args:
        n_items: catalogue size (index 0 is padding, so the table has ``n_items + 1`` rows).
        dim: embedding and hidden size.
        n_layers: transformer blocks.
        n_heads: attention heads.
        max_len: the longest sequence the model reads (longer ones keep their last items).
        dropout: dropout on embeddings and inside the blocks.
    """

    def __init__(
        self, n_items: int, dim: int = 64, n_layers: int = 2, n_heads: int = 2, max_len: int = 50, dropout: float = 0.2
    ) -> None:
        super().__init__()
        self.n_items, self.dim, self.max_len, self.n_heads = n_items, dim, max_len, n_heads
        self.item_emb = nn.Embedding(n_items + 1, dim, padding_idx=0)
        self.pos_emb = nn.Embedding(max_len, dim)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            dim, n_heads, dim_feedforward=2 * dim, dropout=dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        nn.init.normal_(self.item_emb.weight, std=1.0 / math.sqrt(dim))
        with torch.no_grad():
            self.item_emb.weight[0].zero_()

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """Hidden states ``(batch, length, dim)`` for left-padded index sequences."""
        length = seq.shape[1]
        pos = torch.arange(length, device=seq.device)[None]
        x = self.item_emb(seq) * math.sqrt(self.dim) + self.pos_emb(pos)
        x = self.drop(x) * (seq != 0)[..., None]
        causal = torch.ones(length, length, dtype=torch.bool, device=seq.device).triu(1)
        h = self.encoder(x, mask=causal, is_causal=True)
        return self.norm(h)

    def item_table(self) -> torch.Tensor:
        """Embeddings of the catalogue items (without the padding row), ``(n_items, dim)``."""
        return self.item_emb.weight[1:]
