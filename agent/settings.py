"""Settings: where data lives and how the agent reaches its LLM.

Only the CLI and the server read the environment (:meth:`Settings.from_env`); everything
else receives a :class:`Settings` or plain arguments, so no tool depends on hidden state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from crsagent.agent.domains import registered_domains

__all__ = ["Domain", "DOMAINS", "Settings", "repo_root", "default_data_dir"]

Domain = Literal["movies", "office"]
DOMAINS: tuple[str, ...] = registered_domains()  # see crsagent.agent.domains


def repo_root() -> Path:
    """The repository root (the folder that holds ``agent/`` and ``data/``)."""
    return Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    """The bundled datasets: ``data/`` at the repository root."""
    return repo_root() / "data"


@dataclass(frozen=True)
class Settings:
    """Run settings.

    Attributes:
        home: the data home where builds write (``CRSAGENT_HOME``, default ``./.crsagent``).
        data_dir: the raw datasets (``CRSAGENT_DATA``, default the repo's ``data/``).
        llm_base_url: OpenAI-compatible base URL of the LLM server (``CRSAGENT_LLM_BASE_URL``);
            several replicas are comma-separated (see :attr:`llm_base_urls`).
        llm_model: served model name (``CRSAGENT_LLM_MODEL``); None asks the server.
        llm_api_key: key sent to the LLM server (``CRSAGENT_LLM_API_KEY``).
        llm_timeout_s: per-request timeout for LLM calls.
        llm_max_retries: bounded retries for LLM calls.
        api_keys: keys accepted by ``crsagent serve`` (``CRSAGENT_API_KEYS``, comma-separated).
        database_url: product-database URL override (``CRSAGENT_DATABASE_URL``).
        checkpoint_url: checkpointer/store URL (``CRSAGENT_CHECKPOINT_URL``); None uses SQLite
            under the data home.
        chroma_url: a chroma server (``CRSAGENT_CHROMA_URL``, ``http://host:port``) that holds
            the vector index; None opens the built index folder with chromadb's persistent client.
        session_lock_wait_s: how long a request waits for its session's lock when the sessions
            live in PostgreSQL (``CRSAGENT_SESSION_LOCK_WAIT_S``) before it is refused (409).
    """

    home: Path = field(default_factory=lambda: Path(".crsagent").resolve())
    data_dir: Path = field(default_factory=default_data_dir)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str = "EMPTY"
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 2
    api_keys: tuple[str, ...] = ()
    database_url: str | None = None
    checkpoint_url: str | None = None
    chroma_url: str | None = None
    session_lock_wait_s: float = 30.0

    @property
    def llm_base_urls(self) -> tuple[str, ...]:
        """The LLM replicas: ``llm_base_url`` split on commas (empty without an LLM)."""
        return tuple(u.strip() for u in (self.llm_base_url or "").split(",") if u.strip())

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Read settings from environment variables, then apply non-None overrides."""
        env = dict(os.environ if env is None else env)
        s = cls(
            home=Path(env.get("CRSAGENT_HOME", ".crsagent")).resolve(),
            data_dir=Path(env["CRSAGENT_DATA"]).resolve() if env.get("CRSAGENT_DATA") else default_data_dir(),
            llm_base_url=env.get("CRSAGENT_LLM_BASE_URL") or None,
            llm_model=env.get("CRSAGENT_LLM_MODEL") or None,
            llm_api_key=env.get("CRSAGENT_LLM_API_KEY", "EMPTY"),
            llm_timeout_s=float(env.get("CRSAGENT_LLM_TIMEOUT_S", "60")),
            llm_max_retries=int(env.get("CRSAGENT_LLM_MAX_RETRIES", "2")),
            api_keys=tuple(k.strip() for k in env.get("CRSAGENT_API_KEYS", "").split(",") if k.strip()),
            database_url=env.get("CRSAGENT_DATABASE_URL") or None,
            checkpoint_url=env.get("CRSAGENT_CHECKPOINT_URL") or None,
            chroma_url=env.get("CRSAGENT_CHROMA_URL") or None,
            session_lock_wait_s=float(env.get("CRSAGENT_SESSION_LOCK_WAIT_S", "30")),
        )
        clean: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        if "home" in clean:
            clean["home"] = Path(clean["home"]).resolve()
        return replace(s, **clean) if clean else s

    def domain_home(self, domain: str) -> Path:
        """The folder that holds one domain's built artifacts."""
        return self.home / domain
