"""Nodes written once, run sync or async: the node yields its waits, a driver performs them.

A node that calls the LLM (or reads the store) is written as a generator: it ``yield``s a
:class:`ChatCall` or a :class:`ProfileRead` where it would block, gets the answer back (or the
exception, thrown in at the ``yield``) and finally returns its state update. :func:`run_steps`
performs the waits with the blocking APIs (sync graphs: ``invoke``, ``SqliteSaver``);
:func:`arun_steps` awaits the async ones on the event loop (the server: ``ainvoke``), so a
concurrent session's LLM request does not need a worker thread, and the turn does not hop to
one and back for each node. :class:`ChatCall` and the drivers come from
:mod:`crsagent.agent.llm.steps`, so LLM steps written there (the structured-output exchange of
:func:`~crsagent.agent.llm.structured.structured_exchange`) run inside a node with ``yield from``.

Example:
    >>> def steps(state, runtime):                                  # doctest: +SKIP
    ...     answer = yield ChatCall(runtime.context.llm, [HumanMessage("hi")], UsageMeter())
    ...     return {"reply": answer.text}
    >>> node = steps_node(steps)          # node(state, runtime) runs it synchronously
    >>> node.anode                        # the async version LangGraph's ainvoke uses
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from crsagent.agent.llm.steps import ChatCall, adrive, aperform_chat, drive, perform_chat
from crsagent.agent.memory import aload_profile, load_profile

__all__ = ["ChatCall", "ProfileRead", "Steps", "run_steps", "arun_steps", "steps_node", "async_version"]

T = TypeVar("T")


@dataclass(frozen=True)
class ProfileRead:
    """Read a user's stored profile memory: the :class:`~crsagent.agent.memory.Profile` or None."""

    store: Any
    user_id: str


Effect = ChatCall | ProfileRead
#: A node generator: it yields :class:`ChatCall` or :class:`ProfileRead` and returns ``T``.
Steps = Generator[Effect, Any, T]


def _unknown(effect: object) -> TypeError:
    return TypeError(f"a node yielded {type(effect).__name__}, not a ChatCall or ProfileRead")


def _perform(effect: Any) -> Any:
    if isinstance(effect, ChatCall):
        return perform_chat(effect)
    if isinstance(effect, ProfileRead):
        return load_profile(effect.store, effect.user_id)
    raise _unknown(effect)


async def _aperform(effect: Any) -> Any:
    if isinstance(effect, ChatCall):
        return await aperform_chat(effect)
    if isinstance(effect, ProfileRead):
        return await aload_profile(effect.store, effect.user_id)
    raise _unknown(effect)


def run_steps(steps: Steps[T]) -> T:
    """Run a node generator, performing each wait with the blocking API."""
    return drive(steps, _perform)


async def arun_steps(steps: Steps[T]) -> T:
    """Run a node generator on the event loop, awaiting each wait with the async API."""
    return await adrive(steps, _aperform)


def steps_node(steps: Callable[..., Steps[T]]) -> Callable[..., T]:
    """The sync node function of a node generator; its async version is ``.anode``.

    Both keep the generator's signature, so LangGraph passes them the same arguments
    (``runtime``, ``config``).
    """

    @wraps(steps)
    def node(*args: Any, **kwargs: Any) -> T:
        return run_steps(steps(*args, **kwargs))

    @wraps(steps)
    async def anode(*args: Any, **kwargs: Any) -> T:
        return await arun_steps(steps(*args, **kwargs))

    node.anode = anode  # type: ignore[attr-defined]
    return node


def async_version(node: Callable[..., Any]) -> Callable[..., Any] | None:
    """The ``.anode`` of a node made by :func:`steps_node`, else None."""
    return getattr(node, "anode", None)
