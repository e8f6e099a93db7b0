"""``POST /v1/responses``: OpenAI's Responses API over the agent, non-streamed and streamed.

A response is one conversational turn. ``previous_response_id`` is the session key: the first
response of a conversation starts a session named after its own id, and a request that sends
``previous_response_id`` continues that response's session (:mod:`response_ids`), with only its
last user message, as a chat request with ``X-Session-Id`` does. A first response sent with
earlier messages seeds its session from them. ``store: false`` runs a stateless turn that
leaves nothing behind. Everything is scoped to the API key, like sessions: another key's
response ids answer 404 like ids never issued.

The locking, the seeding and the streamed turn's own task are those of chat completions
(:class:`~crsagent.agent.server.serving.ChatService`); the answer is shaped by
:mod:`~crsagent.agent.server.responses_stream`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, StreamingResponse

from crsagent.agent.errors import CrsAgentError
from crsagent.agent.server.agent_runners import aseed_thread
from crsagent.agent.server.errors import APIError, from_agent_error, invalid_request
from crsagent.agent.server.models import resolve_model
from crsagent.agent.server.protocol import TurnInfo
from crsagent.agent.server.response_ids import ResponseIds
from crsagent.agent.server.responses_models import ResponseCreateRequest, ResponseObject
from crsagent.agent.server.responses_stream import ResponseShape, response_events
from crsagent.agent.server.sessions import scoped
from crsagent.agent.server.turn_stream import runner_events
from crsagent.agent.turns import ChatMessage, TurnResult
from crsagent.graphs.streaming import TurnDone, TurnEvent

__all__ = ["ResponsePlan", "ResponsesService", "add_responses_routes"]

_ChatRole = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ResponsePlan:
    """A validated ``POST /v1/responses`` request, reduced to what runs.

    Attributes:
        variant: the graph variant that runs.
        history: the conversation of the request (``instructions`` first, as a system message).
        tenant: the caller's key identity (None without keys).
        session_id: the conversation's session (unscoped), or None for a stateless turn.
        previous_response_id: the response this one continues, or None.
        user_key: the stored profile's key (``user`` scoped to the key).
        shape: the response's ids and echoed fields.
        stream: answer as server-sent events.
    """

    variant: str
    history: list[ChatMessage]
    tenant: str | None
    session_id: str | None
    previous_response_id: str | None
    user_key: str | None
    shape: ResponseShape
    stream: bool

    @property
    def thread_id(self) -> str | None:
        """The checkpointed thread: the session scoped to the caller's key."""
        return None if self.session_id is None else scoped(self.tenant, self.session_id)


def _refuse_unsupported(body: ResponseCreateRequest) -> None:
    def no(param: str, why: str) -> APIError:
        return invalid_request(f"{param}: {why}", param=param, code="unsupported_value")

    if body.tools:
        raise no("tools", "client tools are not supported: the agent calls its own recommender tools")
    if body.tool_choice is not None and body.tool_choice not in ("none", "auto"):
        raise no("tool_choice", "only 'none' or 'auto' are accepted: the agent chooses its own tools")
    fmt = (body.text or {}).get("format")
    if fmt is not None and (not isinstance(fmt, dict) or fmt.get("type") != "text"):
        raise no("text.format", 'only text output is supported ({"type": "text"})')
    if body.background:
        raise no("background", "background responses are not supported; use stream: true")
    if body.conversation is not None:
        raise no("conversation", "conversations are not supported; continue with previous_response_id")
    if body.prompt is not None:
        raise no("prompt", "stored prompt templates are not supported; send instructions and input")
    if body.store is False and body.previous_response_id is not None:
        raise no("store", "store: false cannot continue a stored conversation (previous_response_id)")


