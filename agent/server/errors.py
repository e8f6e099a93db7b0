"""OpenAI-style errors at the edge of the server.

Inside the server, code raises :class:`APIError` (an HTTP answer with OpenAI's error fields)
or lets crsagent's typed errors propagate; :func:`install_error_handlers` turns every one of
them into ``{"error": {"message", "type", "param", "code"}}``. FastAPI's 422 validation
answer becomes a 400, and no input reaches the generic 500 handler: that one is for bugs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from crsagent.agent.errors import (
    AgentRunError,
    BudgetExceededError,
    LLMError,
    LLMUnavailableError,
    ToolInputError,
    UserError,
)

__all__ = [
    "APIError",
    "SESSION_ID_RULE",
    "invalid_request",
    "error_body",
    "error_response",
    "from_agent_error",
    "validation_message",
    "install_error_handlers",
]

log = logging.getLogger("crsagent.server")

#: What a session id may be (``X-Session-Id``, ``metadata.session_id``, the sessions route).
SESSION_ID_RULE = "a session id is 1-128 characters of letters, digits and . _ : - (starting with a letter or digit)"

_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
}


class APIError(Exception):
    """An HTTP answer with an OpenAI-style error body.

    Attributes:
        status_code: the HTTP status.
        message: what went wrong and what to do instead.
        type: OpenAI's error type (``invalid_request_error``, ...).
        param: the offending request field, when there is one.
        code: a machine-readable code (``model_not_found``, ...).
        headers: extra response headers (``Retry-After``, ``WWW-Authenticate``).
    """

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        type: str | None = None,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.type = type or _STATUS_TYPES.get(status_code, "server_error" if status_code >= 500 else "api_error")
        self.param = param
        self.code = code
        self.headers = dict(headers or {})


def invalid_request(message: str, *, param: str | None = None, code: str = "invalid_value") -> APIError:
    """A 400 ``invalid_request_error``."""
    return APIError(400, message, param=param, code=code)


def error_body(message: str, type: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    """The JSON body of an error."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def error_response(exc: APIError) -> JSONResponse:
    """The HTTP response for an :class:`APIError`."""
    return JSONResponse(
        error_body(exc.message, exc.type, exc.param, exc.code), status_code=exc.status_code, headers=exc.headers
    )


def from_agent_error(exc: Exception, *, retry_after_s: int = 5) -> APIError:
    """Map an error raised by the agent to its HTTP answer.

    ``LLMUnavailableError`` becomes 503 with ``Retry-After``; another LLM failure 502;
    ``ToolInputError`` 400; an exhausted budget 500 ``budget_exceeded``; a configuration
    mistake (``UserError``, e.g. a missing build) 500 ``server_misconfigured``.
    """
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, LLMUnavailableError):
        return APIError(
            503,
            f"the LLM server is unavailable: {exc}; retry later",
            type="service_unavailable_error",
            code="llm_unavailable",
            headers={"Retry-After": str(retry_after_s)},
        )
    if isinstance(exc, LLMError):
        return APIError(502, f"the LLM server failed: {exc}", type="upstream_error", code="llm_error")
    if isinstance(exc, ToolInputError):
        return invalid_request(str(exc), code="invalid_input")
    if isinstance(exc, BudgetExceededError):
        return APIError(500, str(exc), type="server_error", code="budget_exceeded")
    if isinstance(exc, UserError):
        return APIError(500, f"server misconfigured: {exc}", type="server_error", code="server_misconfigured")
    if isinstance(exc, AgentRunError):
        return APIError(500, f"agent run failed: {exc}", type="server_error", code="agent_error")
    return APIError(500, "internal server error", type="server_error", code="internal_error")


_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_UNION_TAGS = frozenset({"str", "list[TextPart]", "list[str]"})


def _param(loc: tuple[Any, ...]) -> str | None:
    """A request-field path from a pydantic error location (``messages.0.content``)."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "header", "query", "path"):
        parts = parts[1:]
    out: list[str] = []
    for p in parts:
        # drop union tags: "messages.0.user.content.str" -> "messages.0.content"
        if p in _UNION_TAGS or (p in _ROLES and len(out) >= 2 and out[-2] == "messages" and out[-1].isdigit()):
            continue
        out.append(p)
    return ".".join(out) or None


def validation_message(errors: list[Mapping[str, Any]]) -> tuple[str, str | None]:
    """A readable message and the first offending field for a list of pydantic errors."""
    if not errors:
        return "invalid request", None
    first = errors[0]
    param = _param(tuple(first.get("loc", ())))
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        msg = f"unrecognized request argument supplied: {param}"
    elif kind == "json_invalid":
        msg = "the request body is not valid JSON"
        param = None
    elif kind == "union_tag_invalid":
        msg = f"{param}: unsupported role; use one of system, developer, user, assistant, tool"
    elif param and re.fullmatch(r"messages\.\d+\.content(\.\d+(\.\w+)?)?", param) and len(errors) > 1:
        param = ".".join(param.split(".")[:3])
        msg = (
            f"{param}: must be a string or a list of text parts "
            '({"type": "text", "text": ...}); other content types are not supported'
        )
        return msg, param
    elif param and param.split(".")[0] == "input" and len(errors) > 1:  # POST /v1/responses
        index = next((p for p in param.split(".")[1:] if p.isdigit()), None)
        param = "input" if index is None else f"input.{index}"
        msg = (
            f'{param}: input is a string or a list of message items ({{"role", "content"}}) whose content '
            "is a string or input_text / output_text parts; other input types are not supported"
        )
        return msg, param
    elif param is None and kind in ("model_attributes_type", "dict_type", "missing"):
        msg = "the request body must be a JSON object (send Content-Type: application/json)"
    elif kind == "missing":
        msg = f"{param}: field required"
    else:
        msg = f"{param}: {first.get('msg', 'invalid value')}" if param else str(first.get("msg", "invalid request"))
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more problem(s))"
    return msg, param


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, APIError)
    return error_response(exc)


def _validation_code(errors: list[Mapping[str, Any]]) -> str:
    """The error code of a failed validation: what was wrong with the request, by its first error."""
    first = errors[0] if errors else {}
    loc = tuple(str(p).lower() for p in first.get("loc", ()))
    kind = first.get("type")
    if kind == "json_invalid" or (loc in ((), ("body",)) and kind in ("model_attributes_type", "dict_type", "missing")):
        return "invalid_body"  # not JSON, or not a JSON object
    if loc[:2] == ("header", "x-session-id"):
        return "invalid_session_id"
    return "invalid_value"


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    message, param = validation_message(errors)
    code = _validation_code(errors)
    if code == "invalid_session_id":
        message = f"{param}: {SESSION_ID_RULE}"
    return error_response(invalid_request(message, param=param, code=code))


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = str(exc.detail)
    if status == 400 and detail == "There was an error parsing the body":
        detail = "the request body could not be parsed: send one JSON object with Content-Type: application/json"
    code = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed", 401: "invalid_api_key"}.get(status)
    return error_response(APIError(status, detail, code=code, headers=exc.headers))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    err = from_agent_error(exc)
    if err.status_code >= 500:
        log.error("request failed: %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(err)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error OpenAI's shape."""
    app.add_exception_handler(APIError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
