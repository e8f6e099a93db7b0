"""Fixtures for the LLM seam's unit tests.

``no_real_llm`` (autouse, in the top-level conftest) switches real LLM requests off. ``stub_llm``
is a misbehaving OpenAI-compatible server on loopback (a thread running ``http.server``) whose answers a test scripts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from crsagent.tests.support.loopback import loopback_server


def completion(
    content: str | None = "ok", *, tool_calls: list[dict[str, Any]] | None = None, finish: str = "stop"
) -> dict[str, Any]:
    """A chat-completions response body as vLLM sends it."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": c["name"], "arguments": json.dumps(c["args"])}}
            for i, c in enumerate(tool_calls)
        ]
        finish = "tool_calls"
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": "stub-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


@dataclass
class StubLLM:
    """A scripted OpenAI-compatible server.

    ``replies`` is consumed one per POST; each is ``("json", body)``, ``("status", code)``,
    ``("delay", seconds, body)`` or ``("raw", text)``. When it runs out, ``default`` is used.
    """

    base_url: str = ""
    replies: list[tuple[Any, ...]] = field(default_factory=list)
    default: tuple[Any, ...] = ("json", None)
    requests: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    completion = staticmethod(completion)

    def next_reply(self, body: dict[str, Any]) -> tuple[Any, ...]:
        with self.lock:
            self.requests.append(body)
            self.times.append(time.monotonic())
            return self.replies.pop(0) if self.replies else self.default


def _handler(stub: StubLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, code: int, text: str) -> None:
            data = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, json.dumps({"object": "list", "data": [{"id": "stub-model", "object": "model"}]}))
            else:
                self._send(404, json.dumps({"error": {"message": "not found"}}))

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            reply = stub.next_reply(body)
            kind = reply[0]
            if kind == "delay":
                time.sleep(reply[1])
                reply = ("json", reply[2] if len(reply) > 2 else None)
                kind = "json"
            if kind == "status":
                self._send(
                    reply[1], json.dumps({"error": {"message": f"stub status {reply[1]}", "type": "server_error"}})
                )
            elif kind == "raw":
                self._send(200, reply[1])
            else:
                self._send(200, json.dumps(reply[1] if reply[1] is not None else completion()))

    return Handler


@pytest.fixture
def stub_llm() -> Iterator[StubLLM]:
    """A stub OpenAI-compatible server on 127.0.0.1 (random port), stopped after the test."""
    stub = StubLLM()
    with loopback_server(_handler(stub)) as stub.base_url:
        yield stub
