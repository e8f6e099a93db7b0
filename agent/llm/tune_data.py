"""Training examples for ``crsagent llm tune``: trajectories rendered exactly as vLLM serves them.

A trajectory record (``crsagent eval trajectories``) holds what the ``agent`` node sent (system
prompt, dialogue, this turn's tool call and tool results) and the teacher's final reply, in
OpenAI's chat format, plus the bound tool listing. :func:`render_example` renders it with the
chat template the bundled model is served with and the tool listing normalised the way vLLM
normalises a request's ``tools`` (:func:`served_tools`), and vLLM's own message preprocessing
(tool-call arguments parsed from JSON strings), so a training prompt is byte for byte the
prompt vLLM builds for the same request (``tests/e2e/test_tune_parity.py`` checks this against
the real server's ``/tokenize``).

Only this turn's assistant messages are trained on (the tool call and the reply, each with its
``<|im_end|>``); the system prompt, the dialogue (earlier assistant turns included: they are
the recorded human's or the teacher's past words, not this turn's output) and tool results are
masked with ``-100``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crsagent.agent.errors import ConfigError

__all__ = [
    "IGNORE",
    "Example",
    "served_tools",
    "served_messages",
    "trained_turn",
    "render_text",
    "render_example",
    "load_records",
]

#: The label of a token that is not trained on.
IGNORE = -100


@dataclass(frozen=True)
class Example:
    """One tokenised training example.

    Attributes:
        input_ids: the rendered conversation's token ids.
        labels: ``input_ids`` on this turn's assistant tokens, :data:`IGNORE` elsewhere.
        record_id: the trajectory record's ``id``.
    """

    input_ids: list[int]
    labels: list[int]
    record_id: str

    @property
    def trained_tokens(self) -> int:
        """How many tokens carry a label."""
        return sum(1 for x in self.labels if x != IGNORE)


def served_tools(tools: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tool listing as vLLM hands it to the chat template (``ChatCompletionToolsParam``
    dumped: ``type`` then ``function`` with ``name``, ``description``, ``parameters``)."""
    out = []
    for tool in tools:
        fn = tool.get("function") or {}
        if not fn.get("name"):
            raise ConfigError(f"a tool listing without a function name: {json.dumps(tool)[:200]}")
        body: dict[str, Any] = {
            "name": fn["name"],
            "description": fn.get("description"),
            "parameters": fn.get("parameters"),
        }
        out.append({"type": "function", "function": body})
    return out


def served_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages as vLLM's chat preprocessing passes them to the template: tool-call arguments
    parsed from their JSON strings into objects."""
    out = copy.deepcopy(list(messages))
    for m in out:
        for call in m.get("tool_calls") or []:
            fn = call.get("function") or {}
            if isinstance(fn.get("arguments"), str):
                try:
                    fn["arguments"] = json.loads(fn["arguments"])
                except ValueError as exc:
                    raise ConfigError(f"tool call arguments are not JSON: {fn['arguments'][:120]!r}") from exc
    return out


def trained_turn(messages: Sequence[dict[str, Any]]) -> list[int]:
    """Indices of this turn's assistant messages: those after the last user message."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    return [i for i, m in enumerate(messages) if i > last_user and m.get("role") == "assistant"]


def render_text(
    tokenizer: Any,
    template: str,
    messages: Sequence[dict[str, Any]],
    tools: Sequence[dict[str, Any]],
    *,
    add_generation_prompt: bool = False,
) -> str:
    """The prompt text vLLM builds for ``messages`` and ``tools`` with ``template``."""
    return tokenizer.apply_chat_template(
        served_messages(messages),
        tools=served_tools(tools) or None,
        chat_template=template,
        add_generation_prompt=add_generation_prompt,
        tokenize=False,
    )


def render_example(
    record: dict[str, Any], tokenizer: Any, template: str, max_tokens: int | None = None
) -> Example | None:
    """Tokenise a trajectory record with the loss on this turn's assistant messages.

    Args:
        record: a trajectory record (``messages`` and ``tools``).
        tokenizer: the served model's (fast) tokenizer.
        template: the served chat template's text.
        max_tokens: drop examples longer than this (None keeps all).

    Returns:
        The example, or None when it is longer than ``max_tokens``.

    Raises:
        ConfigError: the record has no assistant message to train on, or the template does not
            render a prompt that the full conversation extends.
    """
    messages, tools = record["messages"], record.get("tools") or []
    turn = trained_turn(messages)
    if not turn:
        raise ConfigError(f"trajectory {record.get('id')!r} has no assistant message after its last user message")
    full = render_text(tokenizer, template, messages, tools)
    spans: list[tuple[int, int]] = []
    for i in turn:
        prompt = render_text(tokenizer, template, messages[:i], tools, add_generation_prompt=True)
        upto = render_text(tokenizer, template, messages[: i + 1], tools)
        if not (upto.startswith(prompt) and full.startswith(upto)):
            raise ConfigError(f"the chat template does not render {record.get('id')!r} as a growing prompt")
        end = len(upto.rstrip("\n"))  # the answer and its <|im_end|>, not the newline after it
        spans.append((len(prompt), end))
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    if max_tokens is not None and len(ids) > max_tokens:
        return None
    labels = [
        tok if any(a <= start < b for a, b in spans) else IGNORE for tok, (start, _) in zip(ids, enc["offset_mapping"])
    ]
    return Example(input_ids=ids, labels=labels, record_id=str(record.get("id")))


def load_records(path: Path) -> list[dict[str, Any]]:
    """Read a trajectories JSONL file.

    Raises:
        ConfigError: the file is missing, empty or not JSONL.
    """
    if not path.is_file():
        raise ConfigError(f"no trajectories at {path}; write them with `crsagent eval trajectories --json {path}`")
    out: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as exc:
                    raise ConfigError(f"{path}:{n}: not JSON ({exc})") from exc
    if not out:
        raise ConfigError(f"{path} holds no trajectories")
    return out
