"""Synthetic data whose right answers are known by construction (implicit's checkerboard idea).

Two user groups and two item groups: group-A users like only A items, group-B users only B
items. Two extra items have no interactions: ``cold-a`` has A's content vector, ``cold-b`` B's.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from crsagent.tools.cf.model import CFModel

N_PER_GROUP = 10
A = [f"a{i}" for i in range(N_PER_GROUP)]
B = [f"b{i}" for i in range(N_PER_GROUP)]
COLD = ["cold-a", "cold-b"]
ITEMS = A + B + COLD


@pytest.fixture(scope="session")
def checkerboard() -> tuple[sp.csr_matrix, list[str]]:
    """100 users x 22 items; each user likes 6 random items of their own group (seeded)."""
    rng = np.random.default_rng(0)
    rows, cols = [], []
    for u in range(100):
        group = range(0, N_PER_GROUP) if u < 50 else range(N_PER_GROUP, 2 * N_PER_GROUP)
        for j in rng.choice(list(group), size=6, replace=False):
            rows.append(u)
            cols.append(int(j))
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(100, len(ITEMS)))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m, ITEMS


@pytest.fixture(scope="session")
def content() -> np.ndarray:
    """Unit content vectors: A items (and cold-a) point one way, B items (and cold-b) the other."""
    c = np.zeros((len(ITEMS), 2), np.float32)
    for k, i in enumerate(ITEMS):
        c[k] = [1.0, 0.0] if i.startswith("a") or i == "cold-a" else [0.0, 1.0]
    return c


@pytest.fixture(scope="session")
def cf_model(checkerboard, content) -> CFModel:
    """ALS on the checkerboard: 2 factors, the rank of the true structure (seeded)."""
    m, ids = checkerboard
    return CFModel.fit(m, ids, {"factors": 2, "regularization": 0.1, "alpha": 10.0, "iterations": 15}, content=content)
