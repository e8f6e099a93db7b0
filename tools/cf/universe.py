"""The models' item universe: the catalogue's items, and interactions mapped onto them.

Every recommender model indexes exactly the catalogue's items, so any catalogue item can be
scored (items without interactions through the content and popularity fallbacks). Source ids
are mapped to catalogue ids with the catalogue's own source maps, so the models agree with
the catalogue's joins (ReDial movies matched to MovieLens by title, for example).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crsagent.agent.domains import domain_spec
from crsagent.tools.catalog.schema import Item
from crsagent.tools.cf.data import UserHistory, domain_histories

__all__ = ["Universe"]


@dataclass
class Universe:
    """The catalogue as the models see it.

    Attributes:
        domain: ``movies`` or ``office``.
        items: catalogue records, ordered by item id.
        id_maps: source name -> source id -> catalogue id.
    """

    domain: str
    items: list[Item]
    id_maps: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.items = sorted(self.items, key=lambda it: it.item_id)
        self.by_id = {it.item_id: it for it in self.items}

    @property
    def item_ids(self) -> list[str]:
        """Catalogue ids in index order."""
        return [it.item_id for it in self.items]

    @property
    def titles(self) -> dict[str, str]:
        """Item id -> display title."""
        return {it.item_id: it.display_title for it in self.items}

    def prior(self) -> np.ndarray:
        """The catalogue's popularity figure per item, in index order."""
        return np.array([it.popularity for it in self.items], dtype=np.float32)

    @classmethod
    def from_db(cls, db: object, domain: str) -> Universe:
        """Read items and source maps from a :class:`~crsagent.tools.catalog.db.ProductDB`."""
        sources = domain_spec(domain).sources
        maps = {s: db.source_map(s) for s in sources}  # type: ignore[attr-defined]
        return cls(domain, db.all_items(), maps)  # type: ignore[attr-defined]

    @classmethod
    def from_catalog_dir(cls, catalog_dir: Path, domain: str) -> Universe:
        """Open the catalogue artifact folder read-only and read it."""
        from crsagent.tools.catalog.db import DB_FILE, ProductDB

        db = ProductDB.open(Path(catalog_dir) / DB_FILE, read_only=True, domain=domain)
        try:
            return cls.from_db(db, domain)
        finally:
            db.close()

    def histories(self, data_dir: Path, redial_split: str = "train") -> list[UserHistory]:
        """The domain's user histories with every item mapped to (and kept only if in) the catalogue."""
        raw = domain_histories(data_dir, self.domain, redial_split, self._movie_maps())
        out = []
        for h in raw:
            keep = [k for k, i in enumerate(h.items) if i in self.by_id]
            if len(keep) < len(h.items):
                ratings = [h.ratings[k] for k in keep] if h.ratings is not None else None
                h = UserHistory(h.user_id, [h.items[k] for k in keep], ratings, h.source)
            if h.items:
                out.append(h)
        return out

    def _movie_maps(self) -> dict[str, dict[str, str]] | None:
        if not domain_spec(self.domain).dialogues or not self.id_maps.get("movielens"):
            return None
        return {k: v for k, v in self.id_maps.items() if v}

    def subset(self, ids: Sequence[str]) -> list[Item]:
        """Records of ``ids`` that are in the catalogue, in the order given."""
        return [self.by_id[i] for i in ids if i in self.by_id]
