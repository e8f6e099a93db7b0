"""One LLM request inside a node: budget check, typed failure, usage accounting.

Nodes never let an LLM failure escape. Each helper here returns ``(result, usage_update)``;
``result`` is None when the step could not run (budget exhausted, server down, unusable
answer), and ``usage_update`` then carries ``degraded=True`` with a note, so the node takes
its deterministic path. Developer mistakes (a real request in unit tests, a bug) still raise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, BaseMessage
from pydantic import BaseModel

from crsagent.agent.errors import BudgetExceededError, LLMError, LLMOutputError
from crsagent.agent.llm.profiles import ModelProfile, profile_for
from crsagent.agent.llm.structured import structured_exchange
from crsagent.agent.llm.usage import UsageMeter
from crsagent.graphs.context import CRSContext
from crsagent.graphs.effects import ChatCall, Steps, run_steps
from crsagent.graphs.state import TurnUsage

__all__ = [
    "model_profile",
    "check_llm_budget",
    "llm_calls_left",
    "structured_step",
    "structured_steps",
    "chat_step",
    "chat_steps",
    "meter_usage",
    "degraded",
]

T = TypeVar("T", bound=BaseModel)


def model_profile(ctx: CRSContext) -> ModelProfile:
    """The context's model profile, else the profile matching the model's name."""
    if ctx.model_profile is not None:
        return ctx.model_profile
    name = getattr(ctx.llm, "model_name", None) or getattr(ctx.llm, "model", None)
    return profile_for(name if isinstance(name, str) else None)


def llm_calls_left(ctx: CRSContext, usage: Mapping[str, Any] | None) -> int:
    """LLM requests this turn may still make."""
    return ctx.budgets.llm_calls - int((usage or {}).get("llm_calls", 0))


def check_llm_budget(ctx: CRSContext, usage: Mapping[str, Any] | None, reserve: int = 0) -> None:
    """Raise unless one more LLM request fits, keeping ``reserve`` requests for later steps.

    Raises:
        BudgetExceededError: the turn's LLM budget is spent.
    """
    if ctx.llm is None:
        raise BudgetExceededError("llm_calls (no chat model configured)", 0)
    if llm_calls_left(ctx, usage) < 1 + reserve:
        raise BudgetExceededError("llm_calls", ctx.budgets.llm_calls)


def meter_usage(meter: UsageMeter) -> TurnUsage:
    """A usage update from a meter (failed requests count as calls)."""
    d = meter.as_dict()
    return {
        "llm_calls": d["calls"] + d["failed_calls"],
        "prompt_tokens": d["prompt_tokens"],
        "completion_tokens": d["completion_tokens"],
        "total_tokens": d["total_tokens"],
    }


def degraded(note: str, base: TurnUsage | None = None) -> TurnUsage:
    """A usage update that marks the turn degraded with a note."""
    out: dict[str, Any] = dict(base or {})
    out["degraded"] = True
    out["notes"] = list(out.get("notes") or []) + [note]
    return out  # type: ignore[return-value]


def structured_step(
    ctx: CRSContext,
    usage: Mapping[str, Any] | None,
    messages: Sequence[BaseMessage],
    schema: type[T],
    *,
    step: str,
    reserve: int = 0,
) -> tuple[T | None, TurnUsage]:
    """:func:`structured_steps`, run with the blocking API."""
    return run_steps(structured_steps(ctx, usage, messages, schema, step=step, reserve=reserve))


def structured_steps(
    ctx: CRSContext,
    usage: Mapping[str, Any] | None,
    messages: Sequence[BaseMessage],
    schema: type[T],
    *,
    step: str,
    reserve: int = 0,
) -> Steps[tuple[T | None, TurnUsage]]:
    """One structured-output request (JSON schema or forced tool, as the profile says), as node
    steps (:mod:`crsagent.graphs.effects`: ``yield from`` it in a node generator).

    The exchange is :func:`crsagent.agent.llm.structured.structured_exchange`, the one that
    :func:`~crsagent.agent.llm.structured.invoke_structured` drives: the same request, repair
    messages and ``REPAIR_ATTEMPTS``. An invalid answer gets its repair request only when the
    turn's LLM budget still allows one beyond ``reserve``.

    Args:
        ctx: the run context (LLM, profile, budgets).
        usage: the turn's usage so far.
        messages: the prompt.
        schema: the pydantic model the answer must validate against.
        step: the step's name, for notes.
        reserve: LLM requests to keep for later steps of the turn.

    Returns:
        (validated answer or None, usage update).
    """
    try:
        check_llm_budget(ctx, usage, reserve)
    except BudgetExceededError as exc:
        return None, degraded(f"{step}: {exc}")
    meter = UsageMeter()
    before = int((usage or {}).get("llm_calls", 0))

    def may_repair() -> bool:  # the repair must fit the turn's budget, keeping the reserve
        return llm_calls_left(ctx, {"llm_calls": before + meter.calls + meter.failed_calls}) >= 1 + reserve

    method = model_profile(ctx).structured_method
    try:
        answer = yield from structured_exchange(ctx.llm, messages, schema, method, usage=meter, may_repair=may_repair)
    except LLMOutputError as exc:
        return None, degraded(f"{step}: {exc}", meter_usage(meter))
    except LLMError as exc:
        return None, degraded(f"{step}: {type(exc).__name__}: {exc}", meter_usage(meter))
    return answer, meter_usage(meter)


def chat_step(
    ctx: CRSContext,
    usage: Mapping[str, Any] | None,
    messages: Sequence[BaseMessage],
    *,
    step: str,
    reserve: int = 0,
    model: Any = None,
) -> tuple[AIMessage | None, TurnUsage]:
    """:func:`chat_steps`, run with the blocking API."""
    return run_steps(chat_steps(ctx, usage, messages, step=step, reserve=reserve, model=model))


def chat_steps(
    ctx: CRSContext,
    usage: Mapping[str, Any] | None,
    messages: Sequence[BaseMessage],
    *,
    step: str,
    reserve: int = 0,
    model: Any = None,
    on_chunk: Any = None,
) -> Steps[tuple[AIMessage | None, TurnUsage]]:
    """One plain chat request (text or tool calls), as node steps (``yield from`` it).

    Args:
        ctx: the run context.
        usage: the turn's usage so far.
        messages: the prompt.
        step: the step's name, for notes.
        reserve: LLM requests to keep for later steps.
        model: a bound model (``bind_tools``) to call instead of ``ctx.llm``.
        on_chunk: stream the answer through it (:class:`~crsagent.graphs.effects.ChatCall`).

    Returns:
        (the AIMessage or None, usage update). An empty answer without tool calls counts as
        a failure.
    """
    try:
        check_llm_budget(ctx, usage, reserve)
    except BudgetExceededError as exc:
        return None, degraded(f"{step}: {exc}")
    meter = UsageMeter()
    try:
        answer = yield ChatCall(model if model is not None else ctx.llm, list(messages), meter, on_chunk)
    except LLMError as exc:
        return None, degraded(f"{step}: {type(exc).__name__}: {exc}", meter_usage(meter))
    text = answer.text if isinstance(answer.text, str) else str(answer.content)
    if not text.strip() and not answer.tool_calls:
        return None, degraded(f"{step}: empty answer", meter_usage(meter))
    return answer, meter_usage(meter)
