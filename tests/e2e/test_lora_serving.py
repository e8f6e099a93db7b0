"""The bundled model and a LoRA adapter in one real vLLM CPU server, as two model names.

The adapter is made here with peft on the converted checkpoint (rank 16, the tuned adapter's
target modules, random non-zero ``lora_B`` so its answers differ from the base's); the server is
started through the library API with it as ``lora_modules``, the way ``crsagent llm serve``
serves the bundled tuned adapter.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from crsagent.agent.llm.lora import read_adapter
from crsagent.agent.llm.server import LLMServer, ServerConfig, prepare_server
from crsagent.agent.llm.weights import BUNDLED_MODEL_NAME
from crsagent.agent.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PROMPT = [{"role": "user", "content": "Recommend a horror movie from the 1980s."}]


def _random_adapter(base: Path, out: Path) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    config = LoraConfig(r=16, lora_alpha=32, target_modules=TARGETS, init_lora_weights=False, task_type="CAUSAL_LM")
    get_peft_model(model, config).save_pretrained(out)
    return out


def _answer(base_url: str, model: str) -> str:
    body = {"model": model, "messages": PROMPT, "max_tokens": 24, "temperature": 0}
    resp = httpx.post(base_url + "/chat/completions", json=body, timeout=300, trust_env=False)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["choices"][0]["message"]["content"])


def test_base_and_adapter_are_served_side_by_side(settings: Settings, tmp_path: Path) -> None:
    _, model_dir = prepare_server(settings.home, ServerConfig())
    adapter = read_adapter("probe-lora", _random_adapter(Path(model_dir), tmp_path / "adapter"))
    config = ServerConfig(port=0, lora_modules=(adapter,))

    def say(msg: str) -> None:
        print(f"[lora] {msg}", file=sys.stderr, flush=True)

    with LLMServer(settings.home, config, ready_timeout_s=900, log=say) as server:
        assert server.model_name == "probe-lora"  # the adapter is the default name
        assert server.model_names == (BUNDLED_MODEL_NAME, "probe-lora")
        listed = httpx.get(server.base_url + "/models", timeout=10, trust_env=False).json()["data"]
        parents = {m["id"]: m.get("parent") for m in listed}
        assert parents == {BUNDLED_MODEL_NAME: None, "probe-lora": BUNDLED_MODEL_NAME}
        base, tuned = _answer(server.base_url, BUNDLED_MODEL_NAME), _answer(server.base_url, "probe-lora")
        assert base.strip() and tuned.strip()
        assert base != tuned  # the adapter's weights take part in the adapter's answers only
        assert _answer(server.base_url, BUNDLED_MODEL_NAME) == base  # greedy, and the base is left untouched
