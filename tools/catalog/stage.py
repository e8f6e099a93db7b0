"""Build stage ``catalog``: the item table of a domain as ``catalog.sqlite`` + ``items.jsonl``.

The stage writes only into the folder it is given; :class:`~crsagent.tools.artifacts.ArtifactStore`
swaps it in when the build succeeded, so a failed build leaves the previous catalogue current.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from crsagent.agent.errors import DataError
from crsagent.tools.artifacts import hash_inputs
from crsagent.tools.catalog import sources as src
from crsagent.tools.catalog.build import build_domain, catalog_source
from crsagent.tools.catalog.db import DB_FILE
from crsagent.tools.catalog.repair import CORRECTIONS_FILE
from crsagent.tools.catalog.tables import SCHEMA_VERSION, write_catalog
from crsagent.tools.pipeline import BuildContext

__all__ = [
    "NAME",
    "DEPENDS",
    "VERSION",
    "ITEMS_FILE",
    "CATALOG_INPUTS",
    "input_files",
    "input_hash",
    "build",
    "write_artifact",
]

NAME = "catalog"
DEPENDS: tuple[str, ...] = ()
VERSION = 9  # bump when the build's output changes for the same inputs
ITEMS_FILE = "items.jsonl"


def _movielens_redial_inputs(data_dir: Path) -> list[Path]:
    ml = src.movielens_files(data_dir)
    fixes = [CORRECTIONS_FILE] if CORRECTIONS_FILE.is_file() else []
    return [ml["movies"], ml["links"], ml["ratings"], *src.redial_files(data_dir).values(), *fixes]


def _amazon_office_inputs(data_dir: Path) -> list[Path]:
    return list(src.office_files(data_dir).values())


#: The raw input files of each catalogue source (:attr:`~crsagent.agent.domains.DomainSpec.catalog`).
CATALOG_INPUTS: dict[str, Callable[[Path], list[Path]]] = {
    "movielens-redial": _movielens_redial_inputs,
    "amazon-office": _amazon_office_inputs,
}


def input_files(data_dir: Path, domain: str) -> list[Path]:
    """The raw files a domain's catalogue is built from (those of its catalogue source).

    Raises:
        DataError: an unknown domain, or a source with no known input files.
    """
    source = catalog_source(domain)
    files = CATALOG_INPUTS.get(source)
    if files is None:
        raise DataError(f"no input files known for catalogue source '{source}' (domain '{domain}')")
    return files(data_dir)


def input_hash(ctx: BuildContext) -> str:
    """Hash of the input files, the code version and the schema version."""
    return hash_inputs(input_files(ctx.data_dir, ctx.domain), {"version": VERSION, "schema": SCHEMA_VERSION})


def write_artifact(data_dir: Path, domain: str, out_dir: Path) -> dict[str, Any]:
    """Build a domain's catalogue into ``out_dir`` (``catalog.sqlite``, ``items.jsonl``, ``stats.json``).

    Args:
        data_dir: the raw datasets folder.
        domain: ``movies`` or ``office``.
        out_dir: an empty folder to write into.

    Returns:
        The build figures (item count and join statistics).

    Raises:
        DataError: an input file is missing or malformed (nothing useful is left in out_dir).
    """
    out_dir = Path(out_dir)
    data = build_domain(data_dir, domain)
    engine = create_engine(f"sqlite:///{out_dir / DB_FILE}")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode = DELETE")
        write_catalog(engine, data, {"version": VERSION})
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    with (out_dir / ITEMS_FILE).open("w", encoding="utf-8") as fh:
        for it in data.items:
            fh.write(it.model_dump_json() + "\n")
    (out_dir / "stats.json").write_text(json.dumps(data.stats, indent=2) + "\n")
    return dict(data.stats)


def build(ctx: BuildContext, out_dir: Path) -> dict[str, Any]:
    """Pipeline entry point: build the catalogue of ``ctx.domain`` into ``out_dir``."""
    advance = ctx.progress(f"{ctx.domain}: catalogue", 1)
    stats = write_artifact(ctx.data_dir, ctx.domain, out_dir)
    advance(1)
    ctx.log(f"{ctx.domain} catalogue: " + ", ".join(f"{k}={v}" for k, v in stats.items()))
    return stats
