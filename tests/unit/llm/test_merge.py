"""The tuned adapter merged into the checkpoint: same logits as peft's model, and an adapter that undoes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crsagent.agent.errors import ConfigError
from crsagent.agent.llm.merge import BASE_LORA, ensure_merged_model, merge_adapter, merged_ready

torch = pytest.importorskip("torch")
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny Llama checkpoint (SmolLM2's architecture) and a random rank-8 LoRA adapter on it."""
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    root = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=64,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(root / "base")
    base = LlamaForCausalLM.from_pretrained(root / "base")
    peft_model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=TARGETS, init_lora_weights=False))
    peft_model.save_pretrained(root / "adapter")
    return root / "base", root / "adapter"


def _logits(model_dir: Path, ids: Any, adapter: Path | None = None) -> Any:  # torch tensors
    from transformers import LlamaForCausalLM

    model: Any = LlamaForCausalLM.from_pretrained(model_dir)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    with torch.no_grad():
        return model(ids).logits


def test_the_merged_checkpoint_answers_as_peft_does_and_the_undo_adapter_gives_back_the_base(tiny, tmp_path) -> None:
    base, adapter = tiny
    summary = merge_adapter(base, adapter, tmp_path / "merged")
    assert summary == {"modules_merged": 14, "scale": 2.0, "rank": 8}
    ids = torch.tensor([[1, 5, 9, 13, 2, 40]])
    base_logits = _logits(base, ids)
    tuned_logits = _logits(base, ids, adapter)
    assert not torch.allclose(base_logits, tuned_logits, atol=1e-3)  # the adapter matters
    assert torch.allclose(_logits(tmp_path / "merged", ids), tuned_logits, atol=1e-4)
    undone = _logits(tmp_path / "merged", ids, tmp_path / "merged" / BASE_LORA)
    assert torch.allclose(undone, base_logits, atol=1e-4)
    assert (tmp_path / "merged" / "config.json").is_file() and not (
        tmp_path / "merged" / "crsagent-model.json"
    ).exists()


def test_ensure_merges_once_and_again_when_the_adapter_changes(tiny, tmp_path) -> None:
    base, adapter = tiny
    own = tmp_path / "adapter"
    own.mkdir()
    for f in adapter.iterdir():
        (own / f.name).write_bytes(f.read_bytes())
    merged, said = tmp_path / "home" / "merged", []  # type: Path, list[str]
    assert ensure_merged_model(tmp_path / "home", base, own, merged, log=said.append) == merged
    assert merged_ready(merged, base, own) and len(said) == 2
    stamp = (merged / "model.safetensors").stat().st_mtime_ns
    ensure_merged_model(tmp_path / "home", base, own, merged, log=said.append)
    assert len(said) == 2 and (merged / "model.safetensors").stat().st_mtime_ns == stamp  # reused
    config = json.loads((own / "adapter_config.json").read_text())
    (own / "adapter_config.json").write_text(json.dumps({**config, "lora_alpha": 8}))
    assert not merged_ready(merged, base, own)
    ensure_merged_model(tmp_path / "home", base, own, merged, log=said.append)
    assert len(said) == 4 and json.loads((merged / "crsagent-merged.json").read_text())["scale"] == 1.0
    assert not [p for p in merged.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left


@pytest.mark.parametrize(
    "extra", [{"use_dora": True}, {"modules_to_save": ["lm_head"]}, {"rank_pattern": {"q_proj": 4}}]
)
def test_adapters_it_cannot_merge_are_refused(tiny, tmp_path, extra) -> None:
    base, adapter = tiny
    own = tmp_path / "adapter"
    own.mkdir()
    (own / "adapter_model.safetensors").write_bytes((adapter / "adapter_model.safetensors").read_bytes())
    (own / "adapter_config.json").write_text(
        json.dumps({**json.loads((adapter / "adapter_config.json").read_text()), **extra})
    )
    with pytest.raises(ConfigError):
        merge_adapter(base, own, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_setup_merges_the_shipped_adapter_where_the_server_will_look(tiny, tmp_path, monkeypatch) -> None:
    from types import SimpleNamespace

    from crsagent.agent.llm import lora, server
    from crsagent.agent.llm.server import LLMServerConfig, prepare_server, resolve_adapters, tuned_model_dir

    base, adapter = tiny
    monkeypatch.setattr(lora, "bundled_adapter_dir", lambda: adapter)
    monkeypatch.setattr(server, "ensure_llm_env", lambda home, device, log=None: SimpleNamespace(python=Path("py")))
    monkeypatch.setattr(server, "ensure_bundled_model", lambda home, python, log=None: base)
    config = resolve_adapters(LLMServerConfig(), tmp_path)
    python, model = prepare_server(tmp_path, config)
    assert model == config.model == str(tuned_model_dir(tmp_path))
    assert merged_ready(Path(model), base, adapter)
    assert (
        config.lora_modules[0].path == Path(model) / BASE_LORA
        and (Path(model) / BASE_LORA / "adapter_config.json").is_file()
    )
