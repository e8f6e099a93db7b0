"""A misbehaving OpenAI-compatible LLM server, run as its own process on loopback.

``python -m crsagent.tests.reliability.stub_llm --port-file PATH`` binds ``127.0.0.1`` on a
free port, writes the port to ``PATH`` and serves until killed. Tests switch its behaviour
at run time (``POST /_control {"mode": ..., "delay_s": ...}``) and read how many requests it
got (``GET /_stats``). Modes of ``POST /v1/chat/completions``:

* ``ok``: a valid answer: a minimal instance of a requested JSON schema, a forced tool call
  with minimal arguments, else a reply naming the first candidate of the prompt;
* ``slow``: sleep ``delay_s``, then ``ok``;
* ``malformed_json``: HTTP 200 whose body is not JSON;
* ``malformed_tool_calls``: tool calls whose arguments are not JSON and name no real tool
  (structured requests get truncated JSON);
* ``empty``: an answer with empty content and no tool calls;
* ``error_500``: HTTP 500;
* ``drop``: close the connection without answering.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["MODES", "StubState", "minimal_instance", "answer_ok", "main"]

MODES = ("ok", "slow", "malformed_json", "malformed_tool_calls", "empty", "error_500", "drop")
MODEL = "stub-model"
_FIRST_CANDIDATE = re.compile(r"^1\. (.+?) \[", re.MULTILINE)


class StubState:
    """The switchable behaviour and the request counters (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mode = "ok"
        self.delay_s = 0.0
        self.chat_requests = 0
        self.by_mode: dict[str, int] = {}

    def take(self) -> tuple[str, float]:
        """Count one chat request; return the mode and delay it is answered with."""
        with self.lock:
            self.chat_requests += 1
            self.by_mode[self.mode] = self.by_mode.get(self.mode, 0) + 1
            return self.mode, self.delay_s

    def stats(self) -> dict[str, Any]:
        """Counters and the current mode."""
        with self.lock:
            return {
                "mode": self.mode,
                "delay_s": self.delay_s,
                "chat_requests": self.chat_requests,
                "by_mode": dict(self.by_mode),
                "pid": os.getpid(),
            }


def minimal_instance(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A small value that satisfies a JSON schema (required fields only).

    Stdlib only, so the stub starts in a fraction of a second (the package's own
    ``crsagent.agent.testing.minimal_instance`` imports LangChain).
    """
    root = schema if root is None else root
    while "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = schema[key]
            if any(o.get("type") == "null" for o in options):
                return None
            return minimal_instance(options[0], root)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "null" if "null" in kind else kind[0]
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties", {})
        return {n: minimal_instance(props.get(n, {}), root) for n in schema.get("required", [])}
    if kind == "array":
        return [minimal_instance(schema.get("items", {}), root) for _ in range(int(schema.get("minItems", 0)))]
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind in ("integer", "number"):
        value = schema.get("minimum", 0)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    return None if kind == "null" else {}


def _completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def _forced_tool(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    tools = body.get("tools") or []
    if isinstance(choice, dict):
        return (choice.get("function") or {}).get("name")
    if choice == "required" and tools:
        return tools[0]["function"]["name"]
    return None


def _tool_schema(body: dict[str, Any], name: str) -> dict[str, Any]:
    for tool in body.get("tools") or []:
        if tool.get("function", {}).get("name") == name:
            return tool["function"].get("parameters") or {}
    return {}


def answer_ok(body: dict[str, Any]) -> dict[str, Any]:
    """A valid chat-completions answer to a request body."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = fmt.get("json_schema", {}).get("schema") or {}
        return _completion({"content": json.dumps(minimal_instance(schema))})
    forced = _forced_tool(body)
    if forced:
        args = minimal_instance(_tool_schema(body, forced))
        call = {"id": "call_stub", "type": "function", "function": {"name": forced, "arguments": json.dumps(args)}}
        return _completion({"content": None, "tool_calls": [call]}, "tool_calls")
    system = " ".join(str(m.get("content") or "") for m in body.get("messages") or [] if m.get("role") == "system")
    found = _FIRST_CANDIDATE.search(system)
    text = f"You might enjoy {found.group(1)}." if found else "Tell me more about what you like."
    return _completion({"content": text})


def _malformed_tool_calls(body: dict[str, Any]) -> dict[str, Any]:
    if (body.get("response_format") or {}).get("type") == "json_schema":
        return _completion({"content": '{"dialogue_act": "recommend", "liked_titles": ['})
    call = {"id": "call_bad", "type": "function", "function": {"name": "no_such_tool", "arguments": "{'query': oops"}}
    return _completion({"content": None, "tool_calls": [call]}, "tool_calls")


def _handler(state: StubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, code: int, data: bytes, ctype: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:
                pass

        def _json(self, code: int, obj: Any) -> None:
            self._send(code, json.dumps(obj).encode())

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length", "0") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                data = json.loads(raw or b"{}")
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {}

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            path = self.path.rstrip("/")
            if path == "/_stats":
                self._json(200, state.stats())
            elif path.endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "stub"}]})
            else:
                self._json(404, {"error": {"message": "not found", "type": "not_found"}})

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            body = self._body()
            if self.path.rstrip("/") == "/_control":
                with state.lock:
                    if body.get("mode") in MODES:
                        state.mode = body["mode"]
                    if "delay_s" in body:
                        state.delay_s = float(body["delay_s"])
                    if body.get("reset"):
                        state.chat_requests, state.by_mode = 0, {}
                self._json(200, state.stats())
                return
            mode, delay = state.take()
            if mode == "slow":
                time.sleep(delay)
                mode = "ok"
            if mode == "ok":
                self._json(200, answer_ok(body))
            elif mode == "malformed_json":
                self._send(200, b'{"id": "chatcmpl-stub", "choices": [{"message": {"content": "trunc')
            elif mode == "malformed_tool_calls":
                self._json(200, _malformed_tool_calls(body))
            elif mode == "empty":
                self._json(200, _completion({"content": ""}))
            elif mode == "error_500":
                self._json(500, {"error": {"message": "stub: internal error", "type": "server_error"}})
            else:  # drop: close the socket without an answer
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve until killed; write the bound port to ``--port-file``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--delay-s", type=float, default=0.0)
    args = parser.parse_args(argv)
    state = StubState()
    state.mode, state.delay_s = args.mode, args.delay_s
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(state))
    server.daemon_threads = True
    tmp = args.port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
