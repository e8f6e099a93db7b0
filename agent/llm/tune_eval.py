"""Validation of a tuned adapter (``crsagent llm tune``): loss, tool choice, arguments, grounding.

On held-out trajectories (the ReDial check half and unseen simulator seeds):

* ``valid_loss``: mean cross-entropy per trained token (this turn's assistant tokens);
* ``tool_name_accuracy``: greedy decoding from the turn's prompt; the first tool called (or
  none) equals the teacher's;
* ``argument_exact_match``: on the examples whose tool name is right and that call a tool, the
  parsed arguments equal the teacher's;
* ``reply_guard_pass_rate``: greedy decoding of the reply after the teacher's tool results,
  checked by the agent's own reply guard (:func:`~crsagent.graphs.dialogue.agent_reply.accept_reply`)
  against the record's belief and tool results; it passes only whole (a reply the guard cut
  short does not).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from crsagent.agent.llm.tune_data import IGNORE, Example, render_text, trained_turn

__all__ = ["parse_tool_calls", "validation_loss", "generate", "generation_metrics"]

_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)
Progress = Callable[[str, int | None], Callable[[int], None]]


def _no_tick(n: int = 1) -> None:
    """A progress bar's advance that shows nothing."""


def _no_progress(desc: str, total: int | None) -> Callable[[int], None]:
    return _no_tick


def parse_tool_calls(text: str) -> list[tuple[str, dict[str, Any]]] | None:
    """The ``(name, arguments)`` of each Hermes-style tool call in ``text`` (None: unparsable)."""
    calls = []
    for block in _CALL.findall(text):
        try:
            obj = json.loads(block)
        except ValueError:
            return None
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
            return None
        args = obj.get("arguments") or {}
        calls.append((obj["name"], args if isinstance(args, dict) else {}))
    if "<tool_call>" in text and not calls:
        return None
    return calls


def validation_loss(model: Any, examples: Sequence[Example], pad_id: int, device: str = "cpu") -> float:
    """Mean cross-entropy per trained token over ``examples`` (one at a time, no gradients)."""
    import torch

    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for ex in examples:
            ids = torch.tensor([ex.input_ids], device=device)
            labels = torch.tensor([ex.labels], device=device)
            logits = model(input_ids=ids).logits[:, :-1].float()
            total += float(
                torch.nn.functional.cross_entropy(
                    logits.reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1), ignore_index=IGNORE, reduction="sum"
                )
            )
            count += int((labels[:, 1:] != IGNORE).sum())
    return total / max(1, count)


def generate(
    model: Any, tokenizer: Any, prompt: str, max_new_tokens: int, device: str = "cpu", repetition_penalty: float = 1.0
) -> str:
    """Greedy decoding of ``prompt`` until ``<|im_end|>`` (the special tokens kept), with the
    served profile's repetition penalty."""
    import torch

    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(device)
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=end,
            pad_token_id=end,
            repetition_penalty=repetition_penalty,
        )
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=False).split("<|im_end|>")[0]


def _guard_ok(record: dict[str, Any], reply: str, toolkit: Any, first: int) -> bool:
    from langchain_core.messages import ToolMessage

    from crsagent.graphs.context import CRSContext
    from crsagent.graphs.dialogue.agent_reply import accept_reply

    scratch = [
        ToolMessage(content=m.get("content") or "", tool_call_id=m.get("tool_call_id") or "call_0", name=m.get("name"))
        for m in record["messages"][first:]
        if m.get("role") == "tool"
    ]
    names = [c["function"]["name"] for m in record["messages"][first:] for c in m.get("tool_calls") or []]
    for msg, name in zip(scratch, names):
        msg.name = msg.name or name
    state = {"belief": record.get("belief") or {}, "scratch": scratch, "messages": []}
    verdict = accept_reply(state, CRSContext(toolkit=toolkit), reply)  # type: ignore[arg-type]
    return verdict.reason is None and not verdict.note  # a reply the guard had to cut does not pass


def generation_metrics(
    model: Any,
    tokenizer: Any,
    template: str,
    records: Sequence[dict[str, Any]],
    toolkits: dict[str, Any],
    device: str = "cpu",
    progress: Progress | None = None,
    repetition_penalty: float = 1.0,
) -> dict[str, Any]:
    """Tool-name accuracy, argument exact match and reply-guard pass rate by greedy decoding.

    Args:
        model: the (tuned) model. tokenizer: its tokenizer. template: the served chat template.
        records: held-out trajectory records.
        toolkits: domain -> toolkit (the reply guard's catalogue and linker).
        device: where the model is.
        progress: a progress-bar factory.
        repetition_penalty: the served profile's (the tuned model is served without one).
    """
    model.eval()
    advance = (progress or _no_progress)("validation (greedy decoding)", len(records))
    names = args = with_call = guard = replies = 0
    samples: list[dict[str, Any]] = []
    for rec in records:
        msgs, tools = rec["messages"], rec.get("tools") or []
        turn = trained_turn(msgs)
        first = turn[0]
        want = [
            (
                c["function"]["name"],
                json.loads(c["function"]["arguments"])
                if isinstance(c["function"]["arguments"], str)
                else c["function"]["arguments"],
            )
            for c in msgs[first].get("tool_calls") or []
        ]
        text = generate(
            model,
            tokenizer,
            render_text(tokenizer, template, msgs[:first], tools, add_generation_prompt=True),
            64,
            device,
            repetition_penalty,
        )
        got = parse_tool_calls(text) or []
        name_ok = (got[0][0] if got else "") == (want[0][0] if want else "")
        names += name_ok
        if want and name_ok:
            with_call += 1
            args += got[0][1] == want[0][1]
        last = turn[-1]
        reply = generate(
            model,
            tokenizer,
            render_text(tokenizer, template, msgs[:last], tools, add_generation_prompt=True),
            200,
            device,
            repetition_penalty,
        )
        ok = "<tool_call>" not in reply and _guard_ok(rec, reply, toolkits[rec.get("domain") or "movies"], first)
        guard += ok
        replies += 1
        if len(samples) < 5:
            samples.append({"id": rec.get("id"), "call": text, "want": want, "reply": reply, "guard_ok": ok})
        advance(1)
    n = max(1, len(records))
    return {
        "valid_examples": len(records),
        "tool_name_accuracy": round(names / n, 4),
        "argument_exact_match": round(args / max(1, with_call), 4),
        "argument_examples": with_call,
        "reply_guard_pass_rate": round(guard / max(1, replies), 4),
        "samples": samples,
    }
