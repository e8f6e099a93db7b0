"""MovieLens item-to-item similarity: the nearest neighbours of each movie by co-rating.

Each movie is the set of MovieLens users who rated it positively (``>= 3.5``, the CF models'
rule). Two movies' similarity is the cosine of those sets, shrunk towards 0 when few users
rated both (``co / (co + SHRINK)``). Only each movie's :data:`NEIGHBOURS` nearest neighbours
are kept. The learned ranker's ``itemsim`` feature sums a candidate's similarity to the items
mentioned so far (:meth:`ItemSim.top_scores`). MovieLens holds no ReDial dialogue, so the
feature is clean for every half of the dev dialogues.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

__all__ = ["NEIGHBOURS", "SHRINK", "FILE", "ItemSim", "learn_itemsim"]

NEIGHBOURS = 50
SHRINK = 5.0
FILE = "itemsim.npz"


@dataclass
class ItemSim:
    """Nearest neighbours of each item.

    Attributes:
        ids: item ids, in row order.
        neighbours: ``(len(ids), NEIGHBOURS)`` row indices of each item's neighbours (-1: none).
        sims: their similarities, same shape.
    """

    ids: list[str]
    neighbours: np.ndarray
    sims: np.ndarray

    def __post_init__(self) -> None:
        self._row = {i: r for r, i in enumerate(self.ids)}

    def scores(self, context: Iterable[str]) -> dict[str, float]:
        """Summed similarity of every neighbour of the context's items to them."""
        out: dict[str, float] = defaultdict(float)
        for a in dict.fromkeys(context):
            r = self._row.get(a)
            if r is None:
                continue
            for j, s in zip(self.neighbours[r].tolist(), self.sims[r].tolist(), strict=True):
                if j >= 0 and s > 0:
                    out[self.ids[j]] += s
        return dict(out)

    def top_scores(
        self, context: Iterable[str], k: int, candidate_ids: Sequence[str] | None = None, exclude: Collection[str] = ()
    ) -> dict[str, float]:
        """The ``k`` best candidates by :meth:`scores` (ties by id)."""
        scored = self.scores(sorted(set(context)))
        allowed = None if candidate_ids is None else set(candidate_ids)
        keep = {i: v for i, v in scored.items() if i not in exclude and (allowed is None or i in allowed)}
        return dict(sorted(keep.items(), key=lambda t: (-t[1], t[0]))[: max(k, 0)])

    def save(self, out_dir: Path) -> None:
        """Write ``itemsim.npz`` into ``out_dir``."""
        np.savez_compressed(Path(out_dir) / FILE, ids=np.array(self.ids), neighbours=self.neighbours, sims=self.sims)

    @classmethod
    def load(cls, folder: Path) -> ItemSim:
        """Read ``itemsim.npz`` from a folder."""
        with np.load(Path(folder) / FILE, allow_pickle=False) as z:
            return cls([str(i) for i in z["ids"]], z["neighbours"], z["sims"])


def learn_itemsim(
    baskets: Iterable[Sequence[str]], neighbours: int = NEIGHBOURS, shrink: float = SHRINK, block: int = 512
) -> ItemSim:
    """Item-item cosine over user baskets (each a user's positively rated items).

    Args:
        baskets: one item list per user.
        neighbours: how many neighbours to keep per item.
        shrink: the co-count shrinkage constant.
        block: items per block of the product (bounds the memory to ``block x items``).

    Returns:
        The neighbour table over every item of a basket.
    """
    index: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    n_users = 0
    for u, basket in enumerate(baskets):
        n_users = u + 1
        for i in dict.fromkeys(basket):
            rows.append(u)
            cols.append(index.setdefault(i, len(index)))
    ids = list(index)
    x = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_users, len(ids)))
    xt = x.T.tocsr()
    counts = np.asarray(x.sum(axis=0)).ravel()
    norms = np.sqrt(np.maximum(counts, 1.0))
    k = min(neighbours, max(len(ids) - 1, 0))
    nb = np.full((len(ids), neighbours), -1, dtype=np.int32)
    sm = np.zeros((len(ids), neighbours), dtype=np.float32)
    for start in range(0, len(ids), block):
        stop = min(start + block, len(ids))
        co = (xt[start:stop] @ x).toarray()
        sim = co / (norms[start:stop, None] * norms[None, :]) * (co / (co + shrink))
        sim[np.arange(stop - start), np.arange(start, stop)] = 0.0
        if k == 0:
            continue
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(sim, top, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        nb[start:stop, :k] = np.take_along_axis(top, order, axis=1)
        sm[start:stop, :k] = np.take_along_axis(vals, order, axis=1)
    nb[sm <= 0] = -1
    return ItemSim(ids, nb, sm)
