"""Plain chat calls through the seam, with failures turned into crsagent's typed errors.

Every LLM request of the agent goes through :func:`invoke_chat` / :func:`ainvoke_chat` (or
the structured-output functions built on them), so callers only ever see
:class:`~crsagent.agent.errors.LLMUnavailableError` (server unreachable, timed out, 5xx,
malformed response), :class:`~crsagent.agent.errors.LLMOutputError` (answer unusable),
:class:`~crsagent.agent.errors.LLMError` (request refused, e.g. too long a prompt) or
:class:`~crsagent.agent.errors.RealLLMForbiddenError`; genuine bugs are re-raised unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import openai
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable

from crsagent.agent.errors import (
    CrsAgentError,
    LLMError,
    LLMOutputError,
    LLMUnavailableError,
    RealLLMForbiddenError,
)
from crsagent.agent.llm.usage import UsageMeter

__all__ = ["as_llm_error", "invoke_chat", "ainvoke_chat"]


def _forbidden_in_chain(exc: BaseException) -> RealLLMForbiddenError | None:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, RealLLMForbiddenError):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def as_llm_error(exc: BaseException) -> BaseException:
    """The crsagent error a failed LLM request should raise; ``exc`` itself when it is a bug.

    Args:
        exc: what the chat model raised.

    Returns:
        A :class:`CrsAgentError` for failures of the server or the model, else ``exc``.
    """
    forbidden = _forbidden_in_chain(exc)
    if forbidden is not None:
        return forbidden
    if isinstance(exc, CrsAgentError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return LLMUnavailableError(f"the LLM server timed out: {exc}")
    if isinstance(exc, openai.APIConnectionError):
        return LLMUnavailableError(f"cannot reach the LLM server: {exc}")
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        if code >= 500 or code in (408, 409, 429):
            return LLMUnavailableError(f"the LLM server answered HTTP {code}: {exc.message}")
        if code in (401, 403):
            return LLMError(f"the LLM server refused the API key (HTTP {code}): {exc.message}")
        if code == 404:
            return LLMError(f"unknown model or endpoint (HTTP 404): {exc.message}")
        return LLMError(f"the LLM server rejected the request (HTTP {code}): {exc.message}")
    if isinstance(exc, (openai.APIResponseValidationError, json.JSONDecodeError)):
        return LLMUnavailableError(f"the LLM server sent a malformed response: {exc}")
    if isinstance(exc, openai.LengthFinishReasonError):
        return LLMOutputError("the LLM's answer was cut off at its token limit")
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return LLMOutputError("the LLM's answer was stopped by a content filter")
    if isinstance(exc, openai.OpenAIError):
        return LLMError(f"LLM request failed: {exc}")
    return exc


def _check(message: Any) -> AIMessage:
    if not isinstance(message, AIMessage):
        raise LLMOutputError(f"expected an AIMessage from the chat model, got {type(message).__name__}")
    return message


def invoke_chat(
    model: Runnable[LanguageModelInput, Any],
    messages: Sequence[Any] | LanguageModelInput,
    *,
    usage: UsageMeter | None = None,
    **kwargs: Any,
) -> AIMessage:
    """Call a chat model (or a bound one, e.g. after ``bind_tools``) once.

    Args:
        model: a chat model or a runnable binding of one.
        messages: the conversation (LangChain messages, or anything a chat model accepts).
        usage: an optional meter that receives the call's token usage.
        **kwargs: passed to ``invoke`` (for example ``stop``).

    Returns:
        The model's AIMessage.

    Raises:
        LLMUnavailableError: the server is unreachable, timed out, or failed.
        LLMError: the server rejected the request.
        RealLLMForbiddenError: real requests are switched off.
    """
    try:
        message = _check(model.invoke(messages, **kwargs))
    except Exception as exc:  # mapped to a typed error, or re-raised unchanged
        if usage is not None:
            usage.add_failure()
        mapped = as_llm_error(exc)
        if mapped is exc:
            raise
        raise mapped from exc
    if usage is not None:
        usage.add_message(message)
    return message


async def ainvoke_chat(
    model: Runnable[LanguageModelInput, Any],
    messages: Sequence[Any] | LanguageModelInput,
    *,
    usage: UsageMeter | None = None,
    **kwargs: Any,
) -> AIMessage:
    """Async :func:`invoke_chat`."""
    try:
        message = _check(await model.ainvoke(messages, **kwargs))
    except Exception as exc:  # mapped to a typed error, or re-raised unchanged
        if usage is not None:
            usage.add_failure()
        mapped = as_llm_error(exc)
        if mapped is exc:
            raise
        raise mapped from exc
    if usage is not None:
        usage.add_message(message)
    return message
