"""A real, throwaway chroma server for tests and benchmarks: ``chroma run`` on loopback.

The ``chroma`` command ships with the ``chromadb`` package (next to the venv's Python). The
server keeps its data in a temporary folder, listens on a free ``127.0.0.1`` port, and is
stopped and removed at the end.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["find_chroma", "chroma_server", "ChromaServer"]


@dataclass(frozen=True)
class ChromaServer:
    """A running ``chroma run``.

    Attributes:
        url: ``http://127.0.0.1:PORT``.
        pid: the server's process id.
        data_dir: where it keeps its data.
    """

    url: str
    pid: int
    data_dir: Path


def find_chroma() -> Path | None:
    """The ``chroma`` command of this Python's environment (else the one on PATH), or None."""
    here = Path(sys.executable).parent / "chroma"
    if here.exists():
        return here
    found = shutil.which("chroma")
    return Path(found) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def chroma_server(startup_timeout_s: float = 60.0) -> Iterator[ChromaServer]:
    """Start ``chroma run``; yield it (``.url`` is ``http://127.0.0.1:PORT``).

    Raises:
        RuntimeError: the command is missing or the server does not answer its heartbeat.
    """
    exe = find_chroma()
    if exe is None:
        raise RuntimeError("no `chroma` command: install the chromadb package (pip install chromadb)")
    root = Path(tempfile.mkdtemp(prefix="crsagent-chroma-"))
    port = _free_port()
    log = root / "server.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [str(exe), "run", "--path", str(root / "data"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited ({proc.returncode}): {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as resp:  # noqa: S310
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not answer in {startup_timeout_s:.0f} s: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield ChromaServer(url, proc.pid, root / "data")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        shutil.rmtree(root, ignore_errors=True)
