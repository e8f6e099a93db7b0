"""Request-body checks answered with an OpenAI-style 400 (pure ASGI middleware): the size limit,
and UTF-8 (RFC 8259: JSON exchanged between systems is UTF-8)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crsagent.agent.server.errors import error_body

__all__ = ["BodyLimitMiddleware"]


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes``, or not UTF-8, before the app sees them.

    The body is read up to the limit (a declared ``Content-Length`` over it is refused at
    once), checked to be UTF-8 (400 ``invalid_encoding``), then replayed to the app, so the app
    never parses an oversized or mis-encoded body.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        """Args:
        app: the wrapped ASGI app.
        max_bytes: the largest accepted body.
        """
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send, size: str) -> None:
        await self._answer(
            send, f"the request body is {size}; the limit is {self.max_bytes} bytes", "request_too_large"
        )

    async def _answer(self, send: Send, message: str, code: str) -> None:
        body = json.dumps(error_body(message, "invalid_request_error", None, code)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(send, f"{int(value)} bytes")
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send, f"over {self.max_bytes} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        data = b"".join(chunks)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            await self._answer(
                send, f"the request body is not UTF-8 (byte {exc.start}): send JSON as UTF-8", "invalid_encoding"
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
