"""The Llama 3 and Mistral tools templates render tools, calls and results in the family's format.

Rendered the way transformers renders chat templates (a sandboxed jinja2 environment with
``trim_blocks`` and ``lstrip_blocks``); the calls they render are in the format that vLLM's
``llama3_json`` and ``mistral`` parsers read (``tests/integration/llm`` runs those parsers).
"""

from __future__ import annotations

import json
import re

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from crsagent.prompts.loader import load_template

TOOLS = [
    {"type": "function", "function": {"name": "recommend", "description": "Rank the catalogue.",
     "parameters": {"type": "object", "properties": {"k": {"type": "integer"}, "genres": {"type": "array"}}}}},
    {"type": "function", "function": {"name": "get_items", "description": "Facts about items.",
     "parameters": {"type": "object", "properties": {"ids": {"type": "array"}}, "required": ["ids"]}}},
]  # fmt: skip

DIALOGUE = [
    {"role": "system", "content": "You recommend films."},
    {"role": "user", "content": "Something like Alien?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "chatcmpl-tool-0123456789abcdef", "type": "function",
         "function": {"name": "recommend", "arguments": "{\"k\": 3, \"genres\": [\"Horror\"]}"}},
        {"id": "ab", "type": "function", "function": {"name": "get_items", "arguments": {"ids": ["m1"]}}}]},
    {"role": "tool", "tool_call_id": "chatcmpl-tool-0123456789abcdef", "content": "[\"Aliens\", \"Prometheus\"]"},
    {"role": "tool", "tool_call_id": "ab", "content": "Aliens (1986)"},
    {"role": "assistant", "content": "Try Aliens."},
    {"role": "user", "content": [{"type": "text", "text": "Older ones?"}]},
]  # fmt: skip


def render(name: str, messages, tools=None, add_generation_prompt=True) -> str:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda v, indent=None, **_: json.dumps(v, ensure_ascii=False, indent=indent)
    return env.from_string(load_template(name)).render(
        messages=messages, tools=tools, add_generation_prompt=add_generation_prompt,
        bos_token="<s>" if name.startswith("mistral") else "<|begin_of_text|>",
        eos_token="</s>" if name.startswith("mistral") else "<|eot_id|>",
    )  # fmt: skip


def test_llama3_lists_tools_in_the_system_block_and_renders_json_calls():
    out = render("llama3_json_tools.jinja", DIALOGUE, tools=TOOLS)
    assert out.startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n")
    system = out.split("<|eot_id|>")[0]
    for tool in TOOLS:
        assert json.dumps(tool["function"], indent=4) in system
    assert system.endswith("You recommend films.")
    blocks = re.findall(r"<\|start_header_id\|>(\w+)<\|end_header_id\|>\n\n(.*?)<\|eot_id\|>", out, flags=re.S)
    roles = [role for role, _ in blocks]
    assert roles == ["system", "user", "assistant", "ipython", "ipython", "assistant", "user"]
    calls = [json.loads(part) for part in blocks[2][1].split("; ")]
    assert calls == [{"name": "recommend", "parameters": {"k": 3, "genres": ["Horror"]}},
                     {"name": "get_items", "parameters": {"ids": ["m1"]}}]  # fmt: skip
    assert blocks[3][1] == '["Aliens", "Prometheus"]' and blocks[6][1] == "Older ones?"
    assert out.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")


def test_llama3_without_tools_is_the_plain_llama3_prompt():
    out = render("llama3_json_tools.jinja", [{"role": "user", "content": "hi"}], add_generation_prompt=False)
    assert "ipython" not in out and "functions" not in out
    assert out == ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: "
                   "December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>"
                   "\n\nhi<|eot_id|>")  # fmt: skip


def test_mistral_puts_tools_and_system_before_the_last_user_turn():
    out = render("mistral_tools.jinja", DIALOGUE, tools=TOOLS)
    assert out.startswith("<s>[INST] Something like Alien?[/INST][TOOL_CALLS] [")
    assert out.count("[AVAILABLE_TOOLS]") == 1
    available = out.split("[AVAILABLE_TOOLS] ")[1].split("[/AVAILABLE_TOOLS]")[0]
    assert json.loads(available) == TOOLS
    last = out.split("[/AVAILABLE_TOOLS]")[1]
    assert last.startswith("[INST] When you call tools") and last.endswith("You recommend films.\n\nOlder ones?[/INST]")


def test_mistral_calls_and_results_carry_nine_character_ids():
    out = render("mistral_tools.jinja", DIALOGUE, tools=TOOLS)
    calls = json.loads(out.split("[TOOL_CALLS] ")[1].split("</s>")[0])
    assert calls == [{"name": "recommend", "arguments": {"k": 3, "genres": ["Horror"]}, "id": "789abcdef"},
                     {"name": "get_items", "arguments": {"ids": ["m1"]}, "id": "0000000ab"}]  # fmt: skip
    results = [json.loads(r) for r in re.findall(r"\[TOOL_RESULTS\] (.*?)\[/TOOL_RESULTS\]", out)]
    assert results == [{"content": '["Aliens", "Prometheus"]', "call_id": "789abcdef"},
                       {"content": "Aliens (1986)", "call_id": "0000000ab"}]  # fmt: skip
    assert " Try Aliens.</s>" in out


@pytest.mark.parametrize("name", ["llama3_json_tools.jinja", "mistral_tools.jinja"])
def test_templates_accept_a_conversation_without_a_system_message(name):
    out = render(name, [{"role": "user", "content": "hi"}], tools=TOOLS)
    assert "hi" in out and "recommend" in out and "None" not in out
