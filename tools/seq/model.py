"""The sequential behaviour model: train SASRec on user sequences, embed and score sequences.

Training reads each user's item sequence in order, cuts it into windows of ``max_len + 1``
items from the most recent end, and minimises the cross-entropy of every next item against
all catalogue items (``negatives=None``), or a sampled softmax against ``negatives`` items per
batch drawn in proportion to ``count ** 0.75`` with the log-Q correction (much cheaper on CPU
for large catalogues). Runs on CUDA when torch sees a GPU, else on CPU; seeded and reproducible
on one device. ``threads`` caps torch's CPU threads while training (restored afterwards).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from crsagent.agent.errors import DataError, UnknownItemError
from crsagent.tools.seq.net import SASRec

__all__ = ["SeqModel", "SeqParams", "default_device"]

FORMAT_VERSION = 1


def default_device() -> str:
    """``cuda`` when torch sees a GPU, else ``cpu``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


class SeqParams(dict):
    """Hyper-parameters of :class:`SeqModel` (a dict with defaults; JSON-able)."""

    DEFAULTS = {
        "dim": 64,
        "n_layers": 2,
        "n_heads": 2,
        "max_len": 50,
        "dropout": 0.2,
        "epochs": 30,
        "batch_size": 128,
        "lr": 2e-3,
        "weight_decay": 0.0,
        "negatives": None,
        "threads": None,
        "seed": 0,
    }

    def __init__(self, **kw: object) -> None:
        unknown = set(kw) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(f"unknown sequential-model parameter(s): {sorted(unknown)}")
        super().__init__({**self.DEFAULTS, **kw})


