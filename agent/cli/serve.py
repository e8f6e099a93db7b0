"""``crsagent serve``: the OpenAI-compatible API under uvicorn."""

from __future__ import annotations

from pathlib import Path

import typer

from crsagent.agent.cli.common import cli_errors, err_console, settings_from

__all__ = ["serve"]


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port"),
    domain: str = typer.Option("movies", "--domain", "-d", help="movies | office"),
    llm_base_url: str | None = typer.Option(
        None, "--llm-base-url", help="OpenAI-compatible LLM server (default $CRSAGENT_LLM_BASE_URL)"
    ),
    llm_model: str | None = typer.Option(None, "--llm-model", help="served model name (default: ask the server)"),
    home: Path | None = typer.Option(None, "--home", help="data home (default $CRSAGENT_HOME or ./.crsagent)"),
    default_variant: str | None = typer.Option(
        None, "--default-variant", help="the graph the model 'crsagent' runs (default: agent; crs-only without an LLM)"
    ),
    fake_llm: bool = typer.Option(
        False, "--fake-llm", help="answer with the instant scripted LLM (load tests, demos without an LLM server)"
    ),
    checkpoint_url: str | None = typer.Option(
        None, "--checkpoint-url", help="sessions and profiles: sqlite:///DIR, postgresql://..., memory"
    ),
    max_message_chars: int = typer.Option(8000, "--max-message-chars", min=1, help="longest message accepted"),
    max_body_bytes: int = typer.Option(1_000_000, "--max-body-bytes", min=1, help="largest request body accepted"),
    rate_limit: int = typer.Option(
        0,
        "--rate-limit",
        min=0,
        help="requests per minute per API key (or client address), answered 429 over it; 0 is off",
    ),
    cors_origin: list[str] = typer.Option(
        [],
        "--cors-origin",
        help="allow browser calls from this origin (repeatable; '*' for any); CORS is off without it",
    ),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level"),
) -> None:
    """Serve the agent over HTTP: /v1/chat/completions, /v1/models, /health, /docs.

    Without an LLM server (no --llm-base-url, no CRSAGENT_LLM_BASE_URL, no --fake-llm) only the
    variants that need no LLM are offered. API keys: set CRSAGENT_API_KEYS (comma-separated)
    to require `Authorization: Bearer <key>`.
    """
    import uvicorn

    from crsagent.agent.server import ServerConfig, create_app
    from crsagent.agent.server.agent_runners import CRSAgentRunners, llm_free_variants
    from crsagent.agent.turns import VARIANTS
    from crsagent.tools.toolkit import Toolkit

    with cli_errors():
        settings = settings_from(home, llm_base_url=llm_base_url, llm_model=llm_model)
        llm = None
        if fake_llm:
            from crsagent.agent.testing import InstantChatModel

            llm = InstantChatModel()
        from crsagent.agent.persistence import persistence_kind

        sessions_url = checkpoint_url if checkpoint_url is not None else settings.checkpoint_url
        shared = sessions_url if persistence_kind(sessions_url) == "postgres" else None
        has_llm = fake_llm or bool(settings.llm_base_url)
        variants = VARIANTS if has_llm else llm_free_variants()
        config = ServerConfig(
            domain=domain,
            api_keys=settings.api_keys,
            variants=variants,
            default_variant=default_variant or ("agent" if has_llm else variants[0]),
            max_message_chars=max_message_chars,
            max_body_bytes=max_body_bytes,
            rate_limit_per_minute=rate_limit,
            cors_origins=tuple(cors_origin),
            warm_up=True,
            shared_state_url=shared,  # PostgreSQL sessions: locks and rate limits shared by replicas
            session_wait_s=settings.session_lock_wait_s,
        )
        Toolkit.load(settings, domain, eager=True)  # fail fast (nothing built?) before listening; cached
        app = create_app(CRSAgentRunners(settings, domain, llm=llm, checkpoint_url=checkpoint_url), config)
        auth = "on" if settings.api_keys else "off"
        cors = ",".join(cors_origin) or "off"
        llm_desc = "instant fake" if fake_llm else (settings.llm_base_url or "none (LLM-free variants only)")
        err_console.print(
            f"crsagent API on http://{host}:{port}  domain={domain} LLM={llm_desc} "
            f"models=crsagent({config.default_variant}),{','.join(variants)} API-keys={auth} CORS={cors}"
        )
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
