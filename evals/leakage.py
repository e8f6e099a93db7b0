"""Leakage audit: ReDial mention counts that leave out the evaluated dialogues.

The movies catalogue's ``popularity`` is MovieLens rating count + ReDial mention count, and the
ReDial mention counts (``movies_with_mentions.csv``, 80,109 mentions) are corpus-wide: they count
the mentions in every ReDial dialogue, the evaluated dev dialogues (and ReDial's test split)
among them. The ``prior`` ranking signal smooths with the same counts
(:mod:`crsagent.tools.prior.redial`). For replay, :func:`leak_free_settings` gives settings whose
catalogue and data folder carry counts from a chosen source (:data:`MENTION_SOURCES`):

* ``corpus`` — the file as shipped (leaks the evaluated dialogues' own mentions);
* ``train-half`` — ``@id`` mentions in the messages of the ``train`` half of the dev dialogues
  (:func:`crsagent.tools.intent.split.dialogue_split`, the half the models learn from), rescaled
  to the corpus total so they weigh against MovieLens rating counts as before; clean for the
  held-out dev dialogues and for every other ReDial split;
* ``heldout-removed`` — the corpus counts minus the ``@id`` mentions in the held-out dev
  dialogues (clean for the held-out dev dialogues only; a diagnostic that keeps the most data).

Nothing under ``tools/`` changes: the copy of the catalogue goes to a SQLite file
(``Settings.database_url``) and the counts file to a data folder of links (``Settings.data_dir``).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from crsagent.agent.errors import ConfigError, DataError
from crsagent.agent.settings import Settings

__all__ = [
    "MENTION_SOURCES",
    "MENTIONS_FILE",
    "message_mentions",
    "mention_counts",
    "item_mentions",
    "leak_free_settings",
]

MENTION_SOURCES: tuple[str, ...] = ("train-half", "heldout-removed", "corpus")
MENTIONS_FILE = "movies_with_mentions.csv"
_AT_ID = re.compile(r"@(\d+)")


def message_mentions(dialogues: Iterable[Mapping[str, object]], keep: Callable[[str], bool]) -> Counter[str]:
    """``@id`` mentions in the message texts of the dialogues ``keep(conversationId)`` accepts.

    Counted as ReDial counts ``nbMentions``: every ``@id`` in every message (no corpus count is
    below the dev dialogues' count under this rule).
    """
    out: Counter[str] = Counter()
    for d in dialogues:
        if not keep(str(d.get("conversationId"))):
            continue
        messages: Iterable[Mapping[str, object]] = d.get("messages") or []  # type: ignore[assignment]
        for m in messages:
            out.update(_AT_ID.findall(str(m.get("text", ""))))
    return out


def _read_corpus(path: Path) -> dict[str, float]:
    if not path.is_file():
        raise DataError("ReDial mention counts not found", path)
    with path.open(newline="", encoding="utf-8") as fh:
        return {str(int(r["movieId"])): float(r["nbMentions"]) for r in csv.DictReader(fh)}


def _read_dialogues(path: Path) -> list[dict]:
    if not path.is_file():
        raise DataError("ReDial dialogues not found", path)
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def mention_counts(data_dir: Path, source: str) -> dict[str, float]:
    """ReDial movie id -> mention count from ``source`` (see the module docstring).

    Raises:
        ConfigError: the source is unknown.
        DataError: a ReDial file is missing.
    """
    from crsagent.tools.intent.split import HELDOUT, TRAIN, dialogue_split

    if source not in MENTION_SOURCES:
        raise ConfigError(f"unknown mention-count source {source!r}; use one of {', '.join(MENTION_SOURCES)}")
    d = Path(data_dir) / "redial"
    corpus = _read_corpus(d / MENTIONS_FILE)
    if source == "corpus":
        return corpus
    dialogues = _read_dialogues(d / "dev_dialogues.jsonl")
    if source == "heldout-removed":
        held = message_mentions(dialogues, lambda c: dialogue_split(c) == HELDOUT)
        return {rid: max(0.0, c - held.get(rid, 0)) for rid, c in corpus.items()}
    train = message_mentions(dialogues, lambda c: dialogue_split(c) == TRAIN)
    scale = sum(corpus.values()) / max(sum(train.values()), 1)
    return {rid: round(train.get(rid, 0) * scale) for rid in corpus}


def item_mentions(counts: Mapping[str, float], redial_map: Mapping[str, str]) -> dict[str, float]:
    """Catalogue id -> summed counts of the ReDial movies joined into it (as the catalogue build sums them)."""
    out: dict[str, float] = {}
    for rid, iid in redial_map.items():
        out[iid] = out.get(iid, 0.0) + float(counts.get(str(rid), 0.0))
    return out


def _link_data_dir(src: Path, dst: Path, counts: Mapping[str, float]) -> None:
    """``dst``: links to everything in ``src``, with ``redial/movies_with_mentions.csv`` replaced by ``counts``."""
    dst.mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        if entry.name != "redial":
            (dst / entry.name).symlink_to(entry.resolve())
    (dst / "redial").mkdir()
    for entry in (src / "redial").iterdir():
        if entry.name != MENTIONS_FILE:
            (dst / "redial" / entry.name).symlink_to(entry.resolve())
    names = {}
    with (src / "redial" / MENTIONS_FILE).open(newline="", encoding="utf-8") as fh:
        names = {str(int(r["movieId"])): r["movieName"] for r in csv.DictReader(fh)}
    with (dst / "redial" / MENTIONS_FILE).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["movieId", "movieName", "nbMentions"])
        for rid, name in names.items():
            w.writerow([rid, name, int(round(counts.get(rid, 0.0)))])


def leak_free_settings(settings: Settings, source: str, workdir: Path, *, prior: bool = True) -> Settings:
    """Settings whose movies catalogue (and, with ``prior``, ReDial prior) use ``source`` mention counts.

    Each item's ``mentions`` becomes the summed ``source`` counts of its ReDial movies and its
    ``popularity`` its MovieLens rating count plus those mentions (the build's rule), in a copy
    of the catalogue under ``workdir``. ``corpus`` returns ``settings`` unchanged.

    Args:
        settings: the run's settings (the built catalogue is read from them).
        source: one of :data:`MENTION_SOURCES`.
        workdir: an empty folder that outlives the run (the catalogue copy and data links).
        prior: also point ``data_dir`` at a copy whose counts file holds ``source`` counts, so
            the ``prior`` signal's smoothing leaves the evaluated dialogues out too.

    Returns:
        The settings to build the agent, the resolver and the baselines from.
    """
    from crsagent.tools.catalog.db import ProductDB

    counts = mention_counts(settings.data_dir, source)
    if source == "corpus":
        return settings
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    with ProductDB.for_domain(settings, "movies") as db:
        data = db.export()
        per_item = item_mentions(counts, db.source_map("redial"))
    data.items = [
        it.model_copy(
            update={
                "mentions": int(round(per_item.get(it.item_id, 0.0))),
                "popularity": float(it.rating_count + int(round(per_item.get(it.item_id, 0.0)))),
            }
        )
        for it in data.items
    ]
    url = f"sqlite:///{(workdir / 'catalog.sqlite').resolve()}"
    ProductDB.load_into(url, data, {"mention_counts": source})
    new = dataclasses.replace(settings, database_url=url)
    if prior:
        _link_data_dir(Path(settings.data_dir), workdir / "data", counts)
        new = dataclasses.replace(new, data_dir=(workdir / "data").resolve())
    return new
