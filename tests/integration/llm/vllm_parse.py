"""Run vLLM's own tool parsers over raw model outputs; run by the LLM environment's Python.

Usage: ``python vllm_parse.py IN.json OUT.json``. ``IN.json`` holds ``tools`` (OpenAI tool
definitions), ``cases`` (``id``, ``parser``, ``raw``) and ``renders`` (``id``, ``parser``,
``template`` file, ``messages``, ``start``, ``end``). For each case this does what vLLM's chat
server does with a finished generation when ``tool_choice`` is ``auto``: it makes the parser
that ``--tool-call-parser`` names, lets it adjust the request, extracts the tool calls and builds
the chat-completion response (vLLM's own protocol classes). For each render it renders the
template with transformers (as vLLM does), cuts the last ``start ... end`` span out of the
prompt and parses it the same way. ``OUT.json`` gets the vLLM version, the registered parser
names, and the responses. The tokenizer is a small word-level one that knows the families'
special tokens (``<tool_call>``, ``<|python_tag|>``, ``[TOOL_CALLS]``, ...), since the real
tokenizers are not on this machine; the parsers only look tokens up by name.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any

SPECIAL = ["<tool_call>", "</tool_call>", "<|python_tag|>", "<|eot_id|>", "<|eom_id|>", "<|begin_of_text|>",
           "<|start_header_id|>", "<|end_header_id|>", "[TOOL_CALLS]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]",
           "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[INST]", "[/INST]", "<|im_start|>", "<|im_end|>"]  # fmt: skip


def tokenizer() -> Any:
    """A word-level fast tokenizer with the families' special tokens added."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"<unk>": 0, "<s>": 1, "</s>": 2}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    fast.add_tokens(SPECIAL, special_tokens=True)
    return fast


def main(inp: str, out: str) -> None:
    """Parse every case and render of ``inp`` and write the responses to ``out``."""
    import vllm
    from vllm.entrypoints.generate.base.protocol import ToolCall
    from vllm.entrypoints.openai.chat_completion.protocol import (
        ChatCompletionRequest,
        ChatCompletionResponse,
        ChatCompletionResponseChoice,
        ChatMessage,
    )
    from vllm.entrypoints.serve.engine.protocol import UsageInfo
    from vllm.entrypoints.serve.utils.tool_calls_utils import maybe_filter_parallel_tool_calls
    from vllm.parser import ParserManager
    from vllm.renderers.chat_utils import make_tool_call_id
    from vllm.tool_parsers import ToolParserManager

    spec = json.loads(open(inp, encoding="utf-8").read())
    tools = spec["tools"]
    tok = tokenizer()

    def respond(parser_name: str, raw: str) -> dict[str, Any]:
        # As OpenAIServingChat does (vllm 0.32, entrypoints/openai/chat_completion/serving.py):
        # the parser class composed at start-up, adjust_request while rendering, then parse()
        # of the finished text and the message of the tool_choice="auto" branch.
        parser_cls = ParserManager.get_parser(
            tool_parser_name=parser_name,
            enable_auto_tools=True,
            tool_strict_level="parameter",
            model_name="contract",
            tokenizer=tok,
        )
        request = ChatCompletionRequest(model="contract", messages=[{"role": "user", "content": "hi"}], tools=tools,
                                        tool_choice="auto")  # fmt: skip
        request = parser_cls(tok, request.tools, model_config=None, chat_template_kwargs={}).adjust_request(
            request=request
        )
        parser = parser_cls(tok, request.tools, chat_template_kwargs={}, model_config=None)
        token_ids = tok.encode(raw, add_special_tokens=False)
        _reasoning, content, tool_calls = parser.parse(
            raw, request, enable_auto_tools=True, model_output_token_ids=token_ids
        )
        if tool_calls:
            message = ChatMessage(
                role="assistant",
                content=content,
                tool_calls=[ToolCall(id=tc.id or make_tool_call_id(), function=tc) for tc in tool_calls],
            )
        else:
            message = ChatMessage(role="assistant", content=content)
        choice = ChatCompletionResponseChoice(
            index=0, message=message, finish_reason="tool_calls" if tool_calls else "stop"
        )
        choice = maybe_filter_parallel_tool_calls(choice, request)
        response = ChatCompletionResponse(id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time()), model="contract",
                                          choices=[choice],
                                          usage=UsageInfo(prompt_tokens=9, completion_tokens=len(token_ids),
                                                          total_tokens=9 + len(token_ids)))  # fmt: skip
        return json.loads(response.model_dump_json())

    result: dict[str, Any] = {
        "vllm": vllm.__version__,
        "parsers": ToolParserManager.list_registered(),
        "responses": {case["id"]: respond(case["parser"], case["raw"]) for case in spec["cases"]},
        "renders": {},
    }
    for job in spec.get("renders", []):
        prompt = tok.apply_chat_template(job["messages"], tools=tools, chat_template=open(job["template"]).read(),
                                         tokenize=False, add_generation_prompt=False)  # fmt: skip
        start = prompt.rindex(job["start"]) + len(job["start"])
        end = prompt.index(job["end"], start)
        raw = prompt[start:end]
        result["renders"][job["id"]] = {"prompt": prompt, "raw": raw, "response": respond(job["parser"], raw)}
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result, fh, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
