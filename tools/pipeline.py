"""The build pipeline: the stages ``crsagent build`` runs, in order, for one domain.

A stage is a module with ``NAME``, ``DEPENDS`` (stage names whose artifacts it reads),
``input_hash(ctx) -> str`` and ``build(ctx, out_dir) -> dict | None``. The pipeline hashes
each stage's inputs together with the hashes of the stages it depends on, and lets
:class:`~crsagent.tools.artifacts.ArtifactStore` swap the result in atomically.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from crsagent.agent.errors import ConfigError
from crsagent.agent.settings import DOMAINS, Settings
from crsagent.tools.artifacts import ArtifactStore

__all__ = ["BuildContext", "StageResult", "STAGES", "STAGE_BY_NAME", "run_build", "stage_modules"]

# Stage modules, in build order. Each stage lists what it depends on.
STAGES: tuple[str, ...] = (
    "crsagent.tools.catalog.stage",
    "crsagent.tools.search.stage",
    "crsagent.tools.encoder.stage",
    "crsagent.tools.cf.stage",
    "crsagent.tools.seq.stage",
    "crsagent.tools.intent.stage",
    "crsagent.tools.prior.stage",
    "crsagent.tools.ranker.stage",
)
#: Stage name -> module (the stage's NAME is its package name).
STAGE_BY_NAME: dict[str, str] = {m.rsplit(".", 2)[-2]: m for m in STAGES}


@dataclass
class BuildContext:
    """What a stage gets: settings, the domain, the artifact store and a progress hook.

    Attributes:
        settings: run settings (data dir, home).
        domain: ``movies`` or ``office``.
        store: the domain's artifact store (read earlier stages with ``store.path(name)``).
        progress: ``progress(description, total) -> advance(n)``; a no-op by default.
        force: rebuild even when nothing changed.
        log: ``log(message)`` for figures a stage wants to report (losses, KL ...).
    """

    settings: Settings
    domain: str
    store: ArtifactStore
    progress: Callable[[str, int | None], Callable[[int], None]] = field(default=lambda desc, total: lambda n=1: None)
    force: bool = False
    log: Callable[[str], None] = field(default=lambda msg: None)

    @property
    def data_dir(self) -> Path:
        """The raw datasets folder."""
        return self.settings.data_dir


@dataclass
class StageResult:
    """One stage's outcome."""

    name: str
    path: Path
    built: bool
    seconds: float


def stage_modules(only: list[str] | None = None) -> list[ModuleType]:
    """Import the stage modules, optionally only those named (with their dependencies).

    Only the stages asked for and what they depend on are imported, so building the catalogue
    never needs the model code.
    """
    names = {m.rsplit(".", 2)[-2]: m for m in STAGES}  # crsagent.tools.<pkg>.stage -> pkg
    by_name: dict[str, ModuleType] = {}

    def load(name: str) -> ModuleType:
        if name not in by_name:
            path = STAGE_BY_NAME.get(name) or names.get(name)
            if path is None:
                raise ConfigError(f"unknown stage '{name}'; stages are {list(STAGE_BY_NAME)}")
            by_name[name] = importlib.import_module(path)
        return by_name[name]

    if not only:
        return [load(n) for n in STAGE_BY_NAME]
    wanted: set[str] = set()

    def add(name: str) -> None:
        if name not in wanted:
            wanted.add(name)
            for dep in load(name).DEPENDS:
                add(dep)

    for n in only:
        add(n)
    return [load(n) for n in STAGE_BY_NAME if n in wanted]


def run_build(ctx: BuildContext, only: list[str] | None = None) -> list[StageResult]:
    """Run the pipeline for ``ctx.domain``.

    Args:
        ctx: the build context.
        only: stage names to build (their dependencies come along); None builds all.

    Returns:
        One result per stage, in order.
    """
    if ctx.domain not in DOMAINS:
        raise ConfigError(f"unknown domain '{ctx.domain}'; choose one of {list(DOMAINS)}")
    results: list[StageResult] = []
    for mod in stage_modules(only):
        t0 = time.perf_counter()
        dep_hashes: dict[str, Any] = {d: ctx.store.hash_of(d) for d in mod.DEPENDS}
        from crsagent.tools.artifacts import hash_inputs

        h = hash_inputs([], {"stage": mod.input_hash(ctx), "deps": dep_hashes})

        def build_stage(out: Path, m: Any = mod) -> Any:
            return m.build(ctx, out)

        path, built = ctx.store.build(mod.NAME, h, build_stage, force=ctx.force)
        results.append(StageResult(mod.NAME, path, built, time.perf_counter() - t0))
    return results
