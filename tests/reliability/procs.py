"""Real processes for the reliability tests: the stub LLM server and ``crsagent serve``.

Both run as subprocesses bound to ``127.0.0.1`` on free ports, so a test can kill them with
SIGKILL, restart them, and read their memory from ``/proc``. Everything here waits with a
deadline; nothing blocks forever.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from crsagent.agent.llm.real_llm_switch import FORBID_ENV
from crsagent.agent.server.loopback import free_port

__all__ = ["child_env", "rss_kib", "StubLLMProcess", "ApiProcess"]

_PY = sys.executable


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process: the real-LLM guard off, no API keys unless given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRSAGENT_")}
    env.pop(FORBID_ENV, None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read())


def _post_json(url: str, body: dict[str, Any], timeout: float = 5.0) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read())


class StubLLMProcess:
    """The misbehaving LLM server (:mod:`crsagent.tests.reliability.stub_llm`) in a subprocess.

    Args:
        mode: the starting mode.
        delay_s: the delay of the ``slow`` mode.
        port: the port to bind (0: a free one); pass a killed stub's port to restart it there.
        startup_timeout_s: how long the process may take to bind its port.
    """

    def __init__(self, mode: str = "ok", delay_s: float = 0.0, port: int = 0, startup_timeout_s: float = 60.0) -> None:
        self._dir = tempfile.mkdtemp(prefix="crsagent-stub-")
        port_file = Path(self._dir) / "port"
        cmd = [
            _PY,
            "-m",
            "crsagent.tests.reliability.stub_llm",
            "--port-file",
            str(port_file),
            "--mode",
            mode,
            "--delay-s",
            str(delay_s),
            "--port",
            str(port),
        ]
        self.proc = subprocess.Popen(cmd, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + startup_timeout_s
        while not port_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"stub LLM exited: {self.proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("stub LLM did not start")
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        self.root = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root}/v1"

    def control(self, mode: str | None = None, delay_s: float | None = None, reset: bool = False) -> dict[str, Any]:
        """Switch the behaviour (and optionally zero the counters)."""
        body: dict[str, Any] = {"reset": reset}
        if mode is not None:
            body["mode"] = mode
        if delay_s is not None:
            body["delay_s"] = delay_s
        return _post_json(f"{self.root}/_control", body)

    def stats(self) -> dict[str, Any]:
        """Request counters."""
        return _get_json(f"{self.root}/_stats")

    @property
    def requests(self) -> int:
        """Chat requests received so far."""
        return int(self.stats()["chat_requests"])

    def kill(self) -> None:
        """SIGKILL the process (idempotent)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> StubLLMProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


class ApiProcess:
    """``crsagent serve`` in a subprocess on a free loopback port.

    Args:
        home: the data home (built).
        args: extra ``crsagent serve`` options (``--fake-llm``, ``--checkpoint-url``, ...).
        env: extra environment variables (``CRSAGENT_API_KEYS``, ``CRSAGENT_LLM_TIMEOUT_S``, ...).
        log: where the server's output goes.
        sessions: a folder for SQLite sessions and profiles (``--checkpoint-url sqlite://...``).
        startup_timeout_s: how long it may take to answer ``/health``.
    """

    def __init__(
        self,
        home: Path,
        args: list[str],
        env: dict[str, str] | None = None,
        *,
        log: Path,
        sessions: Path | None = None,
        startup_timeout_s: float = 300.0,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.sessions = sessions
        if sessions is not None:
            args = [*args, "--checkpoint-url", f"sqlite://{sessions}"]
        cmd = [
            _PY,
            "-c",
            "from crsagent.agent.cli import main; main()",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--home",
            str(home),
            "--log-level",
            "warning",
            *args,
        ]
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as fh:
            self.proc = subprocess.Popen(
                cmd, stdout=fh, stderr=subprocess.STDOUT, env=child_env(CRSAGENT_HOME=str(home), **(env or {}))
            )
        self.started_s = self._wait_ready(startup_timeout_s)

    def _wait_ready(self, timeout_s: float) -> float:
        t0 = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"crsagent serve exited ({self.proc.returncode}): {self.tail()}")
            try:
                if _get_json(f"{self.url}/health", timeout=2.0).get("status") == "ok":
                    return time.monotonic() - t0
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.monotonic() - t0 > timeout_s:
                self.kill()
                raise RuntimeError(f"crsagent serve did not start in {timeout_s:.0f} s: {self.tail()}")
            time.sleep(0.2)

    def tail(self, n: int = 3000) -> str:
        """The end of the server's log."""
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    @property
    def rss_kib(self) -> int:
        """The server's resident memory."""
        return rss_kib(self.proc.pid)

    def kill(self, sig: int = signal.SIGKILL) -> int | None:
        """Send ``sig`` (SIGKILL by default) and reap the process; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=30)

    def __enter__(self) -> ApiProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
