"""Atomic, input-hashed build artifacts in the data home.

Each build stage (``catalog``, ``search``, ``cf`` ...) of a domain writes into a fresh
temporary folder; only when the stage finishes is the folder renamed to
``<domain>/<stage>-<hash>`` and the domain's ``manifest.json`` replaced atomically to point
at it. A failed or interrupted build therefore never leaves half an artifact in use, and an
unchanged input hash makes a rebuild a no-op.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from crsagent.agent.errors import BuildError, NotBuiltError

__all__ = ["ArtifactStore", "hash_inputs"]

MANIFEST = "manifest.json"


def hash_inputs(paths: Iterable[Path], extra: Any = None) -> str:
    """A short content hash over files (path names excluded) and a JSON-able ``extra``.

    Args:
        paths: input files; directories are walked in sorted order.
        extra: parameters that change the output (code version, hyper-parameters).

    Returns:
        16 hex characters.
    """
    h = hashlib.sha256()
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.is_file()))
        else:
            files.append(p)
    for f in files:
        if not f.exists():
            raise BuildError(f"input file missing: {f}")
        h.update(f.name.encode())
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    h.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


class ArtifactStore:
    """The artifacts of one domain under ``<home>/<domain>``.

    Args:
        home: the data home.
        domain: ``movies`` or ``office``.
    """

    def __init__(self, home: Path, domain: str) -> None:
        self.root = Path(home) / domain
        self.domain = domain

    # -- reading ---------------------------------------------------------------------
    def manifest(self) -> dict[str, dict[str, Any]]:
        """The current manifest: stage -> {"dir", "hash", ...}."""
        path = self.root / MANIFEST
        if not path.exists():
            return {}
        return json.loads(path.read_text())

    def has(self, stage: str) -> bool:
        """Whether a stage has a finished artifact."""
        entry = self.manifest().get(stage)
        return bool(entry) and entry is not None and (self.root / entry["dir"]).is_dir()

    def path(self, stage: str) -> Path:
        """The folder of a finished stage.

        Raises:
            NotBuiltError: the stage was never built.
        """
        entry = self.manifest().get(stage)
        if not entry or not (self.root / entry["dir"]).is_dir():
            raise NotBuiltError(
                f"no '{stage}' artifact for domain '{self.domain}' under {self.root}; "
                f"run `crsagent build --domain {self.domain}`"
            )
        return self.root / entry["dir"]

    def hash_of(self, stage: str) -> str | None:
        """The input hash of the current artifact of a stage, if any."""
        entry = self.manifest().get(stage)
        return entry["hash"] if entry else None

    # -- writing ---------------------------------------------------------------------
    def build(
        self,
        stage: str,
        input_hash: str,
        builder: Callable[[Path], dict[str, Any] | None],
        force: bool = False,
    ) -> tuple[Path, bool]:
        """Build a stage unless an artifact with the same input hash is current.

        Args:
            stage: stage name.
            input_hash: hash of everything the stage's output depends on.
            builder: writes the artifact into the folder it is given; may return metadata
                that is stored in the manifest.
            force: rebuild even when the hash matches.

        Returns:
            (artifact folder, whether it was built now).

        Raises:
            BuildError: the builder failed; the previous artifact stays current.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        entry = self.manifest().get(stage)
        final = self.root / f"{stage}-{input_hash}"
        if not force and entry and entry.get("hash") == input_hash and final.is_dir():
            return final, False
        tmp = Path(tempfile.mkdtemp(prefix=f".{stage}-", dir=self.root))
        try:
            meta = builder(tmp) or {}
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            if isinstance(exc, BuildError):
                raise
            raise BuildError(f"building '{stage}' for '{self.domain}' failed: {exc}") from exc
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; artifacts are read by servers too
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        self._set(stage, {"dir": final.name, "hash": input_hash, **meta})
        self._collect(stage, keep=final.name)
        return final, True

    def _set(self, stage: str, entry: dict[str, Any]) -> None:
        manifest = self.manifest()
        manifest[stage] = entry
        fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=self.root)
        with os.fdopen(fd, "w") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / MANIFEST)

    def _collect(self, stage: str, keep: str) -> None:
        for old in self.root.glob(f"{stage}-*"):
            if old.name != keep and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        for stale in self.root.glob(f".{stage}-*"):
            shutil.rmtree(stale, ignore_errors=True)
