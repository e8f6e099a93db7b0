"""Replay datasets: ReDial turn files, their conversion to chat histories, and title -> item id mapping.

The ReDial turn format (``data/redial/dev_turns.jsonl``) has one recommendation turn per line:
``dialog_id``, ``turn_id``, ``context`` (the utterances so far, movies written as
``Title (Year)``), ``entity`` (entities and titles mentioned in the context), ``rec`` (the
titles the human recommender mentioned in this turn: the ground truth) and ``resp``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, ValidationError

from crsagent.agent.domains import domain_spec
from crsagent.agent.errors import DataError
from crsagent.agent.settings import Settings
from crsagent.agent.turns import ChatMessage
from crsagent.tools.catalog.titles import parse_title, title_key

__all__ = [
    "ReplayTurn",
    "load_turns",
    "select_turns",
    "context_to_messages",
    "normalize_title",
    "split_title_year",
    "TitleResolver",
    "load_redial_info",
    "catalog_items",
]


class ReplayTurn(BaseModel):
    """One recommendation turn of a replayed dialogue.

    Attributes:
        dialog_id: the dialogue's id.
        turn_id: the turn's index in the dialogue.
        context: the utterances before the recommender's reply; the last one is the seeker's.
        entity: entities and titles mentioned in the context (annotations).
        rec: ground-truth titles the recommender mentioned in its reply.
        resp: the recommender's reply.
    """

    dialog_id: str
    turn_id: int
    context: list[str]
    entity: list[str] = Field(default_factory=list)
    rec: list[str] = Field(default_factory=list)
    resp: str = ""

    @property
    def key(self) -> str:
        """A stable key for partial results: ``dialog_id:turn_id``."""
        return f"{self.dialog_id}:{self.turn_id}"


def load_turns(path: Path | str) -> list[ReplayTurn]:
    """Read a ReDial-turn-format JSONL file.

    Args:
        path: the file.

    Returns:
        The turns, in file order.

    Raises:
        DataError: the file is missing, a line is not JSON, or a line lacks a required field.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("turn file not found", path)
    turns: list[ReplayTurn] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                raw["dialog_id"] = str(raw.get("dialog_id", ""))
                turns.append(ReplayTurn.model_validate(raw))
            except (json.JSONDecodeError, TypeError, AttributeError) as exc:
                raise DataError(f"line {lineno} is not a JSON object: {exc}", path) from exc
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise DataError(f"line {lineno}: field {where!r}: {first['msg']}", path) from exc
    if not turns:
        raise DataError("no turns in file", path)
    return turns


def iter_dialogues(path: Path | str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, dialogue)`` for each non-blank line of a ReDial dialogues file (JSONL).

    Raises:
        DataError: the file is missing, or a line is not a JSON object.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("ReDial dialogues not found", path)
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"line {lineno} is not a ReDial dialogue: {exc}", path) from exc
            if not isinstance(d, dict):
                raise DataError(f"line {lineno} is not a ReDial dialogue: not a JSON object", path)
            yield lineno, d


def select_turns(turns: list[ReplayTurn], limit: int | None = None, seed: int | None = None) -> list[ReplayTurn]:
    """Choose which turns to run: all, the first ``limit``, or a seeded sample of ``limit``.

    A seeded sample keeps file order, so the same seed always gives the same turns in the
    same order.
    """
    if limit is None or limit >= len(turns):
        return list(turns)
    if limit < 1:
        raise DataError(f"limit must be at least 1, got {limit}")
    if seed is None:
        return list(turns[:limit])
    picked = sorted(random.Random(seed).sample(range(len(turns)), limit))
    return [turns[i] for i in picked]


def context_to_messages(context: list[str]) -> list[ChatMessage]:
    """Turn a ReDial context into a chat history.

    The last utterance is the seeker's (``user``); roles alternate backwards from it. Empty
    utterances (ReDial contexts start with ``""``) are dropped after roles are assigned, so
    the alternation stays right.

    Raises:
        DataError: the context has no non-empty utterance.
    """
    messages: list[ChatMessage] = []
    n = len(context)
    for i, text in enumerate(context):
        role: Literal["user", "assistant"] = "user" if (n - 1 - i) % 2 == 0 else "assistant"
        if text and text.strip():
            messages.append(ChatMessage(role=role, content=text.strip()))
    if not messages or messages[-1].role != "user":
        raise DataError("turn context has no seeker utterance to answer")
    return messages


def normalize_title(text: str) -> str:
    """Normalise a title for matching (accents, case, articles, punctuation), as the catalogue joins titles."""
    return title_key(text)


def split_title_year(name: str) -> tuple[str, int | None]:
    """Split ``"Title (Year)"`` into ``("Title", Year)``; a name without a year gives ``None``.

    MovieLens forms are understood too (``"Matrix, The (1999)"`` gives ``("The Matrix", 1999)``).
    """
    parsed = parse_title(name)
    return parsed.title, parsed.year


