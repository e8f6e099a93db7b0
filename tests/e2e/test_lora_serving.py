"""The bundled model and a tuned adapter in one real vLLM CPU server, as two model names, both ways.

The adapter is made here with peft on the converted checkpoint (rank 16, the tuned adapter's
target modules, random non-zero ``lora_B`` so its answers differ from the base's). It is served
the two ways :func:`~crsagent.agent.llm.server.resolve_adapters` knows: ``lora`` (the base
checkpoint, the adapter through vLLM's LoRA path) and ``merged`` (the product's default: the
adapter merged into a copy of the checkpoint by :mod:`crsagent.agent.llm.merge`, the base through
the adapter that undoes it). Both must list and answer both names, and give each name the same
next-token distribution.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import httpx
import pytest

from crsagent.agent.llm.lora import TUNED_MODEL_NAME, LoRAModule, read_adapter
from crsagent.agent.llm.merge import BASE_LORA, merge_adapter
from crsagent.agent.llm.server import LLMServer, LLMServerConfig, prepare_server
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


def _ask(base_url: str, model: str) -> tuple[str, dict[str, float]]:
    """The greedy answer (24 tokens) and the first token's top-5 log-probabilities."""
    body = {"model": model, "messages": PROMPT, "max_tokens": 24, "temperature": 0, "logprobs": True, "top_logprobs": 5}
    resp = httpx.post(base_url + "/chat/completions", json=body, timeout=300, trust_env=False)
    assert resp.status_code == 200, resp.text
    choice = resp.json()["choices"][0]
    first = choice["logprobs"]["content"][0]["top_logprobs"]
    return str(choice["message"]["content"]), {t["token"]: t["logprob"] for t in first}


def _serve(settings: Settings, config: LLMServerConfig) -> dict[str, tuple[str, dict[str, float]]]:
    def say(msg: str) -> None:
        print(f"[lora] {msg}", file=sys.stderr, flush=True)

    with LLMServer(settings.home, config, ready_timeout_s=900, log=say) as server:
        assert server.model_name == TUNED_MODEL_NAME  # the tuned name is the default
        listed = httpx.get(server.base_url + "/models", timeout=10, trust_env=False).json()["data"]
        assert {m["id"] for m in listed} == {BUNDLED_MODEL_NAME, TUNED_MODEL_NAME}
        return {name: _ask(server.base_url, name) for name in (BUNDLED_MODEL_NAME, TUNED_MODEL_NAME)}


def _close(a: dict[str, float], b: dict[str, float]) -> bool:
    top = max(a, key=a.__getitem__)
    return top == max(b, key=b.__getitem__) and math.isclose(a[top], b[top], abs_tol=2e-3)


def test_base_and_tuned_answer_side_by_side_as_lora_and_merged(settings: Settings, tmp_path: Path) -> None:
    _, model_dir = prepare_server(settings.home, LLMServerConfig(lora_modules=()))
    adapter = read_adapter(TUNED_MODEL_NAME, _random_adapter(Path(model_dir), tmp_path / "adapter"))
    # float32 on both sides: the test compares log-probabilities to 2e-3, below bfloat16's resolution
    as_lora = _serve(
        settings, LLMServerConfig(port=0, lora_modules=(adapter,), default_name=TUNED_MODEL_NAME, dtype="float32")
    )
    base, tuned = as_lora[BUNDLED_MODEL_NAME], as_lora[TUNED_MODEL_NAME]
    assert base[0].strip() and tuned[0].strip() and base[0] != tuned[0]  # the adapter changes the answers

    merge_adapter(Path(model_dir), adapter.path, tmp_path / "merged")
    undo = LoRAModule(BUNDLED_MODEL_NAME, tmp_path / "merged" / BASE_LORA, 16)
    merged = _serve(
        settings,
        LLMServerConfig(
            port=0,
            model=str(tmp_path / "merged"),
            served_model_name=TUNED_MODEL_NAME,
            lora_modules=(undo,),
            default_name=TUNED_MODEL_NAME,
            dtype="float32",
        ),
    )
    assert _close(merged[TUNED_MODEL_NAME][1], tuned[1])  # merged checkpoint == base + adapter
    assert _close(merged[BUNDLED_MODEL_NAME][1], base[1])  # merged + undoing adapter == base
