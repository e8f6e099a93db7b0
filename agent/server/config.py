"""Server configuration (limits, keys, variants). Only ``crsagent serve`` reads the environment."""

from __future__ import annotations

from dataclasses import dataclass

from crsagent.agent.errors import ConfigError
from crsagent.agent.turns import VARIANTS

__all__ = ["ServerConfig"]


@dataclass(frozen=True)
class ServerConfig:
    """What the HTTP layer enforces.

    Attributes:
        domain: the catalogue the agent recommends from (reported by ``/health``).
        api_keys: accepted bearer keys; empty turns authentication off.
        variants: the graph variants offered as models.
        default_variant: what the model ``crsagent`` runs.
        max_message_chars: the longest message content accepted.
        max_messages: the most messages one request may carry.
        max_body_bytes: the largest request body accepted.
        rate_limit_per_minute: requests per minute one API key (or, without keys, one client
            address) may make to ``/v1``; over it the answer is 429 with ``Retry-After``; 0 is off.
        retry_after_s: ``Retry-After`` sent with a 503 when the LLM server is unavailable.
        warm_up: make the default variant's runner at start-up, not on the first request.
        worker_threads: size of the event loop's default thread pool, where the graph's
            synchronous nodes (and their blocking LLM calls) run; it bounds how many turns
            make progress at once.
        cors_origins: browser origins allowed to call the API (``https://app.example``, or
            ``*``); empty (the default) leaves CORS off, so browsers refuse cross-origin calls.
        shared_state_url: a ``postgresql://`` database the replicas share: session locks and
            rate-limit counts live there (:mod:`~crsagent.agent.server.replicas`); None keeps
            them in the process.
        session_wait_s: with ``shared_state_url``, how long a request waits for its session's
            lock before a 409 ``session_busy``.
    """

    domain: str = "movies"
    api_keys: tuple[str, ...] = ()
    variants: tuple[str, ...] = VARIANTS
    default_variant: str = "full"
    max_message_chars: int = 8_000
    max_messages: int = 256
    max_body_bytes: int = 1_000_000
    rate_limit_per_minute: int = 0
    retry_after_s: int = 5
    warm_up: bool = False
    worker_threads: int = 64
    cors_origins: tuple[str, ...] = ()
    shared_state_url: str | None = None
    session_wait_s: float = 30.0

    def __post_init__(self) -> None:
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown or not self.variants:
            raise ConfigError(f"variants must be a non-empty subset of {VARIANTS}, got {self.variants}")
        if self.default_variant not in self.variants:
            raise ConfigError(f"default_variant {self.default_variant!r} is not among {self.variants}")
        for name in ("max_message_chars", "max_messages", "max_body_bytes", "retry_after_s", "worker_threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        for origin in self.cors_origins:
            if origin != "*" and not origin.startswith(("http://", "https://")) or origin.endswith("/"):
                raise ConfigError(f"a CORS origin is '*' or scheme://host[:port] without a path, got {origin!r}")
        if self.session_wait_s <= 0:
            raise ConfigError("session_wait_s must be positive")
        if self.shared_state_url is not None and not self.shared_state_url.startswith(
            ("postgresql://", "postgres://", "postgresql+psycopg://")
        ):
            raise ConfigError("shared_state_url must be a postgresql:// URL")
        if self.rate_limit_per_minute < 0:
            raise ConfigError("rate_limit_per_minute must be 0 (off) or more")