class SeqModel:
    """A trained SASRec over a fixed item universe.

    Args:
        item_ids: the item universe (the catalogue), in index order.
        net: the network (index ``k + 1`` is item ``item_ids[k]``).
        params: the hyper-parameters it was trained with.
    """

    def __init__(self, item_ids: Sequence[str], net: SASRec, params: SeqParams | dict) -> None:
        self.item_ids = list(item_ids)
        self.index = {i: k + 1 for k, i in enumerate(self.item_ids)}
        self.params = SeqParams(**params)
        self.net = net.eval()
        self.device = next(net.parameters()).device

    @property
    def dim(self) -> int:
        """Size of the behaviour embeddings."""
        return int(self.params["dim"])

    # -- training ----------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        sequences: Sequence[Sequence[str]],
        item_ids: Sequence[str],
        params: SeqParams | dict | None = None,
        device: str | None = None,
        on_epoch: Callable[[int, float], None] | None = None,
    ) -> SeqModel:
        """Train on item-id sequences (ids outside ``item_ids`` are skipped).

        Args:
            sequences: one ordered list of item ids per user.
            item_ids: the item universe.
            params: hyper-parameters (:class:`SeqParams`).
            device: ``cpu`` / ``cuda``; default: CUDA when available.
            on_epoch: called after each epoch with (epoch, mean loss).
        """
        p = SeqParams(**(params or {}))
        device = device or default_device()
        saved_threads = torch.get_num_threads()
        if p["threads"]:
            torch.set_num_threads(int(p["threads"]))
        try:
            net = _train(sequences, item_ids, p, device, on_epoch)
        finally:
            torch.set_num_threads(saved_threads)
        return cls(item_ids, net.eval(), p)

    # -- inference ---------------------------------------------------------------------
    def encode(self, seqs: Sequence[Sequence[str]], strict: bool = True) -> torch.Tensor:
        """Left-padded index tensor ``(n, max_len)`` of the last ``max_len`` items of each sequence."""
        length = int(self.params["max_len"])
        out = np.zeros((len(seqs), length), dtype=np.int64)
        for r, s in enumerate(seqs):
            if isinstance(s, str):
                raise TypeError("a sequence must be a list of item ids, not one string")
            unknown = [i for i in s if i not in self.index]
            if unknown and strict:
                raise UnknownItemError(unknown)
            idx = [self.index[i] for i in s if i in self.index][-length:]
            if idx:
                out[r, length - len(idx) :] = idx
        return torch.as_tensor(out, device=self.device)

    @torch.inference_mode()
    def embed_many(self, seqs: Sequence[Sequence[str]], batch_size: int = 512, strict: bool = True) -> np.ndarray:
        """Behaviour embeddings ``(n, dim)``: the last hidden state of each sequence."""
        outs = [
            self.net(self.encode(seqs[i : i + batch_size], strict))[:, -1].float().cpu().numpy()
            for i in range(0, len(seqs), batch_size)
        ]
        return np.concatenate(outs) if outs else np.zeros((0, self.dim), np.float32)

    def embed(self, seq_item_ids: Sequence[str]) -> np.ndarray:
        """The behaviour embedding ``(dim,)`` of one sequence (oldest item first).

        Raises:
            UnknownItemError: an id is not in the catalogue.
        """
        if isinstance(seq_item_ids, str):
            raise TypeError("a sequence must be a list of item ids, not one string")
        return self.embed_many([list(seq_item_ids)])[0]

    @torch.no_grad()
    def next_scores(self, seq: Sequence[str]) -> np.ndarray:
        """Next-item scores over the catalogue ``(n_items,)``, aligned with ``item_ids``."""
        h = torch.as_tensor(self.embed(seq), device=self.device)
        return (self.net.item_table() @ h).float().cpu().numpy()

    @torch.no_grad()
    def next_scores_many(self, seqs: Sequence[Sequence[str]], strict: bool = True) -> np.ndarray:
        """Next-item scores for several sequences, ``(n, n_items)``."""
        h = torch.as_tensor(self.embed_many(seqs, strict=strict), device=self.device)
        return (h @ self.net.item_table().T).float().cpu().numpy()

    def item_embeddings(self) -> np.ndarray:
        """The catalogue's item embeddings ``(n_items, dim)``."""
        return self.net.item_table().detach().float().cpu().numpy()

    # -- persistence -------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write ``seq.pt`` (weights) and ``seq.json`` (ids, parameters) into folder ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        torch.save({k: v.cpu() for k, v in self.net.state_dict().items()}, path / "seq.pt")
        meta = {"format": FORMAT_VERSION, "item_ids": self.item_ids, "params": dict(self.params)}
        (path / "seq.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, path: Path, device: str | None = None) -> SeqModel:
        """Read a model written by :meth:`save` (onto ``device``; default CUDA if available)."""
        path = Path(path)
        if not (path / "seq.json").exists():
            raise DataError("no sequential model here (seq.json missing)", path)
        meta = json.loads((path / "seq.json").read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise DataError(f"sequential model format {meta.get('format')} != {FORMAT_VERSION}; rebuild", path)
        p = SeqParams(**meta["params"])
        net = SASRec(
            len(meta["item_ids"]),
            int(p["dim"]),
            int(p["n_layers"]),
            int(p["n_heads"]),
            int(p["max_len"]),
            float(p["dropout"]),
        )
        net.load_state_dict(torch.load(path / "seq.pt", map_location="cpu", weights_only=True))
        return cls(meta["item_ids"], net.to(device or default_device()), p)


def _windows(seqs: list[list[int]], width: int) -> np.ndarray:
    """Left-padded windows of ``width`` items, cut from each sequence's most recent end."""
    rows = []
    for s in seqs:
        end = len(s)
        while end >= 2:
            chunk = s[max(0, end - width) : end]
            rows.append([0] * (width - len(chunk)) + chunk)
            end -= width - 1  # windows overlap by one item so every transition is trained
    return np.asarray(rows, dtype=np.int64).reshape(-1, width)


def _train(
    sequences: Sequence[Sequence[str]],
    item_ids: Sequence[str],
    p: SeqParams,
    device: str,
    on_epoch: Callable[[int, float], None] | None,
) -> SASRec:
    torch.manual_seed(int(p["seed"]))
    rng = np.random.default_rng(int(p["seed"]))
    index = {i: k + 1 for k, i in enumerate(item_ids)}
    windows = _windows([[index[i] for i in s if i in index] for s in sequences], int(p["max_len"]) + 1)
    if len(windows) == 0:
        raise DataError("no training sequence with two or more known items")
    net = SASRec(
        len(item_ids), int(p["dim"]), int(p["n_layers"]), int(p["n_heads"]), int(p["max_len"]), float(p["dropout"])
    )
    net.to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=float(p["lr"]), weight_decay=float(p["weight_decay"]))
    data = torch.as_tensor(windows, device=device)
    bs, n_neg = int(p["batch_size"]), p["negatives"]
    counts = np.bincount(windows[:, 1:].ravel(), minlength=len(item_ids) + 1)[1:].astype(np.float64)
    q = (counts + 1.0) ** 0.75
    q /= q.sum()
    log_q = torch.as_tensor(np.log(q), dtype=torch.float32, device=device)
    for epoch in range(int(p["epochs"])):
        order = torch.as_tensor(rng.permutation(len(windows)), device=device)
        total, batches = 0.0, 0
        for start in range(0, len(windows), bs):
            batch = data[order[start : start + bs]]
            inp, tgt = batch[:, :-1], batch[:, 1:]
            h = net(inp)[tgt != 0]  # (n, dim): positions that have a next item
            y = tgt[tgt != 0] - 1
            table = net.item_table()
            if n_neg is None:
                loss = F.cross_entropy(h @ table.T, y)
            else:
                neg = torch.as_tensor(rng.choice(len(item_ids), size=int(n_neg), p=q), device=device)
                pos_logit = (h * table[y]).sum(-1, keepdim=True) - log_q[y][:, None]
                neg_logit = (h @ table[neg].T - log_q[neg][None]).masked_fill(neg[None] == y[:, None], -1e9)
                logits = torch.cat([pos_logit, neg_logit], dim=1)
                loss = F.cross_entropy(logits, torch.zeros(len(y), dtype=torch.long, device=device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, batches = total + loss.item(), batches + 1
        if on_epoch:
            on_epoch(epoch, total / max(batches, 1))
    return net.eval()
