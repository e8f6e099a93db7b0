"""SASRec: learns a deterministic successor rule; embeddings; unknown ids; persistence."""

from __future__ import annotations

import numpy as np
import pytest

from crsagent.agent.errors import UnknownItemError
from crsagent.tools.seq.model import SeqModel

N = 12
IDS = [f"i{k}" for k in range(N)]
TINY = {
    "dim": 16,
    "n_layers": 1,
    "n_heads": 1,
    "max_len": 8,
    "dropout": 0.0,
    "epochs": 25,
    "batch_size": 32,
    "lr": 1e-2,
}


@pytest.fixture(scope="module")
def cyclic_model() -> SeqModel:
    """Trained on sequences where item k is always followed by item k+1 (mod N)."""
    rng = np.random.default_rng(0)
    seqs = []
    for _ in range(60):
        start = int(rng.integers(N))
        seqs.append([IDS[(start + j) % N] for j in range(10)])
    return SeqModel.fit(seqs, IDS, TINY, device="cpu")


def test_learns_the_successor(cyclic_model):
    hits = 0
    for k in range(N):
        seq = [IDS[(k + j) % N] for j in range(4)]
        scores = cyclic_model.next_scores(seq)
        assert scores.shape == (N,)
        hits += int(np.argmax(scores) == (k + 4) % N)
    assert hits >= N - 1


def test_embeddings_shape_and_empty_sequence(cyclic_model):
    e = cyclic_model.embed(["i1", "i2"])
    assert e.shape == (16,) and np.all(np.isfinite(e))
    assert np.all(np.isfinite(cyclic_model.embed([])))
    many = cyclic_model.embed_many([["i1", "i2"], ["i3"]])
    assert many.shape == (2, 16) and np.allclose(many[0], e, atol=1e-5)


def test_unknown_ids_raise(cyclic_model):
    with pytest.raises(UnknownItemError):
        cyclic_model.embed(["i1", "nope"])
    with pytest.raises(TypeError):
        cyclic_model.embed("i1")


def test_save_load_round_trip(cyclic_model, tmp_path):
    cyclic_model.save(tmp_path / "seq")
    loaded = SeqModel.load(tmp_path / "seq", device="cpu")
    seq = ["i3", "i4", "i5"]
    assert np.array_equal(loaded.next_scores(seq), cyclic_model.next_scores(seq))
    assert loaded.item_ids == IDS


def test_training_is_reproducible():
    seqs = [[IDS[(s + j) % N] for j in range(6)] for s in range(N)]
    p = {**TINY, "epochs": 2}
    a = SeqModel.fit(seqs, IDS, p, device="cpu").next_scores(["i1", "i2"])
    b = SeqModel.fit(seqs, IDS, p, device="cpu").next_scores(["i1", "i2"])
    assert np.array_equal(a, b)