class _ItemLike(Protocol):
    item_id: str
    title: str
    year: int | None
    redial_id: int | None
    popularity: float


def load_redial_info(data_dir: Path) -> dict[str, dict[str, Any]]:
    """ReDial ``movie_info.json`` (ReDial id -> record with ``name`` and ``imdb_id``)."""
    path = Path(data_dir) / "redial" / "movie_info.json"
    if not path.is_file():
        raise DataError("ReDial movie info not found", path)
    try:
        with path.open(encoding="utf-8") as fh:
            return dict(json.load(fh))
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON: {exc}", path) from exc


def catalog_items(settings: Settings, domain: str = "movies") -> list[Any]:
    """Every item of the domain's built catalogue.

    Raises:
        NotBuiltError: the catalogue has not been built (``crsagent build``).
    """
    from crsagent.tools.catalog.db import ProductDB  # built by the catalog stage

    db = ProductDB.for_domain(settings, domain)
    try:
        return db.all_items()
    finally:
        db.close()


class TitleResolver:
    """Maps ReDial titles (``"Title (Year)"``) to catalogue item ids.

    Resolution order: the ReDial movie record with that exact name (its IMDb id, then its
    ReDial id, when the catalogue holds the item); then the normalised title with the same
    year; then, for a name without a year, the most popular catalogue item with that
    normalised title; then the same title one year off. Anything else is unmapped (``None``).

    Args:
        items: catalogue items (anything with ``item_id``, ``title``, ``year``, ``redial_id``,
            ``popularity``).
        redial_info: ReDial ``movie_info.json`` contents, optional.
    """

    def __init__(self, items: Iterable[_ItemLike], redial_info: Mapping[str, Mapping[str, Any]] | None = None):
        self._ids: set[str] = set()
        self._by_redial: dict[int, str] = {}
        self._by_key: dict[tuple[str, int | None], str] = {}
        self._by_title: dict[str, tuple[float, str]] = {}
        for it in items:
            self._ids.add(it.item_id)
            if it.redial_id is not None:
                self._by_redial.setdefault(int(it.redial_id), it.item_id)
            norm = normalize_title(it.title)
            pop = float(it.popularity or 0.0)
            self._by_key.setdefault((norm, it.year), it.item_id)
            best = self._by_title.get(norm)
            if best is None or pop > best[0]:
                self._by_title[norm] = (pop, it.item_id)
        self._by_name: dict[str, list[str]] = {}
        for rid, rec in (redial_info or {}).items():
            name = str(rec.get("name", "")).strip()
            if not name:
                continue
            cands = self._by_name.setdefault(name, [])
            imdb = str(rec.get("imdb_id") or "")
            if imdb in self._ids:
                cands.append(imdb)
            try:
                by_rid = self._by_redial.get(int(rid))
            except ValueError:
                by_rid = None
            if by_rid:
                cands.append(by_rid)
        self._cache: dict[str, str | None] = {}

    @classmethod
    def from_catalog(
        cls, settings: Settings, domain: str = "movies", items: Iterable[_ItemLike] | None = None
    ) -> TitleResolver:
        """Build from the domain's built catalogue (or ``items``) and the bundled ReDial movie records."""
        items = catalog_items(settings, domain) if items is None else items
        info = load_redial_info(settings.data_dir) if domain_spec(domain).dialogues else None
        return cls(items, info)

    @property
    def redial_names(self) -> set[str]:
        """Every ReDial movie name known to the resolver (resolvable or not)."""
        return set(self._by_name)

    def resolve(self, name: str) -> str | None:
        """The catalogue id of a title, or ``None`` when it cannot be mapped."""
        if name in self._cache:
            return self._cache[name]
        found = self._resolve(name)
        self._cache[name] = found
        return found

    def _resolve(self, name: str) -> str | None:
        name = name.strip()
        for cand in self._by_name.get(name, ()):
            return cand
        title, year = split_title_year(name)
        norm = normalize_title(title)
        if not norm:
            return None
        hit = self._by_key.get((norm, year))
        if hit:
            return hit
        if year is None:
            best = self._by_title.get(norm)
            return best[1] if best else None
        for off in (-1, 1):
            hit = self._by_key.get((norm, year + off))
            if hit:
                return hit
        return None

    def mentioned_ids(self, context: list[str], entity: list[str], candidates: Iterable[str] = ()) -> set[str]:
        """Ids of items already mentioned in a turn's context.

        An item counts as mentioned when an ``entity`` annotation is a known title that maps
        to it, or when one of ``candidates`` (titles, for example the turn's ground truth)
        occurs verbatim in the context text.
        """
        out: set[str] = set()
        for ent in entity:
            if ent in self._by_name or split_title_year(ent)[1] is not None:
                iid = self.resolve(ent)
                if iid:
                    out.add(iid)
        text = "\n".join(context)
        for title in candidates:
            if title and title in text:
                iid = self.resolve(title)
                if iid:
                    out.add(iid)
        return out
