"""The int8 copy of the exported encoder: built and checked, used by default, fp32 on demand or on failure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from crsagent.agent.errors import ConfigError, DataError
from crsagent.tools.encoder import quantize, runtime
from crsagent.tools.encoder.quantize import INT8_MIN_COSINE, INT8_MIN_MEAN, judge, quantize_encoder, seeker_utterances
from crsagent.tools.encoder.runtime import CONFIG_FILE, INT8_FILE, OnnxEncoder
from crsagent.tools.search import embedding

TEXTS = ["a scary movie like the babadook", "thanks!", "something with Tom Hanks from the 90s"]


def _copy(folder: Path, dest: Path) -> Path:
    shutil.copytree(folder, dest / "encoder")
    return dest / "encoder"


def _reference(texts: list[str]) -> np.ndarray:
    return embedding.load_embedder("cpu").encode(texts, normalize_embeddings=True, convert_to_numpy=True)


@pytest.mark.slow
def test_the_export_writes_an_accepted_int8_model(exported) -> None:
    folder, meta = exported
    verdict = json.loads((folder / CONFIG_FILE).read_text())["int8"]
    # the MatMul weights shrink to a quarter; the word embeddings (a Gather) stay fp32
    assert (folder / INT8_FILE).stat().st_size < 0.7 * (folder / "model.onnx").stat().st_size
    assert verdict == meta["int8"]
    assert verdict["accepted"] is True and verdict["reason"] is None and verdict["texts"] == 300
    assert verdict["mean_cosine"] >= INT8_MIN_MEAN and verdict["min_cosine"] >= INT8_MIN_COSINE
    assert verdict["probe_min_cosine"] >= INT8_MIN_COSINE


@pytest.mark.slow
def test_the_runtime_uses_int8_by_default_and_fp32_on_demand(exported, no_active, monkeypatch) -> None:
    folder, _ = exported
    monkeypatch.delenv("CRSAGENT_ENCODER", raising=False)
    active = runtime.activate(folder)
    assert active is not None and active.precision == "int8" and active.fallback_reason is None
    int8 = active.encode(TEXTS)
    monkeypatch.setenv("CRSAGENT_ENCODER", "fp32")
    fp32_encoder = OnnxEncoder(folder)
    assert fp32_encoder.precision == "fp32" and fp32_encoder.fallback_reason is None
    fp32 = fp32_encoder.encode(TEXTS)
    want = _reference(TEXTS)
    assert float((want * fp32).sum(axis=1).min()) > 0.9999
    cos8 = (want * int8).sum(axis=1)
    assert float(cos8.min()) >= INT8_MIN_COSINE and float(cos8.max()) < 0.9999  # close, but another model


def test_an_unknown_encoder_setting_is_a_config_error(monkeypatch) -> None:
    monkeypatch.setenv("CRSAGENT_ENCODER", "int4")
    with pytest.raises(ConfigError, match="int8, fp32 or torch"):
        runtime.encoder_mode()
    monkeypatch.setenv("CRSAGENT_ENCODER", "ONNX")
    assert runtime.encoder_mode() == "int8"


@pytest.mark.slow
def test_a_corrupted_int8_model_falls_back_to_fp32(exported, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("CRSAGENT_ENCODER", raising=False)
    folder = _copy(exported[0], tmp_path)
    (folder / INT8_FILE).write_bytes(b"not an onnx model")
    encoder = OnnxEncoder(folder)
    assert encoder.precision == "fp32" and "unreadable" in (encoder.fallback_reason or "")
    assert float((_reference(TEXTS) * encoder.encode(TEXTS)).sum(axis=1).min()) > 0.9999


@pytest.mark.slow
def test_a_rejected_int8_model_is_not_used(exported, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("CRSAGENT_ENCODER", raising=False)
    folder = _copy(exported[0], tmp_path)
    config = json.loads((folder / CONFIG_FILE).read_text())
    config["int8"] = {"accepted": False, "reason": "mean cosine 0.9000 < 0.985"}
    (folder / CONFIG_FILE).write_text(json.dumps(config))
    encoder = OnnxEncoder(folder)
    assert encoder.precision == "fp32"
    reason = encoder.fallback_reason or ""
    assert "rejected" in reason and "0.9000" in reason


@pytest.mark.slow
def test_quantization_below_the_thresholds_is_rejected_and_deleted(exported, tmp_path, monkeypatch) -> None:
    folder = _copy(exported[0], tmp_path)
    (folder / INT8_FILE).unlink()
    monkeypatch.setattr(quantize, "INT8_MIN_MEAN", 0.9999)  # int8 never gets this close
    record = quantize_encoder(folder, embedding.load_embedder("cpu"), TEXTS)
    assert record["accepted"] is False and record["reason"].startswith("mean cosine")
    assert record["texts"] == len(TEXTS) and record["mean_cosine"] < 0.9999
    assert not (folder / INT8_FILE).exists()
    no_texts = quantize_encoder(folder, embedding.load_embedder("cpu"), [])
    assert no_texts["accepted"] is False and "dev_turns.jsonl missing" in no_texts["reason"]
    assert not (folder / INT8_FILE).exists()


def test_judge_checks_the_mean_and_every_cosine() -> None:
    good = np.full(10, 0.995)
    assert judge(good, good)["accepted"] is True
    low_real = judge(good, np.array([0.999] * 9 + [INT8_MIN_COSINE - 0.01]))
    assert low_real["accepted"] is False and low_real["reason"].startswith("min cosine")
    low_probe = judge(np.array([0.999, INT8_MIN_COSINE - 0.01]), good)
    assert low_probe["accepted"] is False and low_probe["reason"].startswith("min cosine")
    low_mean = judge(good, np.full(10, INT8_MIN_MEAN - 0.001))
    assert low_mean["accepted"] is False and low_mean["reason"].startswith("mean cosine")


def test_seeker_utterances_are_distinct_and_deterministic(tmp_path) -> None:
    lines = [{"context": ["", "hi, what do you like?", f"I like film {i % 7}"]} for i in range(40)]
    lines.append({"context": ["", "   "]})
    path = tmp_path / "turns.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    picked = seeker_utterances(path, n=5)
    assert len(picked) == len(set(picked)) == 5 and picked == seeker_utterances(path, n=5)
    assert seeker_utterances(path, n=100) == sorted(f"I like film {i}" for i in range(7))
    path.write_text("{not json\n")
    with pytest.raises(DataError, match="line 1"):
        seeker_utterances(path)
    with pytest.raises(DataError, match="not found"):
        seeker_utterances(tmp_path / "missing.jsonl")
