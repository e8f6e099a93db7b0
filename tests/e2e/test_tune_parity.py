"""Prompt parity: a training example's prompt is, token for token, the prompt vLLM builds when the
``agent`` node sends the same request.

The request body is the one langchain-openai builds for the node's messages and bound tool
listing; the real server renders it through its ``/tokenize`` endpoint (the same chat template,
tool normalisation and message preprocessing as ``/v1/chat/completions``).
"""

from __future__ import annotations

import httpx
import pytest
from langchain_openai import ChatOpenAI
from transformers import AutoTokenizer

from crsagent.agent.llm.profiles import profile_for
from crsagent.agent.llm.tune_data import render_example, render_text, trained_turn
from crsagent.agent.llm.weights import BUNDLED_MODEL_NAME, bundled_model_dir
from crsagent.agent.settings import Settings
from crsagent.evals.datasets import load_turns
from crsagent.evals.teacher import Teacher
from crsagent.evals.trajectories import redial_trajectories, tuning_turns
from crsagent.prompts.loader import template_path
from crsagent.tools.toolkit import Toolkit

pytestmark = pytest.mark.e2e


def test_training_prompts_are_the_prompts_vllm_serves(
    vllm_server: tuple[str, str], movies_home: Settings, settings: Settings
) -> None:
    base_url, model = vllm_server
    teacher = Teacher(Toolkit.load(movies_home, "movies", eager=True))
    turns = tuning_turns(load_turns(movies_home.data_dir / "redial" / "dev_turns.jsonl"), 4, seed=11)
    records = list(redial_trajectories(teacher, turns))
    record, request = records[-1], teacher.last_request
    assert request is not None and record["tools_called"], (
        "the last turn should call a tool (its result is in the prompt)"
    )

    llm = ChatOpenAI(base_url=base_url, api_key="EMPTY", model=model)
    bound = llm.bind_tools(record["tools"], tool_choice="auto")
    # the body the node sends (bind_tools returns a RunnableBinding, which has kwargs)
    payload = llm._get_request_payload(list(request.messages), **bound.kwargs)  # type: ignore[attr-defined]
    resp = httpx.post(
        base_url.removesuffix("/v1") + "/tokenize",
        timeout=60,
        json={
            "model": model,
            "messages": payload["messages"],
            "tools": payload["tools"],
            "add_generation_prompt": True,
        },
    )
    resp.raise_for_status()
    served = resp.json()["tokens"]

    tok = AutoTokenizer.from_pretrained(bundled_model_dir(settings.home))
    template = template_path(profile_for(BUNDLED_MODEL_NAME).chat_template).read_text()
    reply_at = trained_turn(record["messages"])[-1]
    ours = tok(
        render_text(tok, template, record["messages"][:reply_at], record["tools"], add_generation_prompt=True),
        add_special_tokens=False,
    )["input_ids"]
    assert ours == served, tok.decode(served)[-400:]
    example = render_example(record, tok, template)
    assert (
        example is not None and example.input_ids[: len(served)] == served
    )  # the trained reply continues the served prompt
    assert "<tool_response>" in tok.decode(served) and '"name": "recommend"' in tok.decode(served)
