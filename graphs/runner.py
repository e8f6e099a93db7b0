"""``CRSAgent``: the compiled CRS graph behind the :class:`~crsagent.agent.turns.AgentRunner` contract.

One runner holds one variant's compiled graph, the domain's toolkit, the chat model, and the
checkpointer and store. A turn on a thread (``aturn``) adds one user message to the
checkpointed conversation; a stateless turn (``arun_history``) replays a whole history through
a graph without a checkpointer. Both return a :class:`~crsagent.agent.turns.TurnResult`.

Persistence may be synchronous (SQLite, the default, or Postgres) or asynchronous
(``aopen_persistence``); the runner picks ``invoke`` or ``ainvoke`` to match, running a
synchronous graph in a worker thread when called from async code.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from contextlib import nullcontext
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from crsagent.agent.errors import (
    ConfigError,
    EmptyQueryError,
    ToolInputError,
    UserError,
)
from crsagent.agent.settings import Settings
from crsagent.agent.threadlock import ThreadLocks
from crsagent.agent.turns import ChatMessage, Recommendation, TurnResult, Usage
from crsagent.graphs.builder import build_crs_graph
from crsagent.graphs.context import Budgets, CRSContext
from crsagent.graphs.dialogue.belief import belief_view, merge_belief
from crsagent.graphs.ranking import DEFAULT_WEIGHTS, FusionWeights, catalogue_ranking
from crsagent.graphs.streaming import TurnEvent, astream_graph, stream_graph
from crsagent.graphs.trace import turn_trace
from crsagent.graphs.variants import get_variant

__all__ = ["CRSAgent", "MAX_MESSAGE_CHARS"]

T = TypeVar("T")
MAX_MESSAGE_CHARS = 8000
_SYNC_ONLY = ("SqliteSaver", "PostgresSaver", "ShallowPostgresSaver", "SqliteStore", "PostgresStore")
_ASYNC_ONLY = (
    "AsyncSqliteSaver",
    "AsyncPostgresSaver",
    "AsyncShallowPostgresSaver",
    "AsyncSqliteStore",
    "AsyncPostgresStore",
)


def _mode(*parts: Any) -> str:
    names = {type(p).__name__ for p in parts if p is not None}
    sync, asyn = bool(names & set(_SYNC_ONLY)), bool(names & set(_ASYNC_ONLY))
    if sync and asyn:
        raise ConfigError(f"mixing synchronous and asynchronous persistence ({sorted(names)}); use one kind")
    return "sync" if sync else ("async" if asyn else "both")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=target, name="crsagent-sync-turn")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _clean(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise EmptyQueryError("the user message is empty; say what you are looking for")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ToolInputError(f"the user message is too long ({len(text)} characters; at most {MAX_MESSAGE_CHARS})")
    return text.strip()


class CRSAgent:
    """The agent runner of one variant over one domain.

    Build it with :meth:`create`. Attributes: ``variant``, ``domain``, ``toolkit``, ``llm``,
    ``checkpointer``, ``store``, ``graph`` (compiled with the checkpointer) and
    ``stateless_graph`` (compiled without it, for :meth:`arun_history`).
    """

    def __init__(
        self,
        *,
        variant: str,
        toolkit: Any,
        llm: Any,
        checkpointer: BaseCheckpointSaver,
        store: BaseStore,
        budgets: Budgets,
        weights: FusionWeights,
        n_recommend: int,
        model_profile: Any = None,
        closer: Any = None,
    ) -> None:
        self.spec = get_variant(variant)
        self.variant = self.spec.name
        self.toolkit = toolkit
        self.domain = toolkit.domain
        self.llm = llm
        self.checkpointer = checkpointer
        self.store = store
        self.budgets = budgets
        self.weights = weights
        self.n_recommend = n_recommend
        self.model_profile = model_profile
        self.mode = _mode(checkpointer, store)
        builder = build_crs_graph(self.spec)
        self.graph = builder.compile(checkpointer=checkpointer, store=store)
        self.stateless_graph = builder.compile(store=store)
        self._closer = closer
        self._locks = ThreadLocks.for_checkpointer(checkpointer)  # one turn at a time per thread

    @classmethod
    def create(
        cls,
        settings: Settings,
        domain: str = "movies",
        variant: str = "full",
        llm: Any = None,
        checkpointer: BaseCheckpointSaver | None = None,
        store: BaseStore | None = None,
        toolkit: Any = None,
        *,
        budgets: Budgets | None = None,
        weights: FusionWeights | None = None,
        n_recommend: int = 3,
        model_profile: Any = None,
    ) -> CRSAgent:
        """A runner with defaults for everything not given.

        Args:
            settings: run settings (data home, LLM server, checkpoint URL).
            domain: ``movies`` or ``office``.
            variant: one of ``agent.turns.VARIANTS``.
            llm: a LangChain chat model; None makes one from settings (variants that call an LLM).
            checkpointer: a LangGraph checkpointer; None opens the default (SQLite under the
                data home, or ``settings.checkpoint_url``).
            store: a LangGraph store for profile memory; None opens the default.
            toolkit: the domain's :class:`~crsagent.tools.toolkit.Toolkit`; None loads it.
            budgets: per-turn budgets.
            weights: fusion weights (default: the tuned ones).
            n_recommend: items named per recommendation.
            model_profile: the LLM's profile; None picks it from the model name.

        Raises:
            ConfigError: unknown variant, or an LLM variant without an LLM server configured.
            NotBuiltError: the domain's catalogue is not built.
        """
        spec = get_variant(variant)
        if toolkit is None:
            from crsagent.tools.toolkit import Toolkit

            toolkit = Toolkit.load(settings, domain, eager=True)
        if llm is None and spec.uses_llm:
            from crsagent.agent.llm.client import make_chat_model

            llm = make_chat_model(settings)
        closer = None
        if checkpointer is None or store is None:
            from crsagent.agent.persistence import open_persistence

            if checkpointer is None and store is None:
                pers = open_persistence(settings)
                checkpointer, store, closer = pers.checkpointer, pers.store, pers.close
            else:
                from langgraph.checkpoint.memory import InMemorySaver
                from langgraph.store.memory import InMemoryStore

                checkpointer = checkpointer or InMemorySaver()
                store = store or InMemoryStore()
        return cls(
            variant=spec.name,
            toolkit=toolkit,
            llm=llm,
            checkpointer=checkpointer,
            store=store,
            budgets=budgets or Budgets(),
            weights=weights or DEFAULT_WEIGHTS,
            n_recommend=n_recommend,
            model_profile=model_profile,
            closer=closer,
        )

    @classmethod
    def from_graph(
        cls,
        builder: Any,
        settings: Settings,
        domain: str = "movies",
        *,
        name: str = "custom",
        like: str = "crs-only",
        **kwargs: Any,
    ) -> CRSAgent:
        """A runner over your own graph builder: it keeps :class:`TurnResult`, the HTTP API
        (``crsagent serve``) and the evaluation harness (``crsagent eval replay --runner ...``).

        The graph runs like a built-in variant: state :class:`~crsagent.graphs.state.CRSState`
        (``messages`` in; ``recommendations``, ``candidates``, ``belief`` ... read back), context
        :class:`~crsagent.graphs.context.CRSContext`, this runner's checkpointer and store.

        Args:
            builder: an uncompiled ``StateGraph`` (e.g. ``build_crs_graph("crs-only")`` with a
                node added, or one written from scratch over ``CRSState``).
            settings: run settings.
            domain: ``movies`` or ``office``.
            name: the runner's ``variant`` label (reports, logs).
            like: the built-in variant whose options the graph shares: whether it needs an LLM
                (made from settings when ``llm`` is not given) and whether results carry the
                agent loop's ``fallback`` and ``trace`` (``like="agent"``).
            **kwargs: what :meth:`create` takes (``llm``, ``toolkit``, ``checkpointer``, ...).

        Raises:
            ConfigError: ``builder`` is not an uncompiled graph over a ``CRSContext`` context.
        """
        ctx = getattr(builder, "context_schema", None)
        if not hasattr(builder, "compile") or hasattr(builder, "invoke"):
            raise ConfigError("from_graph takes an uncompiled StateGraph (the builder, before .compile())")
        if ctx is not None and not (isinstance(ctx, type) and issubclass(ctx, CRSContext)):
            raise ConfigError(f"the graph's context_schema must be CRSContext or a subclass, not {ctx!r}")
        agent = cls.create(settings, domain, like, **kwargs)
        agent.graph = builder.compile(checkpointer=agent.checkpointer, store=agent.store)
        agent.stateless_graph = builder.compile(store=agent.store)
        agent.variant = name
        return agent

    # -- helpers -----------------------------------------------------------------------
    def context(self, user_id: str | None = None, ranking_k: int = 50) -> CRSContext:
        """The run context of one turn."""
        return CRSContext(
            toolkit=self.toolkit,
            llm=self.llm,
            model_profile=self.model_profile,
            user_id=user_id,
            budgets=self.budgets,
            weights=self.weights,
            ranking_k=max(int(ranking_k), self.n_recommend),
            n_recommend=self.n_recommend,
        )

    def _config(self, thread_id: str | None) -> dict[str, Any]:
        cfg: dict[str, Any] = {"recursion_limit": self.budgets.recursion_limit}
        if thread_id is not None:
            cfg["configurable"] = {"thread_id": thread_id}
        return cfg

    def result(self, state: dict[str, Any], *, thread_id: str | None = None, ranking_k: int = 50) -> TurnResult:
        """A :class:`TurnResult` from a final graph state."""
        messages: list[AnyMessage] = list(state.get("messages") or [])
        reply = next((m.text for m in reversed(messages) if isinstance(m, AIMessage) and not m.tool_calls), "")
        usage = state.get("usage") or {}
        title = self.toolkit.title
        ranking = [  # the graph's own candidates, of known types: built without validation (50 a turn)
            Recommendation.model_construct(
                item_id=c["item_id"], title=title(c["item_id"]), score=float(c["score"]), signals=dict(c["signals"])
            )
            for c in catalogue_ranking(state.get("candidates") or [], state.get("echoes") or [])[:ranking_k]
        ]
        belief = belief_view(merge_belief(state.get("belief"), {}))
        belief["dialogue_act"] = state.get("dialogue_act")
        belief["focus"] = list(state.get("focus") or [])
        if state.get("question"):
            belief["question"] = state["question"]
        if state.get("intent_label"):
            belief["intent_label"] = state["intent_label"]
        extra: dict[str, Any] = {"notes": list(usage.get("notes") or [])}
        if self.spec.agent_loop:
            reason = state.get("fallback_reason")
            extra.update(
                fallback=reason is not None, fallback_reason=reason, trace=turn_trace(state.get("scratch") or [])
            )
        elif usage.get("degraded"):
            extra.update(fallback=True, fallback_reason="llm_step_failed")
        return TurnResult(
            reply=reply,
            action=state.get("action") or "recommend",
            recommendations=[Recommendation(**r) for r in state.get("recommendations") or []],
            ranking=ranking,
            belief=belief,
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                total_tokens=int(usage.get("total_tokens", 0)),
                llm_calls=int(usage.get("llm_calls", 0)),
                tool_calls=int(usage.get("tool_calls", 0)),
            ),
            degraded=bool(usage.get("degraded")),
            thread_id=thread_id,
            **extra,
        )

    def _kwargs(self, graph: Any, ctx: CRSContext) -> dict[str, Any]:
        # one checkpoint write per turn (at exit); a turn that fails leaves the thread as it was
        return {"context": ctx, "durability": "exit"} if graph is self.graph else {"context": ctx}

    def _graph_mode(self, graph: Any) -> str:
        return self.mode if graph is self.graph else _mode(self.store)

    async def _ainvoke(self, graph: Any, inp: dict[str, Any], ctx: CRSContext, thread_id: str | None) -> dict[str, Any]:
        cfg, kw = self._config(thread_id), self._kwargs(graph, ctx)
        if self._graph_mode(graph) == "sync":
            return await asyncio.to_thread(self._invoke, graph, inp, ctx, thread_id)
        return await graph.ainvoke(inp, cfg, **kw)

    def _invoke(self, graph: Any, inp: dict[str, Any], ctx: CRSContext, thread_id: str | None) -> dict[str, Any]:
        cfg, kw = self._config(thread_id), self._kwargs(graph, ctx)
        with self._locks.hold(thread_id) if thread_id is not None and graph is self.graph else nullcontext():
            if self._graph_mode(graph) == "async":
                return _run(graph.ainvoke(inp, cfg, **kw))
            return graph.invoke(inp, cfg, **kw)

    @staticmethod
    def _history(messages: Sequence[ChatMessage | dict[str, Any]]) -> list[AnyMessage]:
        msgs = [m if isinstance(m, ChatMessage) else ChatMessage.model_validate(m) for m in messages]
        if not msgs or msgs[-1].role != "user":
            raise ToolInputError("the history must end with a user message")
        _clean(msgs[-1].content)
        out: list[AnyMessage] = []
        for m in msgs:
            if m.role == "user":
                out.append(HumanMessage(content=m.content))
            elif m.role == "assistant":
                out.append(AIMessage(content=m.content))
            else:
                out.append(SystemMessage(content=m.content))
        return out

    # -- the contract ------------------------------------------------------------------
    async def aturn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        """One user turn on a checkpointed thread.

        Raises:
            EmptyQueryError: blank message.
            ToolInputError: message too long or no thread id.
        """
        if not thread_id:
            raise ToolInputError("a thread id is required")
        inp = {"messages": [HumanMessage(content=_clean(text))]}
        state = await self._ainvoke(self.graph, inp, self.context(user_id), thread_id)
        return self.result(state, thread_id=thread_id)

    async def arun_history(
        self, messages: Sequence[ChatMessage | dict[str, Any]], *, user_id: str | None = None, ranking_k: int = 50
    ) -> TurnResult:
        """A stateless turn: rebuild the belief from the whole history, answer the last user message."""
        inp = {"messages": self._history(messages)}
        state = await self._ainvoke(self.stateless_graph, inp, self.context(user_id, ranking_k), None)
        return self.result(state, ranking_k=ranking_k)

    def turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        """Synchronous :meth:`aturn`."""
        if not thread_id:
            raise ToolInputError("a thread id is required")
        inp = {"messages": [HumanMessage(content=_clean(text))]}
        state = self._invoke(self.graph, inp, self.context(user_id), thread_id)
        return self.result(state, thread_id=thread_id)

    def run_history(
        self, messages: Sequence[ChatMessage | dict[str, Any]], *, user_id: str | None = None, ranking_k: int = 50
    ) -> TurnResult:
        """Synchronous :meth:`arun_history`."""
        inp = {"messages": self._history(messages)}
        state = self._invoke(self.stateless_graph, inp, self.context(user_id, ranking_k), None)
        return self.result(state, ranking_k=ranking_k)

    # -- streaming (crsagent.graphs.streaming) -----------------------------------------
    def astream_turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> AsyncIterator[TurnEvent]:
        """:meth:`aturn` as events: reply text as the guard releases it, tools as they start,
        then :class:`~crsagent.graphs.streaming.TurnDone` with the result.

        Raises:
            EmptyQueryError: blank message (at once, before any event).
            ToolInputError: message too long or no thread id.
        """
        if not thread_id:
            raise ToolInputError("a thread id is required")
        inp = {"messages": [HumanMessage(content=_clean(text))]}
        return astream_graph(
            self,
            self.graph,
            inp,
            self.context(user_id),
            thread_id,
            lambda state: self.result(state, thread_id=thread_id),
        )

    def astream_history(
        self, messages: Sequence[ChatMessage | dict[str, Any]], *, user_id: str | None = None, ranking_k: int = 50
    ) -> AsyncIterator[TurnEvent]:
        """:meth:`arun_history` as events (see :meth:`astream_turn`)."""
        inp = {"messages": self._history(messages)}
        return astream_graph(
            self,
            self.stateless_graph,
            inp,
            self.context(user_id, ranking_k),
            None,
            lambda state: self.result(state, ranking_k=ranking_k),
        )

    def stream_turn(self, text: str, *, thread_id: str, user_id: str | None = None) -> Iterator[TurnEvent]:
        """Synchronous :meth:`astream_turn`."""
        if not thread_id:
            raise ToolInputError("a thread id is required")
        inp = {"messages": [HumanMessage(content=_clean(text))]}
        return stream_graph(
            self,
            self.graph,
            inp,
            self.context(user_id),
            thread_id,
            lambda state: self.result(state, thread_id=thread_id),
        )

    # -- extras ------------------------------------------------------------------------
    def profile(self, user_id: str) -> dict[str, Any] | None:
        """The stored profile memory of a user (synchronous stores), or None."""
        from crsagent.agent.memory import load_profile

        if self.mode == "async":
            raise UserError("use aprofile() with asynchronous persistence")
        p = load_profile(self.store, user_id)
        return p.model_dump(mode="json") if p else None

    async def aprofile(self, user_id: str) -> dict[str, Any] | None:
        """The stored profile memory of a user, or None."""
        from crsagent.agent.memory import aload_profile, load_profile

        if self.mode == "sync":
            p = await asyncio.to_thread(load_profile, self.store, user_id)
        else:
            p = await aload_profile(self.store, user_id)
        return p.model_dump(mode="json") if p else None

    def close(self) -> None:
        """Close the persistence this runner opened itself (not one passed in)."""
        if self._closer is not None:
            closer, self._closer = self._closer, None
            closer()
        self._locks.close()
