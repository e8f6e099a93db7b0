"""The bundled chat template renders tools, tool calls and tool results (Hermes style)."""

from __future__ import annotations

import json

import jinja2
import pytest

from crsagent.agent.errors import ConfigError
from crsagent.prompts.loader import list_templates, load_template, template_path

# SmolLM2-135M-Instruct's own template (as stored in its GGUF), which renders no tools.
SMOLLM2_OWN = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_items",
            "description": "Search.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        },
    }
]


def render(source: str, messages, tools=None, add_generation_prompt=True) -> str:
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)  # as transformers renders templates
    env.filters["tojson"] = lambda v, **_: json.dumps(v, ensure_ascii=False)
    return env.from_string(source).render(messages=messages, tools=tools, add_generation_prompt=add_generation_prompt)


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "hi"}],
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "films?"},
        ],  # fmt: skip
    ],
)
def test_without_tools_it_matches_the_models_own_template(messages):
    assert render(load_template("chatml_tools.jinja"), messages) == render(SMOLLM2_OWN, messages)


def test_tools_are_listed_in_the_system_prompt():
    out = render(load_template("chatml_tools.jinja"), [{"role": "user", "content": "find alien"}], tools=TOOLS)
    system = out.split("<|im_end|>")[0]
    assert "<tools>\n" + json.dumps(TOOLS[0]) + "\n</tools>" in system
    assert "<tool_call>" in system and out.endswith("<|im_start|>assistant\n")


def test_tool_calls_and_results_round_trip():
    messages = [
        {"role": "user", "content": "find alien"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "a", "type": "function",
             "function": {"name": "search_items", "arguments": "{\"query\": \"alien\"}"}},
            {"id": "b", "type": "function", "function": {"name": "search_items", "arguments": {"query": "aliens"}}}]},
        {"role": "tool", "tool_call_id": "a", "content": "Alien (1979)"},
        {"role": "tool", "tool_call_id": "b", "content": "Aliens (1986)"},
        {"role": "user", "content": [{"type": "text", "text": "thanks"}]},
    ]  # fmt: skip
    out = render(load_template("chatml_tools.jinja"), messages, tools=TOOLS)
    calls = [json.loads(chunk.split("</tool_call>")[0]) for chunk in out.split("<tool_call>\n")[2:]]
    assert calls == [{"name": "search_items", "arguments": {"query": "alien"}},
                     {"name": "search_items", "arguments": {"query": "aliens"}}]  # fmt: skip
    assert (
        "<|im_start|>user\n<tool_response>\nAlien (1979)\n</tool_response>\n"
        "<tool_response>\nAliens (1986)\n</tool_response><|im_end|>" in out
    )
    assert "<|im_start|>user\nthanks<|im_end|>" in out


def test_loader_names_and_errors():
    assert "chatml_tools.jinja" in list_templates()
    assert template_path("chatml_tools.jinja").is_file()
    with pytest.raises(ConfigError, match="known: .*chatml_tools.jinja"):
        template_path("nope.jinja")
    with pytest.raises(ConfigError, match="leaves"):
        template_path("../loader.py")


def test_the_tool_listing_precedes_the_system_text_so_the_prefix_is_stable():
    def prompt(system: str) -> str:
        return render(
            load_template("chatml_tools.jinja"),
            [{"role": "system", "content": system}, {"role": "user", "content": "hi"}],
            tools=TOOLS,
        )

    a, b = prompt("Fixed rules.\nBelief: likes horror"), prompt("Fixed rules.\nBelief: likes comedy")
    assert a.index("</tools>") < a.index("Fixed rules.")
    common = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    assert a[:common].endswith("Fixed rules.\nBelief: likes ")  # everything before the belief is shared
