"""Hand-checked corrections of catalogue facts that no bundled source gets right.

``corrections.json`` maps an item id to the fields to set and a ``source`` that says how the
facts were checked. It is small on purpose: the audit (:mod:`crsagent.tools.catalog.audit`)
and the join's repairs fix what the sources themselves can fix; this file only fills in what
none of them has (Split, tt4972582: ReDial's entry carries another film's IMDb id, and
MovieLens has no people).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crsagent.tools.catalog.schema import Item

__all__ = ["CORRECTIONS_FILE", "load_corrections", "apply_corrections"]

CORRECTIONS_FILE = Path(__file__).resolve().parent / "corrections.json"
_FIELDS = ("title", "year", "genres", "directors", "writers", "cast", "plot")


def load_corrections(path: Path = CORRECTIONS_FILE) -> dict[str, dict[str, Any]]:
    """item id -> fields to set (unknown fields are ignored)."""
    if not Path(path).is_file():
        return {}
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return {k: {f: v for f, v in entry.items() if f in _FIELDS} for k, entry in raw.items()}


def apply_corrections(items: list[Item], path: Path = CORRECTIONS_FILE) -> int:
    """Set the corrected fields on the items they name (in place); returns how many changed."""
    fixes = load_corrections(path)
    n = 0
    for i, it in enumerate(items):
        fix = fixes.get(it.item_id)
        if fix:
            items[i] = it.model_copy(update=fix)
            n += 1
    return n
