"""A small, thread-safe accumulator of LLM token usage."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["UsageMeter"]


@dataclass
class UsageMeter:
    """Counts LLM calls and tokens over a turn, a run or a benchmark.

    Pass one to :func:`~crsagent.agent.llm.calls.invoke_chat` or
    :func:`~crsagent.agent.llm.structured.invoke_structured`; every request (including a
    repair retry) is added to it.

    Attributes:
        calls: requests that got an answer.
        failed_calls: requests that raised (unreachable server, timeout, ...).
        prompt_tokens: prompt tokens the server reported.
        completion_tokens: completion tokens the server reported.
        invalid_outputs: answers that did not validate (each repair attempt counts).
        tool_calls: tool calls in the answers.
    """

    calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    invalid_outputs: int = 0
    tool_calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def add_message(self, message: Any) -> None:
        """Add one answered request, reading ``usage_metadata`` and ``tool_calls`` of an AIMessage."""
        meta = getattr(message, "usage_metadata", None) or {}
        with self._lock:
            self.calls += 1
            self.prompt_tokens += int(meta.get("input_tokens", 0) or 0)
            self.completion_tokens += int(meta.get("output_tokens", 0) or 0)
            self.tool_calls += len(getattr(message, "tool_calls", None) or [])

    def add_failure(self) -> None:
        """Count a request that raised."""
        with self._lock:
            self.failed_calls += 1

    def add_invalid(self) -> None:
        """Count an answer that did not validate."""
        with self._lock:
            self.invalid_outputs += 1

    def merge(self, other: UsageMeter) -> None:
        """Add another meter's counts into this one."""
        snap = other.as_dict()
        with self._lock:
            self.calls += snap["calls"]
            self.failed_calls += snap["failed_calls"]
            self.prompt_tokens += snap["prompt_tokens"]
            self.completion_tokens += snap["completion_tokens"]
            self.invalid_outputs += snap["invalid_outputs"]
            self.tool_calls += snap["tool_calls"]

    def as_dict(self) -> dict[str, int]:
        """A consistent snapshot as plain data (``total_tokens`` included)."""
        with self._lock:
            return {
                "calls": self.calls,
                "failed_calls": self.failed_calls,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
                "invalid_outputs": self.invalid_outputs,
                "tool_calls": self.tool_calls,
            }
