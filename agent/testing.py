"""Fake chat models that ship with crsagent, for tests and benchmarks of code that calls an LLM.

They are LangChain ``BaseChatModel`` subclasses and behave like ``ChatOpenAI`` where the agent
relies on it: ``bind_tools(tools, tool_choice=...)`` and ``bind(response_format=...)`` reach
the fake as request data, and ``with_structured_output(Schema, method="json_schema")`` returns
a ``Schema`` instance. Sync and async calls both work, and so do ``stream`` / ``astream``: the
answer comes one word per chunk (then a chunk per tool call), ``token_latency_s`` apart, and
:attr:`~_FakeChatModel.stream_ends` records when each streamed answer was complete. Every request
is recorded (the newest ``max_recorded`` of them; :class:`InstantChatModel` keeps 1,000, as servers and soaks run it
for hours).

* :class:`ScriptedChatModel` answers from a list, in order; an extra call raises
  :class:`UnexpectedCallError`, left-over answers fail :meth:`~ScriptedChatModel.assert_exhausted`.
* :class:`FunctionChatModel` lets a test compute each answer from the request.
* :class:`InstantChatModel` answers at once with a minimal schema-valid object, a forced tool
  call with minimal arguments, or a short text (for benchmarks of everything but generation).

A scripted answer may be an ``AIMessage``, a ``str`` (text), a ``dict`` or pydantic object
(JSON text when a response format is bound, the arguments of the forced tool when one is,
else JSON text; a dict with only ``content`` / ``tool_calls`` keys is an AIMessage's fields),
an exception instance (raised, e.g. ``LLMUnavailableError`` to test a fallback), or a callable
taking the :class:`FakeRequest` and returning any of these.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.output_parsers import JsonOutputParser
from langchain_core.output_parsers.openai_tools import JsonOutputKeyToolsParser, PydanticToolsParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, PrivateAttr

from crsagent.agent.llm.structured import response_format_for

__all__ = [
    "FakeRequest",
    "UnexpectedCallError",
    "LeftoverResponsesError",
    "ScriptedChatModel",
    "FunctionChatModel",
    "InstantChatModel",
    "tool_call_message",
    "minimal_instance",
]


_WORDS = re.compile(r"\S+\s*|\s+")


class UnexpectedCallError(AssertionError):
    """A scripted fake was called more often than its script allows."""


class LeftoverResponsesError(AssertionError):
    """A scripted fake still holds answers nobody asked for."""


@dataclass
class FakeRequest:
    """What a fake chat model was asked.

    Attributes:
        messages: the conversation sent.
        tools: bound tools in OpenAI format (``{"type": "function", "function": {...}}``).
        tool_choice: as bound (a name, ``"auto"``, ``"required"``, a dict, or None).
        response_format: the bound OpenAI ``response_format``, if any.
        kwargs: any other bound or call keyword arguments.
    """

    messages: list[BaseMessage]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def tool_names(self) -> list[str]:
        """Names of the bound tools."""
        return [t.get("function", t).get("name", "") for t in self.tools]

    @property
    def forced_tool(self) -> str | None:
        """The tool the request forces: a named choice, or the first tool for ``required``/``any``."""
        choice = self.tool_choice
        if isinstance(choice, dict):
            return choice.get("function", {}).get("name") or choice.get("name")
        if choice in ("required", "any", True) and self.tools:
            return self.tool_names[0]
        if isinstance(choice, str) and choice in self.tool_names:
            return choice
        return None

    def tool_schema(self, name: str) -> dict[str, Any]:
        """The JSON schema of tool ``name``'s parameters."""
        for tool in self.tools:
            fn = tool.get("function", tool)
            if fn.get("name") == name:
                return dict(fn.get("parameters") or {"type": "object", "properties": {}})
        raise KeyError(name)

    @property
    def json_schema(self) -> dict[str, Any] | None:
        """The JSON schema the answer must follow (response format), if any."""
        fmt = self.response_format or {}
        if fmt.get("type") == "json_schema":
            return dict(fmt.get("json_schema", {}).get("schema") or {})
        return None

    @property
    def last_user_text(self) -> str:
        """Text of the last human message ('' if none)."""
        for msg in reversed(self.messages):
            if isinstance(msg, HumanMessage):
                return msg.text if isinstance(msg.text, str) else str(msg.content)
        return ""


