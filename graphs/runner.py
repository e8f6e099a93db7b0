"""``CRSAgent``: the compiled CRS graph behind the :class:`~crsagent.agent.turns.AgentRunner` contract.

One runner holds one variant's compiled graph, the domain's toolkit, the chat model, and the
checkpointer and store. A turn on a thread (``aturn``) adds one user message to the
checkpointed conversation; a stateless turn (``arun_history``) replays a whole history through
a graph without a checkpointer. Both return a :class:`~crsagent.agent.turns.TurnResult`.

How the graphs are invoked for sync or async persistence is :mod:`crsagent.graphs.execution`;
a turn's input checks and its :class:`~crsagent.agent.turns.TurnResult` are
:mod:`crsagent.graphs.turn_io`; the streaming methods are :mod:`crsagent.graphs.streaming`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from crsagent.agent.errors import ConfigError, ToolInputError, UserError
from crsagent.agent.settings import Settings
from crsagent.agent.threadlock import ThreadLocks
from crsagent.agent.turns import ChatMessage, TurnResult
from crsagent.graphs.builder import build_crs_graph
from crsagent.graphs.context import Budgets, CRSContext
from crsagent.graphs.execution import persistence_mode
from crsagent.graphs.ranking import FusionWeights, domain_weights
from crsagent.graphs.streaming import StreamingTurns
from crsagent.graphs.turn_io import MAX_MESSAGE_CHARS, clean_message, history_messages, turn_result
from crsagent.graphs.variants import get_variant

__all__ = ["CRSAgent", "MAX_MESSAGE_CHARS"]


class CRSAgent(StreamingTurns):
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
        self.mode = persistence_mode(checkpointer, store)
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
            weights: fusion weights (default: the tuned ones of the toolkit's domain,
                :func:`~crsagent.graphs.ranking.domain_weights`).
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
            weights=weights or domain_weights(getattr(toolkit, "domain", None) or domain),
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

    def result(self, state: dict[str, Any], *, thread_id: str | None = None, ranking_k: int = 50) -> TurnResult:
        """A :class:`TurnResult` from a final graph state (:func:`~crsagent.graphs.turn_io.turn_result`)."""
        return turn_result(state, spec=self.spec, title=self.toolkit.title, thread_id=thread_id, ranking_k=ranking_k)

    @staticmethod
    def _history(messages: Sequence[ChatMessage | dict[str, Any]]) -> list[AnyMessage]:
        return history_messages(messages)

    # -- the contract ------------------------------------------------------------------
    async def aturn(self, text: str, *, thread_id: str, user_id: str | None = None) -> TurnResult:
        """One user turn on a checkpointed thread.

        Raises:
            EmptyQueryError: blank message.
            ToolInputError: message too long or no thread id.
        """
        if not thread_id:
            raise ToolInputError("a thread id is required")
        inp = {"messages": [HumanMessage(content=clean_message(text))]}
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
        inp = {"messages": [HumanMessage(content=clean_message(text))]}
        state = self._invoke(self.graph, inp, self.context(user_id), thread_id)
        return self.result(state, thread_id=thread_id)

    def run_history(
        self, messages: Sequence[ChatMessage | dict[str, Any]], *, user_id: str | None = None, ranking_k: int = 50
    ) -> TurnResult:
        """Synchronous :meth:`arun_history`."""
        inp = {"messages": self._history(messages)}
        state = self._invoke(self.stateless_graph, inp, self.context(user_id, ranking_k), None)
        return self.result(state, ranking_k=ranking_k)

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
