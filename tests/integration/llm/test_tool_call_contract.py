"""Contract: each family's raw tool-call output, through vLLM's parser and the project's client.

The path under test is the one a served model's answer takes: the raw text the model wrote
(``recorded_outputs.json``: Hermes ``<tool_call>``, Llama 3 JSON, Mistral ``[TOOL_CALLS]``) goes
through vLLM's own parser for the family, the one ``--tool-call-parser`` names (run in the LLM
environment by ``vllm_parse.py``, the way vLLM's chat server runs it), which yields the
chat-completion response vLLM would send; a loopback stub serves that response to the
project's client (``make_chat_model``, langchain-openai), which must turn it into an
``AIMessage`` with the right tool calls, or, for a malformed output, with no tool call and
the text as content. The families' chat templates are also rendered with transformers and
the calls they render are parsed back with the same parser.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from crsagent.agent.llm.client import make_chat_model
from crsagent.agent.llm.profiles import PROFILES, profile_for
from crsagent.agent.llm.real_llm_switch import allow_real_llm
from crsagent.agent.settings import Settings
from crsagent.prompts.loader import template_path

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
RECORDED = json.loads((HERE / "recorded_outputs.json").read_text(encoding="utf-8"))
TOOLS: list[dict[str, Any]] = RECORDED["tools"]
CASES: list[dict[str, Any]] = RECORDED["cases"]

CALLS = [
    {"id": "call_0a1b2c3d4e5f", "type": "function",
     "function": {"name": "get_items", "arguments": {"ids": ["m:1214"]}}},
    {"id": "call_9z8y7x6w5v4u", "type": "function",
     "function": {"name": "recommend", "arguments": "{\"like\": [\"m:1214\"], \"genres\": [\"Sci-Fi\"], \"k\": 3}"}},
]  # fmt: skip
HISTORY = [
    {"role": "system", "content": "You recommend films."},
    {"role": "user", "content": "Something like Alien?"},
    {"role": "assistant", "content": None, "tool_calls": CALLS},
]
#: (render id, profile whose parser and template are used, span around the rendered call)
RENDERS = [
    ("smollm2-template", "smollm2", "<|im_start|>assistant\n", "<|im_end|>"),
    ("llama3-template", "llama3", "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>"),
    ("mistral-template", "mistral", "[/INST]", "</s>"),
]
FAMILY_PROFILE = {
    "qwen": "Qwen/Qwen2.5-7B-Instruct",
    "hermes": "NousResearch/Hermes-3-Llama-3.1-8B",
    "llama3": "meta-llama/Llama-3.1-8B-Instruct",
    "mistral": "mistralai/Mistral-7B-Instruct-v0.3",
}


@pytest.fixture(scope="module")
def parsed(llm_env_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """vLLM's responses for every case and render (one subprocess in the LLM environment)."""
    folder = tmp_path_factory.mktemp("vllm-contract")
    by_name = {p.name: p for p in PROFILES}
    renders = [
        {
            "id": rid,
            "parser": by_name[prof].tool_call_parser,
            "template": str(template_path(by_name[prof].chat_template)),
            "messages": HISTORY,
            "start": start,
            "end": end,
        }
        for rid, prof, start, end in RENDERS
    ]
    (folder / "in.json").write_text(json.dumps({"tools": TOOLS, "cases": CASES, "renders": renders}), encoding="utf-8")
    proc = subprocess.run(
        [str(llm_env_python), str(HERE / "vllm_parse.py"), str(folder / "in.json"), str(folder / "out.json")],
        capture_output=True,
        text=True,
        timeout=540,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(folder),
            "VLLM_NO_USAGE_STATS": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        },
    )
    assert proc.returncode == 0, (
        f"vllm_parse.py failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return json.loads((folder / "out.json").read_text(encoding="utf-8"))


def _through_client(stub: Any, response: dict[str, Any]) -> AIMessage:
    """The project's client, bound to the tools, asking the stub that answers ``response``."""
    stub.body = response
    settings = Settings.from_env(llm_base_url=stub.base_url, llm_model="contract")
    chat = make_chat_model(settings, base_url=stub.base_url, model="contract", max_retries=0, forbid_default=False)
    with allow_real_llm():
        answer = chat.bind_tools(TOOLS, tool_choice="auto").invoke([HumanMessage("Something like Alien, after 2010?")])
    assert isinstance(answer, AIMessage)
    sent = stub.requests[-1]
    assert [t["function"]["name"] for t in sent["tools"]] == ["recommend", "get_items"] and sent[
        "tool_choice"
    ] == "auto"
    return answer


def test_the_profiles_parsers_exist_in_the_installed_vllm(parsed):
    served = {p.tool_call_parser for p in PROFILES if p.tool_call_parser}
    assert served == {"hermes", "llama3_json", "mistral"}
    missing = served - set(parsed["parsers"])
    assert not missing, f"vllm {parsed['vllm']} has no tool parser named {sorted(missing)}"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_raw_output_reaches_the_agent_as_the_right_tool_calls(case, parsed, completion_stub):
    assert profile_for(FAMILY_PROFILE[case["family"]]).tool_call_parser == case["parser"]
    response = parsed["responses"][case["id"]]
    answer = _through_client(completion_stub, response)
    expect = case["expect"]
    got = [{"name": c["name"], "args": c["args"]} for c in answer.tool_calls]
    assert got == expect["tool_calls"]
    assert answer.invalid_tool_calls == []
    assert all(c["id"] and c["type"] == "tool_call" for c in answer.tool_calls)
    assert len({c["id"] for c in answer.tool_calls}) == len(answer.tool_calls)
    content = case["raw"] if expect["content"] == "=raw" else expect["content"]
    assert answer.content == content
    finish = answer.response_metadata.get("finish_reason")
    assert finish == ("tool_calls" if expect["tool_calls"] else "stop")


@pytest.mark.parametrize("case", [c for c in CASES if c.get("malformed")], ids=lambda c: c["id"])
def test_a_malformed_call_yields_no_tool_call_and_keeps_the_text(case, parsed, completion_stub):
    answer = _through_client(completion_stub, parsed["responses"][case["id"]])
    assert answer.tool_calls == [] and answer.invalid_tool_calls == []
    assert isinstance(answer.content, str) and '"recommend"' in answer.content
    assert answer.content in case["raw"] and len(answer.content) >= len(case["raw"]) - len("[TOOL_CALLS] ")


def test_every_family_has_a_malformed_case():
    families = {FAMILY_PROFILE[c["family"]] for c in CASES if c.get("malformed")}
    assert {profile_for(m).tool_call_parser for m in families} == {"hermes", "llama3_json", "mistral"}


@pytest.mark.parametrize("render", RENDERS, ids=[r[0] for r in RENDERS])
def test_calls_rendered_by_the_template_parse_back(render, parsed, completion_stub):
    rid = render[0]
    out = parsed["renders"][rid]
    assert "recommend" in out["prompt"].split(render[2])[0]  # the tools are in the prompt, before the call
    answer = _through_client(completion_stub, out["response"])
    expected = [{"name": c["function"]["name"], "args": c["function"]["arguments"]} for c in CALLS]
    for call in expected:
        if isinstance(call["args"], str):
            call["args"] = json.loads(call["args"])
    assert [{"name": c["name"], "args": c["args"]} for c in answer.tool_calls] == expected, out["raw"]
