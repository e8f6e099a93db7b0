"""The one exception hierarchy of crsagent.

Developer mistakes (:class:`UserError`) are kept apart from run-time failures
(:class:`AgentRunError`). Errors a caller or an LLM can act on (:class:`ToolInputError`)
carry a message that says what was wrong and what to do instead.
"""

from __future__ import annotations

__all__ = [
    "CrsAgentError",
    "UserError",
    "ConfigError",
    "DataError",
    "BuildError",
    "NotBuiltError",
    "ToolInputError",
    "UnknownItemError",
    "EmptyQueryError",
    "InvalidFilterError",
    "AgentRunError",
    "BudgetExceededError",
    "LLMError",
    "LLMUnavailableError",
    "LLMOutputError",
    "RealLLMForbiddenError",
]


class CrsAgentError(Exception):
    """Base class of every error crsagent raises on purpose."""


class UserError(CrsAgentError):
    """A developer mistake: wrong arguments, wrong wiring, wrong configuration."""


class ConfigError(UserError):
    """A setting is missing or has an invalid value."""


class DataError(CrsAgentError):
    """An input data file is missing, malformed, or inconsistent.

    Attributes:
        path: the offending file, when known.
    """

    def __init__(self, message: str, path: object | None = None) -> None:
        super().__init__(f"{path}: {message}" if path is not None else message)
        self.path = path


class BuildError(CrsAgentError):
    """A build step failed; nothing of it was swapped in."""


class NotBuiltError(UserError):
    """An artifact is missing: run ``crsagent build --domain <domain>`` first."""


class ToolInputError(CrsAgentError, ValueError):
    """A tool got an argument it cannot use. The message tells the caller how to fix it."""


class UnknownItemError(ToolInputError, KeyError):
    """One or more item ids are not in the catalogue.

    Attributes:
        ids: the unknown ids.
    """

    def __init__(self, ids: list[str] | tuple[str, ...] | set[str], hint: str = "") -> None:
        self.ids = sorted(str(i) for i in ids)
        shown = ", ".join(self.ids[:10]) + (" ..." if len(self.ids) > 10 else "")
        msg = f"unknown item id(s): {shown}"
        if hint:
            msg += f"; {hint}"
        else:
            msg += "; use ids returned by a search or recommendation tool"
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class EmptyQueryError(ToolInputError):
    """A query text is empty or only whitespace."""


class InvalidFilterError(ToolInputError):
    """A filter is contradictory or out of range (for example year_min > year_max)."""


class AgentRunError(CrsAgentError):
    """A failure while running the agent."""


class BudgetExceededError(AgentRunError):
    """A loop ran out of its budget (LLM calls, tool calls or graph steps).

    Attributes:
        budget: the name of the exhausted budget.
        limit: its limit.
    """

    def __init__(self, budget: str, limit: int) -> None:
        super().__init__(f"budget exhausted: {budget} (limit {limit})")
        self.budget = budget
        self.limit = limit


class LLMError(AgentRunError):
    """The LLM request failed."""


class LLMUnavailableError(LLMError):
    """The LLM server cannot be reached, timed out, or answered with a server error."""


class LLMOutputError(LLMError):
    """The LLM answered, but its output is unusable (malformed JSON, bad tool call, empty)."""


class RealLLMForbiddenError(UserError):
    """A real LLM request was attempted while real requests are switched off (unit tests)."""