def tool_call_message(
    name: str, args: dict[str, Any] | BaseModel | None = None, *, call_id: str | None = None, content: str = ""
) -> AIMessage:
    """An AIMessage that calls tool ``name`` with ``args``."""
    data = args.model_dump(mode="json") if isinstance(args, BaseModel) else dict(args or {})
    return AIMessage(
        content=content, tool_calls=[{"name": name, "args": data, "id": call_id or f"call_{name}", "type": "tool_call"}]
    )


def _deref(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        node: Any = root
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def minimal_instance(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A minimal value that satisfies a JSON schema (required fields only, smallest values).

    Handles ``$ref``/``$defs``, ``anyOf``/``oneOf``/``allOf``, ``enum``, ``const``, objects,
    arrays (``minItems``), strings (``minLength``), numbers (bounds) and booleans. Patterns and
    formats are not solved.
    """
    root = schema if root is None else root
    schema = _deref(schema, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = [_deref(o, root) for o in schema[key]]
            null = [o for o in options if o.get("type") == "null"]
            return None if null else minimal_instance(options[0], root)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_deref(part, root))
        return minimal_instance(merged, root)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "null" if "null" in kind else kind[0]
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties", {})
        return {name: minimal_instance(props.get(name, {}), root) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal_instance(schema.get("items", {}), root) for _ in range(int(schema.get("minItems", 0)))]
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1 if "exclusiveMinimum" in schema else 0)
        high = schema.get("maximum")
        value = low if high is None else min(low, high)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return {}


class _FakeChatModel(BaseChatModel):
    """Shared machinery: request recording, tool binding, structured output, usage.

    Attributes:
        model_name: reported as the model's name.
        fake_usage: (prompt, completion) tokens reported per answer.
        max_recorded: how many requests :attr:`requests` keeps, newest last (None: all).
        latency_s: how long each answer takes, like a server's latency: ``time.sleep`` on the
            sync path, ``asyncio.sleep`` on the async one (0: answer at once). A streamed
            answer waits this long before its first chunk.
        token_latency_s: a streamed answer's wait between two chunks (one chunk per word of the
            text, then one per tool call), like a server generating token by token.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_name: str = "fake"
    fake_usage: tuple[int, int] = (10, 5)
    max_recorded: int | None = None
    latency_s: float = 0.0
    token_latency_s: float = 0.0
    _requests: list[FakeRequest] = PrivateAttr(default_factory=list)
    _stream_ends: list[float] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _ids: int = PrivateAttr(default=0)
    _in_flight: int = PrivateAttr(default=0)
    _max_in_flight: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "crsagent-fake"

    @property
    def requests(self) -> list[FakeRequest]:
        """The recorded requests (every one, or the newest ``max_recorded``), oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def max_in_flight(self) -> int:
        """The most requests this model was answering at the same time."""
        with self._lock:
            return self._max_in_flight

    @property
    def stream_ends(self) -> list[float]:
        """``time.monotonic()`` when each streamed answer's last chunk was generated, oldest first."""
        with self._lock:
            return list(self._stream_ends)

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _answer(self, request: FakeRequest) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools the way ``ChatOpenAI`` does; the fake sees them in :class:`FakeRequest`."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        if tool_choice is not None and tool_choice is not False:
            kwargs["tool_choice"] = "required" if tool_choice is True else tool_choice
        kwargs.pop("strict", None)
        return self.bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: str = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Like ``ChatOpenAI.with_structured_output``: ``json_schema``/``json_mode`` or ``function_calling``."""
        is_model = isinstance(schema, type) and issubclass(schema, BaseModel)
        model = cast("type[BaseModel]", schema)  # used only when is_model

        def validate(m: Any) -> Any:
            return model.model_validate_json(m.text)

        llm: Runnable[LanguageModelInput, Any]
        if method in ("json_schema", "json_mode"):
            fmt = (
                response_format_for(model)
                if is_model
                else {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
            )
            llm = self.bind(response_format=fmt, **kwargs)
            parser: Runnable[Any, Any] = RunnableLambda(validate) if is_model else JsonOutputParser()
        elif method == "function_calling":
            name = convert_to_openai_tool(schema)["function"]["name"]
            llm = self.bind_tools([schema], tool_choice=name, **kwargs)
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if is_model
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        else:
            raise ValueError(f"unknown structured-output method {method!r}")
        if not include_raw:
            return llm | parser
        parse = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=lambda _: None)
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parse.with_fallbacks([fallback], exception_key="parsing_error")

    def _request(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> FakeRequest:
        rest = dict(kwargs)
        request = FakeRequest(
            messages=list(messages),
            tools=list(rest.pop("tools", None) or []),
            tool_choice=rest.pop("tool_choice", None),
            response_format=rest.pop("response_format", None),
            kwargs=rest,
        )
        with self._lock:
            self._requests.append(request)
            if self.max_recorded is not None and len(self._requests) > self.max_recorded:
                del self._requests[: len(self._requests) - self.max_recorded]
        return request

    def _to_message(self, reply: Any, request: FakeRequest) -> AIMessage:
        if isinstance(reply, BaseException):
            raise reply
        if callable(reply) and not isinstance(reply, (BaseModel, type)):
            return self._to_message(reply(request), request)
        if isinstance(reply, AIMessage):
            return reply.model_copy(deep=True)
        if isinstance(reply, str):
            return AIMessage(content=reply)
        if isinstance(reply, BaseModel):
            reply = reply.model_dump(mode="json")
        if isinstance(reply, dict):
            if reply and set(reply) <= {"content", "tool_calls"}:
                return AIMessage(**{"content": "", **reply})
            if request.response_format is None and request.forced_tool:
                with self._lock:
                    self._ids += 1
                    call_id = f"call_{self._ids}"
                return tool_call_message(request.forced_tool, reply, call_id=call_id)
            return AIMessage(content=json.dumps(reply))
        raise TypeError(f"cannot turn a scripted answer of type {type(reply).__name__} into an AIMessage")

    def _result(self, message: AIMessage) -> ChatResult:
        prompt, completion = self.fake_usage
        message.usage_metadata = {
            "input_tokens": prompt,
            "output_tokens": completion,
            "total_tokens": prompt + completion,
        }
        message.response_metadata = {
            **message.response_metadata,
            "model_name": self.model_name,
            "finish_reason": "stop",
        }
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._enter()
        try:
            if self.latency_s > 0:
                time.sleep(self.latency_s)
            return self._complete(messages, kwargs)
        finally:
            self._leave()

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._enter()
        try:
            if self.latency_s > 0:
                await asyncio.sleep(self.latency_s)
            return self._complete(messages, kwargs)
        finally:
            self._leave()

    def _complete(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> ChatResult:
        request = self._request(messages, kwargs)
        return self._result(self._to_message(self._answer(request), request))

    def _chunks(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> list[ChatGenerationChunk]:
        """The answer as stream chunks: a chunk per word, a chunk per tool call, usage on the last."""
        message = cast(AIMessage, self._complete(messages, kwargs).generations[0].message)
        text = message.text if isinstance(message.text, str) else ""
        chunks = [AIMessageChunk(content=w, id=message.id) for w in _WORDS.findall(text)]
        for i, call in enumerate(getattr(message, "tool_calls", None) or []):
            chunks.append(
                AIMessageChunk(
                    content="",
                    id=message.id,
                    tool_call_chunks=[
                        {
                            "name": call["name"],
                            "args": json.dumps(call["args"]),
                            "id": call.get("id"),
                            "index": i,
                            "type": "tool_call_chunk",
                        }
                    ],
                )
            )
        if not chunks:
            chunks.append(AIMessageChunk(content="", id=message.id))
        chunks[-1].usage_metadata = message.usage_metadata
        chunks[-1].response_metadata = dict(message.response_metadata)
        return [ChatGenerationChunk(message=c) for c in chunks]

    def _ended(self) -> None:
        with self._lock:
            self._stream_ends.append(time.monotonic())
            del self._stream_ends[:-1000]

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        self._enter()
        try:
            if self.latency_s > 0:
                time.sleep(self.latency_s)
            chunks = self._chunks(messages, kwargs)
            for i, chunk in enumerate(chunks):
                if i and self.token_latency_s > 0:
                    time.sleep(self.token_latency_s)
                if i == len(chunks) - 1:
                    self._ended()
                yield chunk
        finally:
            self._leave()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        self._enter()
        try:
            if self.latency_s > 0:
                await asyncio.sleep(self.latency_s)
            chunks = self._chunks(messages, kwargs)
            for i, chunk in enumerate(chunks):
                if i and self.token_latency_s > 0:
                    await asyncio.sleep(self.token_latency_s)
                if i == len(chunks) - 1:
                    self._ended()
                yield chunk
        finally:
            self._leave()


class ScriptedChatModel(_FakeChatModel):
    """Answers from a script, in order.

    Args:
        responses: the answers (see the module docstring for the accepted kinds).

    Raises:
        UnexpectedCallError: on a call after the script ran out.
    """

    responses: list[Any]
    model_name: str = "scripted"
    _next: int = PrivateAttr(default=0)

    def __init__(self, responses: Sequence[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(responses=list(responses or []), **kwargs)  # type: ignore[call-arg]  # a pydantic field

    @property
    def remaining(self) -> int:
        """Answers not yet given."""
        with self._lock:
            return len(self.responses) - self._next

    def _answer(self, request: FakeRequest) -> Any:
        with self._lock:
            index = self._next
            if index >= len(self.responses):
                raise UnexpectedCallError(
                    f"ScriptedChatModel got call #{index + 1} but its script has {len(self.responses)} answer(s); "
                    f"last user message: {request.last_user_text[:200]!r}"
                )
            self._next += 1
        return self.responses[index]

    def assert_exhausted(self) -> None:
        """Fail when scripted answers were left over."""
        left = self.remaining
        if left:
            raise LeftoverResponsesError(f"{left} scripted answer(s) were never requested")


class FunctionChatModel(_FakeChatModel):
    """Answers with ``fn(request)``, where ``request`` is a :class:`FakeRequest`."""

    fn: Callable[[FakeRequest], Any]
    model_name: str = "function"

    def __init__(self, fn: Callable[[FakeRequest], Any], **kwargs: Any) -> None:
        super().__init__(fn=fn, **kwargs)  # type: ignore[call-arg]  # a pydantic field

    def _answer(self, request: FakeRequest) -> Any:
        return self.fn(request)


class InstantChatModel(_FakeChatModel):
    """Answers at once, validly: a minimal schema instance, a forced tool call, or short text.

    Attributes:
        text: the reply when nothing structured is asked for.
        call_tools: when tools are bound with ``tool_choice="auto"``, call each once (minimal
            arguments) unless the conversation already ends with tool results.
        max_recorded: requests kept in :attr:`requests` (1,000, so a long-running server's
            memory stays flat; None keeps all).
    """

    text: str = "OK."
    call_tools: bool = False
    model_name: str = "instant"
    max_recorded: int | None = 1000

    def _answer(self, request: FakeRequest) -> Any:
        if request.json_schema is not None:
            return AIMessage(content=json.dumps(minimal_instance(request.json_schema)))
        names = [request.forced_tool] if request.forced_tool else []
        if not names and self.call_tools and request.tools and request.tool_choice != "none":
            if not request.messages or request.messages[-1].type != "tool":
                names = request.tool_names
        if names:
            calls = [
                {
                    "name": n,
                    "args": minimal_instance(request.tool_schema(n)),
                    "id": f"call_{i}_{n}",
                    "type": "tool_call",
                }
                for i, n in enumerate(names)
            ]
            return AIMessage(content="", tool_calls=calls)
        return self.text
