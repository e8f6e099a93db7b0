"""Structured output: an LLM answer that validates against a pydantic schema, or a typed error.

The request is constrained the way the model's profile says: a JSON-schema ``response_format``
(vLLM enforces it with guided decoding) or one tool whose parameters are the schema, forced by
name. The answer is validated with pydantic. An invalid answer gets exactly one repair retry
(the model sees its answer and the validation error); a second failure raises
:class:`~crsagent.agent.errors.LLMOutputError`. Server failures raise
:class:`~crsagent.agent.errors.LLMUnavailableError` at once (the HTTP client already retried).

The exchange (request, validation, repair messages, the give-up) is written once, as steps
(:func:`structured_exchange`, :mod:`crsagent.agent.llm.steps`): :func:`invoke_structured` and
:func:`ainvoke_structured` drive it with the blocking and the async API, and the graph's nodes
run it with ``yield from`` (:func:`crsagent.graphs.dialogue.llm_step.structured_steps`, which
adds the turn's LLM budget as the condition of a repair).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ValidationError

from crsagent.agent.errors import LLMOutputError, UserError
from crsagent.agent.llm.profiles import ModelProfile, StructuredMethod, profile_for
from crsagent.agent.llm.steps import ChatCall, Steps, adrive, aperform_chat, drive, perform_chat
from crsagent.agent.llm.usage import UsageMeter

__all__ = [
    "REPAIR_ATTEMPTS",
    "response_format_for",
    "structured_request",
    "parse_structured",
    "repair_messages",
    "structured_exchange",
    "invoke_structured",
    "ainvoke_structured",
]

T = TypeVar("T", bound=BaseModel)

#: Repair attempts after the first invalid answer (the issue asks for one, bounded).
REPAIR_ATTEMPTS = 1


def response_format_for(schema: type[BaseModel]) -> dict[str, Any]:
    """The OpenAI ``response_format`` that asks for JSON following ``schema``.

    ``strict`` is left out: vLLM constrains decoding to the schema without it, and OpenAI's
    strict mode would reject ordinary pydantic schemas (optional fields, defaults). The answer
    is validated with pydantic either way.
    """
    return json.loads(_response_format_json(schema))  # a fresh copy: callers may edit it


@lru_cache(maxsize=128)
def _response_format_json(schema: type[BaseModel]) -> str:
    """The response format as JSON text, built once per schema (schema generation is slow)."""
    doc = (schema.__doc__ or "").strip().split("\n\n")[0].strip()
    spec: dict[str, Any] = {"name": schema.__name__, "schema": schema.model_json_schema()}
    if doc:
        spec["description"] = doc
    return json.dumps({"type": "json_schema", "json_schema": spec})


def _profile_for_model(model: Any) -> ModelProfile:
    name = getattr(model, "model_name", None) or getattr(model, "model", None)
    return profile_for(name if isinstance(name, str) else None)


def structured_request(model: BaseChatModel, schema: type[BaseModel], method: StructuredMethod) -> Runnable[Any, Any]:
    """The model bound so that its answer follows ``schema`` (constrained decoding where served).

    Args:
        model: a chat model (``ChatOpenAI`` or a fake from ``crsagent.agent.testing``).
        schema: the pydantic model the answer must validate against.
        method: ``json_schema`` (response_format) or ``tool_call`` (a tool forced by name).
    """
    if method == "json_schema":
        return model.bind(response_format=response_format_for(schema))
    if method == "tool_call":
        return model.bind_tools([schema], tool_choice=schema.__name__, parallel_tool_calls=False)
    raise UserError(f"unknown structured-output method {method!r}")


def parse_structured(message: AIMessage, schema: type[T], method: StructuredMethod) -> T:
    """Validate one answer against ``schema``.

    Raises:
        LLMOutputError: the answer is empty, not JSON, or does not validate.
    """
    try:
        if method == "tool_call":
            calls = [c for c in message.tool_calls if c.get("name") == schema.__name__]
            if not calls:
                bad = message.invalid_tool_calls
                detail = f"; invalid tool call: {bad[0].get('error') or bad[0].get('args')}" if bad else ""
                raise LLMOutputError(f"expected a call of tool {schema.__name__!r}{detail}")
            return schema.model_validate(calls[0]["args"])
        text = message.text if isinstance(message.text, str) else str(message.content)
        if not text.strip():
            raise LLMOutputError("the answer is empty")
        return schema.model_validate_json(text)
    except ValidationError as exc:
        raise LLMOutputError(f"the answer does not match {schema.__name__}: {_brief(exc)}") from exc


def _brief(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        parts.append(f"{loc}: {err.get('msg')}")
    return "; ".join(parts)


def repair_messages(answer: AIMessage, error: LLMOutputError, method: StructuredMethod) -> list[BaseMessage]:
    """The messages that ask the model to repair an invalid answer.

    Args:
        answer: the invalid answer (an empty ``AIMessage`` when the request itself failed
            with :class:`~crsagent.agent.errors.LLMOutputError`, e.g. cut off).
        error: why it is invalid.
        method: the structured-output method: with ``tool_call`` the answer's tool calls get
            error results; otherwise the answer (first 2,000 characters) and a user hint follow.

    Returns:
        The messages to append to the conversation before the repair request.
    """
    hint = f"Your answer was invalid: {error}. Answer again, following the schema exactly."
    if method == "tool_call" and answer.tool_calls:
        return [answer] + [
            ToolMessage(content=hint, tool_call_id=call["id"] or f"call_{i}", status="error")
            for i, call in enumerate(answer.tool_calls)
        ]
    shown = answer.text if isinstance(answer.text, str) else str(answer.content)
    return [AIMessage(content=shown[:2000]), HumanMessage(content=hint)]


def structured_exchange(
    model: Any,
    messages: Sequence[BaseMessage],
    schema: type[T],
    method: StructuredMethod,
    *,
    usage: UsageMeter | None = None,
    may_repair: Callable[[], bool] | None = None,
) -> Steps[T]:
    """One structured answer with its repair, as steps: ``yield``s each :class:`ChatCall`.

    Drive it with :func:`~crsagent.agent.llm.steps.drive` / ``adrive``, or ``yield from`` it in
    a graph node. An invalid answer (or a request that fails with
    :class:`~crsagent.agent.errors.LLMOutputError`) is counted on ``usage`` and repaired
    ``REPAIR_ATTEMPTS`` times at most, and only while ``may_repair()`` says so; other errors
    thrown in at a ``yield`` (server down) propagate at once.

    Args:
        model: the chat model; it is bound for ``schema`` here (:func:`structured_request`).
        messages: the conversation so far.
        schema: the pydantic model the answer must validate against.
        method: ``json_schema`` or ``tool_call``.
        usage: a meter for every request (sent with each ``ChatCall``) and invalid answer.
        may_repair: asked before each repair (e.g. the turn's LLM budget); default: always.

    Returns:
        A validated ``schema`` instance.

    Raises:
        LLMOutputError: the last answer was invalid and no repair was left or allowed.
    """
    bound = structured_request(model, schema, method)
    convo = list(messages)
    for attempt in range(REPAIR_ATTEMPTS + 1):
        answer: AIMessage | None = None
        try:
            answer = yield ChatCall(bound, convo, usage)
            return parse_structured(answer, schema, method)
        except LLMOutputError as exc:
            if usage is not None:
                usage.add_invalid()
            if attempt == REPAIR_ATTEMPTS or (may_repair is not None and not may_repair()):
                raise LLMOutputError(f"{exc} (after {attempt} repair attempt(s))") from exc
            convo = convo + repair_messages(answer or AIMessage(content=""), exc, method)
    raise AssertionError("unreachable")  # pragma: no cover


def _setup(model: BaseChatModel, profile: ModelProfile | None, method: StructuredMethod | None) -> StructuredMethod:
    prof = profile or _profile_for_model(model)
    return method or prof.structured_method


def invoke_structured(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    schema: type[T],
    profile: ModelProfile | None = None,
    *,
    usage: UsageMeter | None = None,
    method: StructuredMethod | None = None,
) -> T:
    """Ask for an answer that validates against ``schema``; repair once, then give up.

    Args:
        model: the chat model (from :func:`~crsagent.agent.llm.client.make_chat_model` or a fake).
        messages: the conversation so far.
        schema: the pydantic model to return.
        profile: the model's profile (decides the method); default from the model name.
        usage: an optional meter for token usage (every attempt counts).
        method: overrides the profile's structured-output method.

    Returns:
        A validated ``schema`` instance.

    Raises:
        LLMOutputError: the answer and its one repair were both invalid.
        LLMUnavailableError: the server is unreachable, timed out, or failed.
    """
    how = _setup(model, profile, method)
    return drive(structured_exchange(model, messages, schema, how, usage=usage), perform_chat)


async def ainvoke_structured(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    schema: type[T],
    profile: ModelProfile | None = None,
    *,
    usage: UsageMeter | None = None,
    method: StructuredMethod | None = None,
) -> T:
    """Async :func:`invoke_structured`: the same exchange, awaited on the event loop."""
    how = _setup(model, profile, method)
    return await adrive(structured_exchange(model, messages, schema, how, usage=usage), aperform_chat)
