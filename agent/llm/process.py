"""The server process: a started vLLM in its own process group, and how it is stopped.

:class:`RunningServer` is what :func:`crsagent.agent.llm.server.start_server` returns;
:meth:`RunningServer.stop` sends SIGTERM to the server's whole process group, then SIGKILL
after a grace period, so no engine process is left. Split out of :mod:`.server`, which
re-exports :class:`RunningServer` and :func:`log_tail`.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crsagent.agent.errors import ConfigError

__all__ = ["RunningServer", "log_tail", "free_port", "check_port", "die_with_parent"]


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
        model_names: every name it serves (the base model's, then each LoRA adapter's);
            ``model_name`` is the default among them.
    """

    base_url: str
    model_name: str
    process: subprocess.Popen[Any]
    log_path: Path
    ready_s: float = 0.0
    model_names: tuple[str, ...] = ()
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

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM the server if the process that started it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"port {port} on {host} is in use ({exc.strerror}); pass another --port") from exc
