"""FastAPI wiring of the OpenAI-compatible API (routes only; the logic is in serving.py).

``create_app(runner_factory, config)`` builds the app; ``crsagent serve`` runs it under
uvicorn. Routes: ``GET /health`` and ``/v1/health`` (no key needed), ``GET /v1/models``,
``GET /v1/models/{model}``, ``POST /v1/chat/completions``, ``POST /v1/responses``, and the
privacy routes ``GET`` / ``DELETE`` ``/v1/sessions/{id}`` and ``/v1/users/{id}/profile``; the
spec is at ``/openapi.json``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, cast

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPBearer

from crsagent.agent.server.auth import authenticate
from crsagent.agent.server.config import ServerConfig
from crsagent.agent.server.errors import install_error_handlers
from crsagent.agent.server.middleware import BodyLimitMiddleware
from crsagent.agent.server.models import DEFAULT_MODEL, list_models, resolve_model
from crsagent.agent.server.privacy_routes import add_privacy_routes
from crsagent.agent.server.protocol import (
    ChatCompletion,
    ChatCompletionRequest,
    ErrorResponse,
    Health,
    ModelCard,
    ModelList,
)
from crsagent.agent.server.ratelimit import RateLimiter
from crsagent.agent.server.responses import add_responses_routes
from crsagent.agent.server.runners import RunnerFactory, RunnerPool
from crsagent.agent.server.serving import ChatService, response_headers, to_completion, to_stream
from crsagent.agent.server.sessions import SESSION_HEADER, SESSION_ID_PATTERN

if TYPE_CHECKING:
    from crsagent.agent.server.replicas import SharedSessionLocks

__all__ = ["create_app"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "invalid request"},
    401: {"model": ErrorResponse, "description": "missing or wrong API key"},
    404: {"model": ErrorResponse, "description": "unknown model, or no such session or profile for this key"},
    409: {
        "model": ErrorResponse,
        "description": "the session is busy with another request, on any replica (see Retry-After)",
    },
    429: {"model": ErrorResponse, "description": "rate limit reached (see Retry-After)"},
    503: {"model": ErrorResponse, "description": "the LLM server is unavailable (see Retry-After)"},
}
_bearer = HTTPBearer(auto_error=False, description="API key, when the server has CRSAGENT_API_KEYS set")


def create_app(runner_factory: RunnerFactory, config: ServerConfig | None = None) -> FastAPI:
    """The API app.

    Args:
        runner_factory: ``(variant) -> AgentRunner`` (sync, async, or returning an awaitable);
            called once per variant, on first use (or at start-up with ``config.warm_up``).
        config: limits, keys and variants; defaults to :class:`ServerConfig`.

    Returns:
        A FastAPI app; ``app.state.service`` is its :class:`ChatService`.
    """
    cfg = config or ServerConfig()
    service = ChatService(RunnerPool(runner_factory), cfg)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        executor = ThreadPoolExecutor(max_workers=cfg.worker_threads, thread_name_prefix="crsagent-turn")
        asyncio.get_running_loop().set_default_executor(executor)
        if cfg.shared_state_url is not None:  # replicas share session locks (see replicas.py)
            from crsagent.agent.server.replicas import SharedSessionLocks

            shared = SharedSessionLocks(cfg.shared_state_url, cfg.session_wait_s)
            service.locks = shared
            await shared.open()
        try:
            if cfg.warm_up:
                await service.pool.get(cfg.default_variant)
            yield
        finally:
            await service.streams.drain()  # streamed turns whose client left still finish and checkpoint
            await service.pool.aclose()
            if cfg.shared_state_url is not None:
                await cast("SharedSessionLocks", service.locks).aclose()
            limiter.close()
            executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="crsagent",
        summary="OpenAI-compatible API of a conversational recommender agent",
        version="1.0",
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(BodyLimitMiddleware, max_bytes=cfg.max_body_bytes)
    if cfg.cors_origins:  # added last: outermost, so refusals (400, 401, 429) carry CORS headers too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cfg.cors_origins),
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", SESSION_HEADER],
            expose_headers=[SESSION_HEADER, "Retry-After"],
            max_age=600,
        )
    install_error_handlers(app)

    limiter = RateLimiter(cfg.rate_limit_per_minute, cfg.shared_state_url)

    async def require_key(request: Request, _: Annotated[Any, Depends(_bearer)] = None) -> str | None:
        """Authenticate, then count the request against the caller's rate limit.

        Returns:
            The identity of the caller's API key (None when the server has no keys).
        """
        tenant = authenticate(request.headers.get("authorization"), cfg.api_keys)
        if tenant is not None:
            await limiter.acheck(f"key:{tenant}")
        else:
            await limiter.acheck(f"addr:{request.client.host if request.client else 'unknown'}")
        return tenant

    async def health() -> Health:
        """Liveness, the domain and the model ids."""
        return Health(domain=cfg.domain, models=[c.id for c in _models().data], default_model=DEFAULT_MODEL)

    def _models() -> ModelList:
        return list_models(variants=cfg.variants, default_variant=cfg.default_variant)

    app.get("/health", response_model=Health, tags=["health"])(health)
    v1 = APIRouter(prefix="/v1")
    v1.get("/health", response_model=Health, tags=["health"])(health)
    api = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], responses=_ERRORS)

    @api.get("/models", response_model=ModelList, tags=["models"])
    async def models() -> ModelList:
        """The graph variants as model ids; ``crsagent`` is the default (the ``full`` graph)."""
        return _models()

    @api.get("/models/{model}", response_model=ModelCard, tags=["models"])
    async def model(model: str) -> ModelCard:
        """One model (``crsagent``, a variant name, or ``crsagent:<variant>``)."""
        variant = resolve_model(model, variants=cfg.variants, default_variant=cfg.default_variant)
        card = next(c for c in _models().data if c.variant == variant)
        return card.model_copy(update={"id": model, "default": model == DEFAULT_MODEL})

    @api.post(
        "/chat/completions",
        response_model=ChatCompletion,
        tags=["chat"],
        responses={200: {"content": {"text/event-stream": {}}, "description": "a ChatCompletion, or SSE chunks"}},
    )
    async def chat_completions(
        body: ChatCompletionRequest,
        x_session_id: Annotated[
            str | None, Header(alias=SESSION_HEADER, pattern=SESSION_ID_PATTERN.pattern, max_length=128)
        ] = None,
        tenant: str | None = Depends(require_key),  # a default, not Annotated: require_key is local
    ) -> Any:
        """One conversational turn. A session (``X-Session-Id`` or ``metadata.session_id``)
        resumes a checkpointed thread with only the last user message; without one the whole
        history is replayed statelessly. ``user`` keys the profile memory."""
        plan = service.plan(body, x_session_id, tenant)
        headers = dict(response_headers(plan))
        if plan.stream:  # the turn runs on its own task; an error before its first event is an HTTP error
            turn = service.start_stream(plan)
            first = await turn.next()
            headers.update({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
            return StreamingResponse(to_stream(plan, first, turn), media_type="text/event-stream", headers=headers)
        result = await service.run(plan)
        completion = to_completion(plan, result)
        return JSONResponse(completion.model_dump(mode="json"), headers=headers)

    add_privacy_routes(api, service, require_key)
    add_responses_routes(api, service, require_key)
    app.include_router(v1)
    app.include_router(api)
    _document_400_not_422(app)
    return app


def _document_400_not_422(app: FastAPI) -> None:
    """Validation errors answer 400 here, so drop FastAPI's 422 entries from the spec."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            for path in spec.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            schemas = spec.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
