"""The logic of ``POST /v1/chat/completions``: validate, run one turn, shape the answer.

Nothing here knows about FastAPI: :meth:`ChatService.plan` checks a request and decides what
to run, :meth:`ChatService.run` runs it on the variant's runner (a session's turns one at a
time, everything else concurrently), :meth:`ChatService.start_stream` runs it as a stream of
events, and :func:`to_completion` / :func:`to_stream` shape them as OpenAI's wire format.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crsagent.agent.errors import CrsAgentError
from crsagent.agent.server.agent_runners import aseed_thread
from crsagent.agent.server.config import ServerConfig
from crsagent.agent.server.errors import APIError, from_agent_error, invalid_request
from crsagent.agent.server.models import resolve_model
from crsagent.agent.server.privacy import ConversationData
from crsagent.agent.server.protocol import (
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    RecommendationOut,
    ResponseMessage,
    TurnInfo,
    UsageOut,
    message_text,
)
from crsagent.agent.server.runners import RunnerPool
from crsagent.agent.server.sessions import SessionLocks, resolve_session_id, scoped
from crsagent.agent.server.streaming import ChunkWriter, sse_stream
from crsagent.agent.server.turn_stream import TurnStream, TurnStreams, runner_events
from crsagent.agent.turns import ChatMessage, TurnResult
from crsagent.graphs.streaming import TurnDone, TurnEvent

if TYPE_CHECKING:
    from crsagent.agent.server.replicas import SharedSessionLocks

__all__ = ["TurnPlan", "ChatService", "refuse_unsupported", "to_completion", "to_stream", "response_headers"]


@dataclass(frozen=True)
class TurnPlan:
    """A validated request, reduced to what the runner needs.

    Attributes:
        model: the model id as requested (echoed in the answer).
        variant: the graph variant that runs.
        session_id: the session the client named, or None (stateless).
        text: the new user message (the last message).
        history: the whole conversation (used when stateless).
        user: the profile-memory key the client sent (``user``).
        thread_id: the checkpointed thread: ``session_id`` scoped to the caller's API key.
        user_key: the stored profile's key: ``user`` scoped to the caller's API key.
        stream: answer as server-sent events.
        include_usage: add a usage chunk to the stream.
        completion_id: ``chatcmpl-...``.
        created: Unix time of the request.
    """

    model: str
    variant: str
    session_id: str | None
    text: str
    history: list[ChatMessage]
    user: str | None
    thread_id: str | None = None
    user_key: str | None = None
    stream: bool = False
    include_usage: bool = False
    completion_id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))


def refuse_unsupported(request: ChatCompletionRequest) -> None:
    """Refuse the OpenAI fields whose request the agent cannot honour (ignoring would change the result).

    Raises:
        APIError: 400 ``unsupported_value`` naming the field.
    """

    def no(param: str, why: str) -> APIError:
        return invalid_request(f"{param}: {why}", param=param, code="unsupported_value")

    if request.n is not None and request.n > 1:
        raise no("n", f"one turn gives one answer, so n must be 1 (got {request.n}); send n separate requests")
    if request.tools:
        raise no("tools", "client tools are not supported: the agent calls its own recommender tools")
    choice = request.tool_choice
    if choice is not None and choice not in ("none", "auto"):
        raise no("tool_choice", "only 'none' or 'auto' are accepted: the agent chooses its own tools")
    if request.modalities and "audio" in request.modalities:
        raise no("modalities", "only text output is supported")
    if request.logprobs:
        raise no("logprobs", "log probabilities are not available: the reply comes from several LLM calls")


def _check_text(text: str, param: str, limit: int) -> None:
    if len(text) > limit:
        raise invalid_request(
            f"{param} is {len(text)} characters; the limit is {limit}", param=param, code="content_too_long"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise invalid_request(
            f"{param} is not valid Unicode (unpaired surrogate)", param=param, code="invalid_encoding"
        ) from exc


class ChatService:
    """Chat completions over a pool of runners.

    Args:
        pool: the runners, one per variant.
        config: limits and variants.
    """

    def __init__(self, pool: RunnerPool, config: ServerConfig) -> None:
        self.pool = pool
        self.config = config
        self.locks: SessionLocks | SharedSessionLocks = SessionLocks()
        self.streams = TurnStreams()

    def plan(
        self, request: ChatCompletionRequest, session_header: str | None = None, tenant: str | None = None
    ) -> TurnPlan:
        """Check a request and decide what to run.

        Args:
            request: the validated body.
            session_header: the ``X-Session-Id`` header, or None.
            tenant: the identity of the caller's API key (None without keys); the session and
                the user are scoped to it.

        Raises:
            APIError: 400 for an unusable conversation or over-long content, 404 for an
                unknown model.
        """
        cfg = self.config
        variant = resolve_model(request.model, variants=cfg.variants, default_variant=cfg.default_variant)
        messages = request.messages
        if not messages:
            raise invalid_request("messages must hold at least one message", param="messages", code="empty_messages")
        if len(messages) > cfg.max_messages:
            raise invalid_request(
                f"{len(messages)} messages; the limit is {cfg.max_messages}", param="messages", code="too_many_messages"
            )
        refuse_unsupported(request)
        history: list[ChatMessage] = []
        for i, msg in enumerate(messages):
            text = message_text(msg.content)
            _check_text(text, f"messages.{i}.content", cfg.max_message_chars)
            if msg.role == "tool" or (msg.role == "assistant" and msg.tool_calls and not text):
                continue  # a client's own tool exchange: accepted, not replayed to the agent
            role = "system" if msg.role == "developer" else msg.role
            history.append(ChatMessage(role=role, content=text))
        last = len(messages) - 1
        if messages[last].role != "user":
            raise invalid_request(
                f"the last message must come from the user, not the {messages[last].role}",
                param=f"messages.{last}.role",
                code="last_message_not_user",
            )
        if not history[-1].content.strip():
            raise invalid_request(
                "the last user message is empty", param=f"messages.{last}.content", code="empty_content"
            )
        if request.user is not None:
            _check_text(request.user, "user", 256)
        session_id = resolve_session_id(session_header, request.metadata)
        user = request.user or None
        return TurnPlan(
            model=request.model,
            variant=variant,
            session_id=session_id,
            text=history[-1].content,
            history=history,
            user=user,
            thread_id=scoped(tenant, session_id) if session_id is not None else None,
            user_key=scoped(tenant, user) if user is not None else None,
            stream=request.stream,
            include_usage=bool(request.stream_options and request.stream_options.include_usage),
        )

    async def _seed(self, runner: Any, plan: TurnPlan) -> TurnResult | None:
        """A new session sent with earlier messages starts from them (None: not new, or not seedable)."""
        data = ConversationData(getattr(runner, "checkpointer", None), None)
        if plan.thread_id is None or await data.exists(plan.thread_id) is not False:
            return None
        history = [m for m in plan.history if m.role != "system"]
        return await aseed_thread(runner, history, thread_id=plan.thread_id, user_id=plan.user_key)

    async def run(self, plan: TurnPlan) -> TurnResult:
        """Run the planned turn.

        With a session, only the new user message goes to the checkpointed thread, under the
        session's lock, except on a session's first request: earlier user and assistant
        messages sent with it seed the new thread (:func:`aseed_thread`). Without a session,
        the whole history goes to a stateless turn.

        Raises:
            APIError: the HTTP answer for a typed agent error (503 + ``Retry-After`` when
                the LLM server is unavailable and the variant cannot fall back).
        """
        runner = await self.pool.get(plan.variant)
        try:
            if plan.thread_id is not None:
                async with self.locks.hold(plan.thread_id):
                    seeded = await self._seed(runner, plan) if _has_earlier_messages(plan) else None
                    if seeded is not None:
                        return seeded
                    return await runner.aturn(plan.text, thread_id=plan.thread_id, user_id=plan.user_key)
            return await runner.arun_history(plan.history, user_id=plan.user_key)
        except CrsAgentError as exc:
            raise from_agent_error(exc, retry_after_s=self.config.retry_after_s) from exc

    def start_stream(self, plan: TurnPlan) -> TurnStream:
        """Start the planned turn as a stream of events, on its own task (it runs to its end
        even when the client leaves; see :mod:`crsagent.agent.server.turn_stream`).

        The session's lock is held, and a new session seeded, as in :meth:`run`; errors come
        out of :meth:`TurnStream.next` as :class:`APIError`.
        """

        async def events() -> AsyncIterator[TurnEvent]:
            runner = await self.pool.get(plan.variant)
            if plan.thread_id is None:
                async for event in runner_events(
                    runner, text=plan.text, history=plan.history, thread_id=None, user_id=plan.user_key
                ):
                    yield event
                return
            async with self.locks.hold(plan.thread_id):
                seeded = await self._seed(runner, plan) if _has_earlier_messages(plan) else None
                if seeded is not None:
                    yield TurnDone(seeded)
                    return
                async for event in runner_events(
                    runner, text=plan.text, history=plan.history, thread_id=plan.thread_id, user_id=plan.user_key
                ):
                    yield event

        return self.streams.start(events, self.config.retry_after_s)


def _has_earlier_messages(plan: TurnPlan) -> bool:
    return any(m.role != "system" for m in plan.history[:-1])


def _parts(plan: TurnPlan, result: TurnResult) -> tuple[list[RecommendationOut], UsageOut, TurnInfo]:
    recs = [RecommendationOut.of(r) for r in result.recommendations]
    u = result.usage
    usage = UsageOut(
        prompt_tokens=u.prompt_tokens,
        completion_tokens=u.completion_tokens,
        total_tokens=max(u.total_tokens, u.prompt_tokens + u.completion_tokens),
    )
    info = TurnInfo(
        variant=plan.variant,
        session_id=plan.session_id,
        action=result.action,
        degraded=result.degraded,
        fallback=result.fallback,
        fallback_reason=result.fallback_reason,
        llm_calls=u.llm_calls,
        tool_calls=u.tool_calls,
    )
    return recs, usage, info


def to_completion(plan: TurnPlan, result: TurnResult) -> ChatCompletion:
    """The non-streamed answer."""
    recs, usage, info = _parts(plan, result)
    return ChatCompletion(
        id=plan.completion_id,
        created=plan.created,
        model=plan.model,
        choices=[Choice(message=ResponseMessage(content=result.reply, recommendations=recs))],
        usage=usage,
        crsagent=info,
    )


def to_stream(plan: TurnPlan, first: TurnEvent, turn: TurnStream) -> AsyncIterator[str]:
    """The streamed answer: SSE events of a started turn whose first event is known, ``data: [DONE]`` last."""
    return sse_stream(
        ChunkWriter(plan.completion_id, plan.created, plan.model),
        first,
        turn.next,
        lambda result: _parts(plan, result),
        plan.include_usage,
    )


def response_headers(plan: TurnPlan) -> Mapping[str, str]:
    """Headers of a chat answer (the session id is echoed)."""
    return {"X-Session-Id": plan.session_id} if plan.session_id else {}
