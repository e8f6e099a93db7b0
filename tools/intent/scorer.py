"""Inference with the trained LatentCRS model: intent distribution and item scores for a session.

The session's liked items go through the sequential model (behaviour embedding), the dialogue
text through all-MiniLM-L6-v2; the generative model gives p(m | behaviour, text) and the
mixture score of every item.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from operator import itemgetter
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, Field

from crsagent.agent.errors import DataError, UnknownItemError
from crsagent.tools.catalog.schema import ScoredItem
from crsagent.tools.cf.model import top_k
from crsagent.tools.intent.net import IntentNet
from crsagent.tools.seq.model import SeqModel

__all__ = ["IntentResult", "IntentScorer", "TEXT_DIM", "embed_text", "default_embed"]

FORMAT_VERSION = 1
TEXT_DIM = 384

EmbedFn = Callable[[Sequence[str]], np.ndarray]


class IntentResult(BaseModel):
    """What :meth:`IntentScorer.score` returns.

    Attributes:
        intents: ``(intent_id, probability, label)``, most probable first.
        items: the top items under the intent mixture, best first.
    """

    intents: list[tuple[int, float, str]] = Field(default_factory=list)
    items: list[ScoredItem] = Field(default_factory=list)


def default_embed(texts: Sequence[str]) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings from the installed package (loaded on first use)."""
    from crsagent.tools.search.embedding import embed_texts

    return embed_texts(texts)


def embed_text(texts: Sequence[str], embed_fn: EmbedFn | None = None) -> np.ndarray:
    """Text embeddings ``(n, 384)``; empty texts give zero vectors (as in training's text dropout)."""
    out = np.zeros((len(texts), TEXT_DIM), dtype=np.float32)
    real = [k for k, t in enumerate(texts) if t and t.strip()]
    if real:
        out[real] = (embed_fn or default_embed)([texts[k] for k in real])
    return out


