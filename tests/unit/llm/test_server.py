"""Server lifecycle against a stand-in ``vllm.entrypoints.openai.api_server`` module.

The stand-in is a real process started the way vLLM is (same command line, same process
group handling); it serves ``/v1/models`` after a delay, crashes, or never gets ready, and
leaves a child that ignores SIGTERM, as vLLM's engine process might.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from crsagent.agent.errors import ConfigError, LLMUnavailableError
from crsagent.agent.llm.server import (
    CPU_SPECULATIVE_TOKENS,
    LLMServerConfig,
    RunningServer,
    cpu_dtype,
    server_command,
    server_env,
    start_server,
)
from crsagent.prompts.loader import template_path

STUB = textwrap.dedent(
    """
    import argparse, json, os, signal, subprocess, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer

    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int)
    p.add_argument("--host")
    p.add_argument("--served-model-name")
    args, _ = p.parse_known_args()
    mode = os.environ.get("STUB_MODE", "ok")
    child = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
    open(os.environ["STUB_CHILD_FILE"], "w").write(str(child.pid))
    print("stub vllm starting", args.served_model_name, flush=True)
    if mode == "crash":
        print("RuntimeError: stub engine failed to start", flush=True)
        sys.exit(3)
    time.sleep(float(os.environ.get("STUB_DELAY", "0.3")))
    if mode == "hang":
        time.sleep(600)

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass
        def do_GET(self):
            body = json.dumps({"data": [{"id": args.served_model_name}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    HTTPServer((args.host, args.port), H).serve_forever()
    """
)


@pytest.fixture
def stub_vllm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pkg = tmp_path / "stubs" / "vllm" / "entrypoints" / "openai"
    pkg.mkdir(parents=True)
    for folder in (pkg, pkg.parent, pkg.parent.parent):
        (folder / "__init__.py").write_text("")
    (pkg / "api_server.py").write_text(STUB)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "stubs"))
    monkeypatch.setenv("STUB_CHILD_FILE", str(tmp_path / "child.pid"))
    return tmp_path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _start(tmp: Path, **kw) -> RunningServer:
    config = LLMServerConfig(port=0, **kw)
    return start_server(Path(sys.executable), "/models/x", config, log_path=tmp / "logs" / "server.log",
                        ready_timeout_s=20, poll_s=0.1)  # fmt: skip


def test_starts_waits_until_ready_and_stops_the_whole_group(stub_vllm):
    server = _start(stub_vllm)
    try:
        assert server.is_running() and server.ready_s > 0
        assert server.model_name == "smollm2-135m-instruct"
        ids = [m["id"] for m in httpx.get(server.base_url + "/models").json()["data"]]
        assert ids == ["smollm2-135m-instruct"]
    finally:
        code = server.stop(grace_s=1.0)
    child = int((stub_vllm / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert code is not None and not server.is_running()
    assert not _alive(child), "the SIGTERM-ignoring child was left behind"
    assert server.stop() == code  # idempotent


def test_context_manager_stops(stub_vllm):
    with _start(stub_vllm, served_model_name="mine") as server:
        assert server.model_name == "mine"
    assert not server.is_running()


def test_crash_before_ready_raises_with_the_log_tail(stub_vllm, monkeypatch):
    monkeypatch.setenv("STUB_MODE", "crash")
    with pytest.raises(LLMUnavailableError, match="exited with code 3") as info:
        _start(stub_vllm)
    assert "stub engine failed to start" in str(info.value)


def test_not_ready_in_time_raises_and_stops(stub_vllm, monkeypatch):
    monkeypatch.setenv("STUB_MODE", "hang")
    started = time.monotonic()
    with pytest.raises(LLMUnavailableError, match="not ready after 1 s"):
        start_server(
            Path(sys.executable),
            "m",
            LLMServerConfig(port=0),
            log_path=stub_vllm / "s.log",
            ready_timeout_s=1,
            poll_s=0.1,
        )
    assert time.monotonic() - started < 10
    child = int((stub_vllm / "child.pid").read_text())
    time.sleep(0.2)
    assert not _alive(child)


def test_port_in_use_is_a_config_error(stub_vllm):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port}"):
            start_server(Path(sys.executable), "m", LLMServerConfig(port=port), log_path=stub_vllm / "s.log")


def test_cpu_command_serves_the_bundled_model_with_tools_and_constraints():
    cmd = server_command(Path("/venv/bin/python"), "/home/llm/models/smol", LLMServerConfig(), 8001)
    assert cmd[:3] == ["/venv/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    joined = " ".join(cmd)
    assert (
        cmd[cmd.index("--structured-outputs-config") + 1] == '{"backend": "xgrammar", "disable_any_whitespace": true}'
    )
    for flag in ("--enable-auto-tool-choice", "--tool-call-parser hermes", f"--dtype {cpu_dtype()}", "--enforce-eager",
                 "--tool-strict-level parameter", "--max-model-len 4096", "--served-model-name smollm2-135m-instruct",
                 f"--chat-template {template_path('chatml_tools.jinja')}", "--host 127.0.0.1 --port 8001"):  # fmt: skip
        assert flag in joined


def test_the_cpu_dtype_is_bfloat16_only_where_the_cpu_has_it(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 avx512_vnni\n")
    assert cpu_dtype(info) == "bfloat16"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\nbugs\t\t: avx512_bf16\n")
    assert cpu_dtype(info) == "float32"  # only the flags line counts
    assert cpu_dtype(tmp_path / "missing") == "float32"
    cmd = server_command(Path("/venv/bin/python"), "/m", LLMServerConfig(dtype="float32"), 8001)
    assert cmd[cmd.index("--dtype") + 1] == "float32"  # an explicit dtype wins


def test_gpu_command_uses_the_models_own_template_and_auto_dtype():
    config = LLMServerConfig(
        model="Qwen/Qwen2.5-7B-Instruct", device="gpu", extra_args=("--gpu-memory-utilization", "0.8")
    )
    cmd = server_command(Path("py"), config.model, config, 9000)
    joined = " ".join(cmd)
    assert "--served-model-name Qwen/Qwen2.5-7B-Instruct" in joined and "--dtype auto" in joined
    assert "--enforce-eager" not in joined and "--chat-template" not in joined
    assert cmd[-2:] == ["--gpu-memory-utilization", "0.8"]


def test_prompt_lookup_speculative_decoding_is_on_for_cpu_and_off_for_gpu_unless_asked():
    def spec(config: LLMServerConfig) -> dict[str, object] | None:
        cmd = server_command(Path("py"), "/m", config, 8001)
        return json.loads(cmd[cmd.index("--speculative-config") + 1]) if "--speculative-config" in cmd else None

    cpu = spec(LLMServerConfig())
    assert cpu == {"method": "ngram", "num_speculative_tokens": CPU_SPECULATIVE_TOKENS,
                   "prompt_lookup_max": 4, "prompt_lookup_min": 2}  # fmt: skip
    assert spec(LLMServerConfig(speculative_tokens=0)) is None
    assert spec(LLMServerConfig(model="Qwen/Qwen2.5-7B-Instruct", device="gpu")) is None
    gpu = spec(LLMServerConfig(model="Qwen/Qwen2.5-7B-Instruct", device="gpu", speculative_tokens=6))
    assert gpu is not None and gpu["num_speculative_tokens"] == 6
    with pytest.raises(ConfigError, match="speculative_tokens"):
        server_command(Path("py"), "/m", LLMServerConfig(speculative_tokens=-1), 8001)


def test_server_env_is_offline_for_local_models_and_drops_the_guard():
    env = server_env(LLMServerConfig(), {"CRSAGENT_FORBID_REAL_LLM": "1", "PATH": "/bin"})
    assert env["HF_HUB_OFFLINE"] == "1" and env["VLLM_CPU_KVCACHE_SPACE"] == "1"
    assert "CRSAGENT_FORBID_REAL_LLM" not in env and env["PATH"] == "/bin"
    online = server_env(LLMServerConfig(model="org/some-model", device="gpu"), {})
    assert "HF_HUB_OFFLINE" not in online and "VLLM_CPU_KVCACHE_SPACE" not in online
