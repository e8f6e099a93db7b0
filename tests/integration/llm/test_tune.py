"""``crsagent llm tune``'s parts on the real bundled checkpoint and real teacher trajectories:
the loss mask, two training steps that give an adapter which loads and changes the logits, and
resuming from a checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crsagent.agent.errors import ConfigError
from crsagent.agent.llm.adapter import adapter_ready, write_adapter
from crsagent.agent.llm.profiles import profile_for
from crsagent.agent.llm.tune import TuneConfig, batches, load_base, train
from crsagent.agent.llm.tune_data import IGNORE, render_example, trained_turn
from crsagent.agent.llm.weights import BUNDLED_MODEL_NAME, bundled_model_dir
from crsagent.agent.settings import Settings
from crsagent.evals.datasets import load_turns
from crsagent.evals.teacher import Teacher
from crsagent.evals.trajectories import redial_trajectories, tuning_turns
from crsagent.prompts.loader import template_path
from crsagent.tools.toolkit import Toolkit


@pytest.fixture(scope="module")
def records(movies_home: Settings) -> list[dict]:
    teacher = Teacher(Toolkit.load(movies_home, "movies", eager=True))
    turns = tuning_turns(load_turns(movies_home.data_dir / "redial" / "dev_turns.jsonl"), 12, seed=5)
    out = list(redial_trajectories(teacher, turns))
    assert len(out) >= 8
    return out[:8]


@pytest.fixture(scope="module")
def base(settings: Settings):
    return load_base(bundled_model_dir(settings.home))


@pytest.fixture(scope="module")
def template() -> str:
    return template_path(profile_for(BUNDLED_MODEL_NAME).chat_template).read_text()


def test_the_loss_mask_covers_this_turns_assistant_tokens_only(records, base, template) -> None:
    _, tok = base
    for rec in records:
        ex = render_example(rec, tok, template)
        assert ex is not None and len(ex.labels) == len(ex.input_ids)
        trained = tok.decode([t for t in ex.labels if t != IGNORE])
        want = []
        for i in trained_turn(rec["messages"]):
            m = rec["messages"][i]
            want.append(m.get("content") or "")
            want += [c["function"]["name"] for c in m.get("tool_calls") or []]
        assert all(w in trained for w in want), (trained, want)
        assert trained.count("<|im_end|>") == len(trained_turn(rec["messages"]))  # each answer learns to stop
        assert "<|im_start|>" not in trained and "<tool_response>" not in trained
        system = rec["messages"][0]["content"]
        assert system[:60] not in trained  # the system prompt is context, not a target
        last_user = [m["content"] for m in rec["messages"] if m["role"] == "user"][-1]
        assert last_user not in trained


def test_two_steps_give_an_adapter_that_loads_and_changes_the_logits(
    records, base, template, settings: Settings, tmp_path: Path
) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model, tok = base
    examples = [render_example(r, tok, template) for r in records]
    cfg = TuneConfig(batch_size=4, lr=5e-3, warmup_steps=1, bf16=False, checkpoint_every=1)
    assert len(batches(examples, cfg.batch_size, cfg.max_batch_tokens, cfg.seed)) == 2
    tuned, figures = train(model, tok, examples, cfg, tmp_path / "work")
    assert figures["steps_done"] == 2 and figures["train_tokens"] > 0
    out = write_adapter(
        tuned,
        tmp_path / "adapter",
        {
            "name": "t",
            "base": {"name": "b", "source": "s", "sha256": "x"},
            "config": {**cfg.key(), "targets": list(cfg.targets)},
            "train": figures,
            "data": {},
            "validation": {},
        },
    )
    assert adapter_ready(out) and json.loads((out / "tune.json").read_text())["train"]["steps_done"] == 2

    fresh = AutoModelForCausalLM.from_pretrained(bundled_model_dir(settings.home), dtype=torch.float32)
    ids = torch.tensor([examples[0].input_ids[:128]])
    with torch.no_grad():
        before = fresh(input_ids=ids).logits
        loaded = PeftModel.from_pretrained(fresh, out)
        after = loaded(input_ids=ids).logits
    assert (after - before).abs().max().item() > 1e-3

    # a rerun with the same settings resumes from the checkpoint: nothing left to do
    again, figures2 = train(
        AutoModelForCausalLM.from_pretrained(bundled_model_dir(settings.home), dtype=torch.float32),
        tok,
        examples,
        cfg,
        tmp_path / "work",
    )
    assert figures2["resumed_from"] == 2 and figures2["steps_done"] == 2 and figures2["train_tokens"] == 0
    # ... but never on other training data, even with the same settings
    with pytest.raises(ConfigError, match="other training data"):
        train(
            AutoModelForCausalLM.from_pretrained(bundled_model_dir(settings.home), dtype=torch.float32),
            tok,
            examples[1:],
            cfg,
            tmp_path / "work",
        )
