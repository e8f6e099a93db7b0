"""Build the office catalogue: Amazon Office items with HTML-free descriptions; popularity
counts how often an item occurs in the user sequences of ``valid.csv``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from crsagent.agent.errors import DataError
from crsagent.tools.catalog import sources as src
from crsagent.tools.catalog.build import CatalogData, SourceLink
from crsagent.tools.catalog.schema import Item
from crsagent.tools.catalog.text import clean_description, clean_text, split_list_literal

__all__ = ["office_items", "build_office"]


def office_items(raw: list[src.OfficeItem], sequences: list[src.OfficeSequence]) -> CatalogData:
    """Office products with clean text; popularity = occurrences in histories and targets.

    Args:
        raw: ``items.json`` entries.
        sequences: ``valid.csv`` rows.

    Returns:
        The office catalogue; ``stats["unknown_sequence_ids"]`` counts sequence ids that are
        not in ``items.json``.
    """
    counts: Counter[str] = Counter()
    for s in sequences:
        counts.update(s.history)
        counts[s.target] += 1
    known = {r.source_id for r in raw}
    if len(known) != len(raw):
        dup = [k for k, c in Counter(r.source_id for r in raw).items() if c > 1]
        raise DataError(f"duplicate item ids: {dup[:10]}")
    items: list[Item] = []
    links: list[SourceLink] = []
    for r in raw:
        item_id = f"amz-{r.source_id}"
        cats = [clean_text(c) for c in split_list_literal(r.categories)]
        items.append(
            Item(
                item_id=item_id,
                domain="office",
                title=clean_text(r.title),
                brand=clean_text(r.brand) or None,
                plot=clean_description(r.description),
                categories=[c for c in cats if c],
                popularity=float(counts.get(r.source_id, 0)),
                source_id=r.source_id,
            )
        )
        links.append(SourceLink("amazon", r.source_id, item_id, r.title))
    stats = {
        "items": len(items),
        "sequences": len(sequences),
        "unknown_sequence_ids": sum(c for k, c in counts.items() if k not in known),
    }
    return CatalogData("office", items, links, {}, stats)


def build_office(data_dir: Path) -> CatalogData:
    """Read ``items.json`` and ``valid.csv`` under ``data_dir`` and build the office catalogue.

    Raises:
        DataError: a file is missing or malformed.
    """
    f = src.office_files(data_dir)
    return office_items(src.read_office_items(f["items"]), src.read_office_sequences(f["valid"]))