class IntentScorer:
    """The LatentCRS intent scorer over the catalogue of its sequential model.

    Args:
        net: the trained networks.
        seq: the sequential model that embeds behaviour (same item universe).
        labels: a readable name per intent.
        params: the training parameters (kept with the model).
        titles: item id -> display title, for results.
        embed_fn: text embedder ``texts -> (n, 384)``; default all-MiniLM-L6-v2.
    """

    def __init__(
        self,
        net: IntentNet,
        seq: SeqModel,
        labels: Sequence[str],
        params: dict | None = None,
        titles: dict[str, str] | None = None,
        embed_fn: EmbedFn | None = None,
    ) -> None:
        if net.items.num_embeddings != len(seq.item_ids):
            raise DataError("intent model and sequential model have different item universes")
        self.net = net.eval().to(seq.device)
        self.seq = seq
        self.item_ids = seq.item_ids
        self.labels = list(labels)
        self.params = dict(params or {})
        self.titles = dict(titles or {})
        self.embed_fn = embed_fn or default_embed

    @property
    def n_intents(self) -> int:
        """K, the number of intents."""
        return self.net.n_intents

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """Text embeddings with this scorer's embedder (zeros for empty texts)."""
        return embed_text(texts, self.embed_fn)

    @torch.inference_mode()
    def scores_many(
        self, behaviours: Sequence[Sequence[str]], texts: Sequence[str], strict: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Intent distributions ``(n, K)`` and mixture item scores ``(n, n_items)``."""
        if len(behaviours) != len(texts):
            raise ValueError("behaviours and texts must have the same length")
        b = torch.as_tensor(self.seq.embed_many([list(s) for s in behaviours], strict=strict), device=self.seq.device)
        t = torch.as_tensor(self.embed_text(list(texts)), device=self.seq.device)
        probs, scores = self.net.mixture_all(b, t)
        return probs.cpu().numpy(), scores.cpu().numpy()

    @torch.no_grad()
    def behaviour_intents(self, liked_ids: Sequence[str]) -> np.ndarray:
        """q(m | behaviour): the inference model's intent distribution ``(K,)``."""
        b = torch.as_tensor(self.seq.embed_many([list(liked_ids)]), device=self.seq.device)
        return torch.softmax(self.net.q_logits(b), dim=-1)[0].cpu().numpy()

    def score(
        self,
        liked_ids: Sequence[str],
        dialogue_text: str,
        k: int = 50,
        candidate_ids: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
    ) -> IntentResult:
        """Intent distribution p(m | behaviour, text) and the top-``k`` items.

        Args:
            liked_ids: the session's liked items, oldest first (may be empty).
            dialogue_text: the conversation so far (may be empty).
            k: how many items to return.
            candidate_ids: rank only these.
            exclude: ids never to return (liked items are always left out).

        Raises:
            UnknownItemError: a liked or candidate id is not in the catalogue.
        """
        intents, pairs = self.score_pairs(liked_ids, dialogue_text, k, candidate_ids, exclude)
        titles = self.titles
        # trusted fields of known types: built without validation (hundreds per turn)
        items = [ScoredItem.model_construct(item_id=i, score=v, title=titles.get(i)) for i, v in pairs.items()]
        return IntentResult.model_construct(intents=intents, items=items)

    def score_pairs(
        self,
        liked_ids: Sequence[str],
        dialogue_text: str,
        k: int = 50,
        candidate_ids: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
    ) -> tuple[list[tuple[int, float, str]], dict[str, float]]:
        """:meth:`score` as ``(intents, {item_id: score})``, items best first, without result
        objects (the ranking pipeline's hot path reads only ids and scores). Same errors."""
        probs, scores = self.scores_many([list(liked_ids)], [dialogue_text or ""])
        p, s = probs[0], scores[0].astype(np.float32)
        index = self.seq.index
        if candidate_ids is not None:
            cands = list(candidate_ids)
            if not index.keys() >= set(cands):
                raise UnknownItemError([i for i in cands if i not in index])
            keep = np.full(s.shape, -np.inf, dtype=np.float32)
            if cands:
                rows = np.array(itemgetter(*cands)(index) if len(cands) > 1 else [index[cands[0]]], dtype=np.int64)
                keep[rows - 1] = 0.0
            s = s + keep
        drop = [index[i] - 1 for i in list(liked_ids) + list(exclude) if i in index]
        s[drop] = -np.inf
        order = np.argsort(-p, kind="stable")
        intents = [(int(m), float(p[m]), self.labels[m]) for m in order]
        top = top_k(s, k)
        ids = self.item_ids
        return intents, dict(zip([ids[j] for j in top.tolist()], s[top].tolist()))

    # -- persistence -------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write ``intent.pt``, ``intent.json`` and the behaviour encoder (``seq/``) into folder ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.seq.save(path / "seq")
        torch.save({k: v.cpu() for k, v in self.net.state_dict().items()}, path / "intent.pt")
        n_items, b_dim = self.net.items.weight.shape
        meta = {
            "format": FORMAT_VERSION,
            "n_items": n_items,
            "b_dim": b_dim,
            "t_dim": TEXT_DIM,
            "n_intents": self.n_intents,
            "hidden": self.net.q[0].out_features,
            "labels": self.labels,
            "params": self.params,
            "titles": self.titles,
        }
        (path / "intent.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, path: Path, seq: SeqModel | None = None, embed_fn: EmbedFn | None = None) -> IntentScorer:
        """Read a scorer written by :meth:`save`.

        Args:
            path: the folder :meth:`save` wrote.
            seq: the behaviour encoder; default the copy saved with the scorer.
            embed_fn: text embedder; default all-MiniLM-L6-v2.
        """
        path = Path(path)
        seq = seq or SeqModel.load(path / "seq")
        if not (path / "intent.json").exists():
            raise DataError("no intent model here (intent.json missing)", path)
        meta = json.loads((path / "intent.json").read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise DataError(f"intent model format {meta.get('format')} != {FORMAT_VERSION}; rebuild", path)
        proto = torch.zeros(meta["n_intents"], meta["b_dim"])
        net = IntentNet(meta["n_items"], meta["b_dim"], meta["t_dim"], proto, None, meta["hidden"])
        net.load_state_dict(torch.load(path / "intent.pt", map_location="cpu", weights_only=True))
        return cls(net, seq, meta["labels"], meta["params"], meta["titles"], embed_fn)