class ResponsesService:
    """Responses over the chat service's runners, locks and streamed-turn tasks.

    Args:
        chat: the app's :class:`~crsagent.agent.server.serving.ChatService`.
    """

    def __init__(self, chat: Any) -> None:
        self.chat = chat
        self._ids: ResponseIds | None = None

    async def ids(self) -> ResponseIds:
        """The response-id records, in the store of the default variant's runner."""
        if self._ids is None:
            runner = await self.chat.pool.get(self.chat.config.default_variant)
            self._ids = ResponseIds(getattr(runner, "store", None))
        return self._ids

    def _history(self, body: ResponseCreateRequest) -> list[ChatMessage]:
        cfg = self.chat.config
        items = (
            [("input", "user", body.input)]
            if isinstance(body.input, str)
            else [(f"input.{i}.content", m.role, m.text()) for i, m in enumerate(body.input)]
        )
        if not items:
            raise invalid_request("input must hold at least one message", param="input", code="empty_messages")
        if len(items) > cfg.max_messages:
            raise invalid_request(
                f"{len(items)} input messages; the limit is {cfg.max_messages}", param="input", code="too_many_messages"
            )
        if body.instructions is not None:
            items.insert(0, ("instructions", "system", body.instructions))
        history = []
        for param, role, text in items:
            if len(text) > cfg.max_message_chars:
                raise invalid_request(
                    f"{param} is {len(text)} characters; the limit is {cfg.max_message_chars}",
                    param=param,
                    code="content_too_long",
                )
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise invalid_request(
                    f"{param} is not valid Unicode (unpaired surrogate)", param=param, code="invalid_encoding"
                ) from exc
            chat_role = cast(_ChatRole, "system" if role == "developer" else role)  # the request model checked it
            history.append(ChatMessage(role=chat_role, content=text))
        last = items[-1]
        if last[1] != "user":
            raise invalid_request(
                f"the last input message must come from the user, not the {last[1]}",
                param=last[0],
                code="last_message_not_user",
            )
        if not last[2].strip():
            raise invalid_request("the last user message is empty", param=last[0], code="empty_content")
        return history

    async def plan(self, body: ResponseCreateRequest, tenant: str | None) -> ResponsePlan:
        """Check a request and decide what to run.

        Raises:
            APIError: 400 for an unusable request, 404 for an unknown model or an unknown
                ``previous_response_id`` (code ``previous_response_not_found``).
        """
        cfg = self.chat.config
        variant = resolve_model(body.model, variants=cfg.variants, default_variant=cfg.default_variant)
        _refuse_unsupported(body)
        history = self._history(body)
        if body.user is not None:
            try:
                body.user.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise invalid_request("user is not valid Unicode", param="user", code="invalid_encoding") from exc
        response_id = f"resp_{uuid.uuid4().hex}"
        session_id: str | None = None
        if body.previous_response_id is not None:
            session_id = await (await self.ids()).session_of(tenant, body.previous_response_id)
            if session_id is None:
                raise APIError(
                    404,
                    f"Previous response with id '{body.previous_response_id}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
        elif body.store is not False:
            session_id = response_id  # a new conversation is named after its first response
        echo = {
            "model": body.model,
            "instructions": body.instructions,
            "metadata": body.metadata or {},
            "previous_response_id": body.previous_response_id,
            "user": body.user,
            "store": body.store is not False,
        }

        def info(result: TurnResult) -> TurnInfo:
            u = result.usage
            return TurnInfo(
                variant=variant,
                session_id=session_id,
                action=result.action,
                degraded=result.degraded,
                fallback=result.fallback,
                fallback_reason=result.fallback_reason,
                llm_calls=u.llm_calls,
                tool_calls=u.tool_calls,
            )

        shape = ResponseShape(response_id, f"msg_{uuid.uuid4().hex}", int(time.time()), echo, info)
        user_key = scoped(tenant, body.user) if body.user else None
        return ResponsePlan(
            variant, history, tenant, session_id, body.previous_response_id, user_key, shape, body.stream
        )

    async def _claim(self, plan: ResponsePlan) -> ResponseIds:
        """Under the session's lock: check that the conversation ends at the previous response,
        then record this response as its latest."""
        ids = await self.ids()
        assert plan.session_id is not None
        if plan.previous_response_id is not None:
            head = await ids.head(plan.tenant, plan.session_id)
            if head != plan.previous_response_id:
                raise invalid_request(
                    f"previous_response_id: '{plan.previous_response_id}' is not the latest response of its "
                    f"conversation ('{head}' is); continuing an earlier response (a fork) is not supported",
                    param="previous_response_id",
                    code="unsupported_value",
                )
        await ids.record(plan.tenant, plan.shape.response_id, plan.session_id)
        return ids

    async def _events(self, plan: ResponsePlan, streamed: bool) -> AsyncIterator[TurnEvent]:
        """The turn's events; on a session, under its lock, with this response recorded.

        Unstreamed, the runner's ``aturn`` / ``arun_history`` answer (one :class:`TurnDone`),
        as for a chat completion; streamed, the runner's own stream when it has one.
        """
        runner = await self.chat.pool.get(plan.variant)
        text = plan.history[-1].content

        async def turn(thread_id: str | None) -> AsyncIterator[TurnEvent]:
            if streamed:
                async for event in runner_events(
                    runner, text=text, history=plan.history, thread_id=thread_id, user_id=plan.user_key
                ):
                    yield event
            elif thread_id is None:
                yield TurnDone(await runner.arun_history(plan.history, user_id=plan.user_key))
            else:
                yield TurnDone(await runner.aturn(text, thread_id=thread_id, user_id=plan.user_key))

        if plan.thread_id is None:
            async for event in turn(None):
                yield event
            return
        async with self.chat.locks.hold(plan.thread_id):
            ids = await self._claim(plan)
            try:
                earlier = [m for m in plan.history[:-1] if m.role != "system"]
                if plan.previous_response_id is None and earlier:
                    seeded = await aseed_thread(
                        runner, [*earlier, plan.history[-1]], thread_id=plan.thread_id, user_id=plan.user_key
                    )
                    if seeded is not None:
                        yield TurnDone(seeded)
                        return
                async for event in turn(plan.thread_id):
                    yield event
            except Exception:
                await ids.forget(plan.tenant, plan.shape.response_id, plan.session_id or "", plan.previous_response_id)
                raise

    async def run(self, plan: ResponsePlan) -> ResponseObject:
        """Run the planned turn and return the finished response.

        Raises:
            APIError: the HTTP answer for a typed agent error.
        """
        result: TurnResult | None = None
        try:
            async for event in self._events(plan, streamed=False):  # to its end: the session's lock is released
                if isinstance(event, TurnDone):
                    result = event.result
        except CrsAgentError as exc:
            raise from_agent_error(exc, retry_after_s=self.chat.config.retry_after_s) from exc
        if result is None:  # pragma: no cover - a turn always ends with TurnDone or an error
            raise APIError(500, "the turn ended without a result", code="internal_error")
        return plan.shape.completed(result)

    async def stream(self, plan: ResponsePlan) -> AsyncIterator[str]:
        """Start the planned turn on its own task and wait for its first event.

        Returns:
            The SSE events of the response.

        Raises:
            APIError: the turn failed before its first event (an ordinary HTTP error).
        """
        turn = self.chat.streams.start(lambda: self._events(plan, streamed=True), self.chat.config.retry_after_s)
        first = await turn.next()
        return response_events(plan.shape, first, turn.next)


def add_responses_routes(api: APIRouter, chat: Any, caller: Callable[..., Any]) -> ResponsesService:
    """Add ``POST /v1/responses`` to ``api``.

    Args:
        api: the authenticated ``/v1`` router.
        chat: the app's :class:`~crsagent.agent.server.serving.ChatService`.
        caller: the dependency that authenticates a request and returns its key identity.

    Returns:
        The service behind the route.
    """
    service = ResponsesService(chat)
    key = Depends(caller)  # a default value, not an annotation: ``caller`` is not a module global

    @api.post(
        "/responses",
        response_model=ResponseObject,
        tags=["responses"],
        responses={200: {"content": {"text/event-stream": {}}, "description": "a response, or its SSE events"}},
    )
    async def create_response(body: ResponseCreateRequest, tenant: str | None = key) -> Any:
        """One conversational turn in OpenAI's Responses API. ``previous_response_id`` continues
        the conversation of an earlier response of this key; ``user`` keys the profile memory."""
        plan = await service.plan(body, tenant)
        headers = {"X-Session-Id": plan.session_id} if plan.session_id else {}
        if plan.stream:
            events = await service.stream(plan)
            headers.update({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
            return StreamingResponse(events, media_type="text/event-stream", headers=headers)
        done = await service.run(plan)
        return JSONResponse(done.model_dump(mode="json"), headers=headers)

    return service
