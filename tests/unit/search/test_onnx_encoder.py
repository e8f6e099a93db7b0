"""The ONNX export of all-MiniLM-L6-v2: same vectors as sentence-transformers, used for small batches."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crsagent.agent.errors import BuildError, DataError
from crsagent.tools.encoder import runtime
from crsagent.tools.encoder.export import CHECK_TEXTS, check_encoder
from crsagent.tools.encoder.runtime import CONFIG_FILE, OnnxEncoder
from crsagent.tools.search import embedding

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def onnx(exported) -> OnnxEncoder:
    return OnnxEncoder(exported[0], precision="fp32")


def test_export_writes_a_checked_model(exported) -> None:
    folder, meta = exported
    assert {p.name for p in folder.iterdir()} >= {"model.onnx", "tokenizer.json", "encoder.json", "model.int8.onnx"}
    assert meta["dim"] == 384 and meta["max_seq_length"] == 256
    assert meta["min_cosine"] >= 0.9999


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(min_size=0, max_size=300), min_size=1, max_size=4))
def test_onnx_matches_sentence_transformers(onnx: OnnxEncoder, texts: list[str]) -> None:
    want = embedding.load_embedder("cpu").encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    got = onnx.encode(texts)
    assert got.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    assert float((want * got).sum(axis=1).min()) > 0.9999


def test_embed_texts_uses_the_active_encoder_for_small_batches(exported, no_active, monkeypatch) -> None:
    folder, _ = exported
    monkeypatch.setenv("CRSAGENT_ENCODER", "fp32")  # the int8 default is checked in test_int8_encoder.py
    assert runtime.activate(folder) is runtime.active_encoder() is not None
    calls: list[int] = []
    real = runtime.OnnxEncoder.encode

    def counting(self: Any, t: Any) -> Any:
        calls.append(len(t))
        return real(self, t)

    monkeypatch.setattr(runtime.OnnxEncoder, "encode", counting)
    small = embedding.embed_texts(["a scary movie"])
    embedding.embed_texts([f"text {i}" for i in range(embedding.SMALL_BATCH + 1)])
    assert calls == [1]  # the large batch went to torch
    runtime.deactivate()
    torch_vec = embedding.embed_texts(["a scary movie"])
    assert calls == [1] and float((small * torch_vec).sum()) > 0.9999


def test_torch_can_be_forced(exported, no_active, monkeypatch) -> None:
    monkeypatch.setenv("CRSAGENT_ENCODER", "torch")
    assert runtime.activate(exported[0]) is None and runtime.active_encoder() is None


def test_a_folder_without_model_activates_nothing(tmp_path, no_active) -> None:
    assert runtime.activate(tmp_path) is None


def test_a_wrong_export_is_rejected(exported, tmp_path) -> None:
    folder, _ = exported
    for name in ("model.onnx", "tokenizer.json"):  # fp32 only: check_encoder checks the fp32 model
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"max_seq_length": 8, "dim": 384}))  # truncates texts
    with pytest.raises(BuildError, match="disagrees"):
        check_encoder(tmp_path)
    assert any(len(t.split()) > 8 for t in CHECK_TEXTS)


def test_an_unreadable_folder_is_a_data_error(tmp_path) -> None:
    (tmp_path / CONFIG_FILE).write_text("{not json")
    with pytest.raises(DataError, match="crsagent build"):
        OnnxEncoder(tmp_path)
