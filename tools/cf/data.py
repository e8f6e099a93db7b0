"""Interaction data for the recommender models: user histories from the bundled datasets.

Every model (CF, sequential, intent) and the offline evaluation read interactions through
this module, so they agree on item ids, on order and on what counts as a positive.

* MovieLens: one history per user, ordered by (timestamp, movieId), with the star rating.
  A rating is *positive* when it is at least :data:`POSITIVE_MIN_RATING` (3.5; see
  ``docs/models.md`` for the measurement behind the choice).
* ReDial: one pseudo-user per dialogue of the intent-training half
  (:func:`crsagent.tools.intent.split.dialogue_split`) holding the movies the seeker liked.
* Amazon office: one history per user, ``history_item_id`` followed by ``item_id``.
"""

from __future__ import annotations

import ast
import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from crsagent.agent.domains import domain_spec
from crsagent.agent.errors import ConfigError, DataError
from crsagent.tools.intent.split import dialogue_split

__all__ = [
    "POSITIVE_MIN_RATING",
    "UserHistory",
    "movielens_imdb_map",
    "movielens_histories",
    "redial_dialogues",
    "redial_liked",
    "redial_imdb_map",
    "redial_liked_sessions",
    "office_histories",
    "domain_histories",
    "holdout_last",
    "interaction_matrix",
    "positive_items",
]

POSITIVE_MIN_RATING = 3.5


@dataclass
class UserHistory:
    """One user's interactions in time order.

    Attributes:
        user_id: a stable id (``ml-12``, ``redial-16162``, ``amz-A994``).
        items: catalogue item ids, oldest first.
        ratings: star ratings aligned with ``items`` (MovieLens), or None (implicit data).
        source: ``movielens``, ``redial`` or ``amazon``.
    """

    user_id: str
    items: list[str]
    ratings: list[float] | None = None
    source: str = ""
    extra: dict = field(default_factory=dict)

    def positives(self, min_rating: float = POSITIVE_MIN_RATING) -> list[str]:
        """The items that count as liked, in order (all items for implicit data)."""
        if self.ratings is None:
            return list(self.items)
        return [i for i, r in zip(self.items, self.ratings) if r >= min_rating]


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise DataError("file missing", path)
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def movielens_imdb_map(data_dir: Path) -> dict[int, str]:
    """MovieLens movieId -> catalogue id (``tt`` + 7-digit IMDb id)."""
    rows = _read_csv(Path(data_dir) / "movielens-latest-small" / "links.csv")
    return {int(r["movieId"]): "tt" + r["imdbId"].zfill(7) for r in rows if r.get("imdbId")}


def movielens_histories(data_dir: Path, id_map: dict[str, str] | None = None) -> list[UserHistory]:
    """MovieLens users, each with every rated movie ordered by (timestamp, movieId).

    Args:
        data_dir: the raw datasets folder.
        id_map: MovieLens movieId (as text) -> catalogue id, for example the catalogue's
            ``source_map("movielens")``; default: ``tt`` + links.csv's imdbId.
    """
    links = {int(k): v for k, v in id_map.items()} if id_map is not None else movielens_imdb_map(data_dir)
    path = Path(data_dir) / "movielens-latest-small" / "ratings.csv"
    by_user: dict[int, list[tuple[int, int, float]]] = {}
    for r in _read_csv(path):
        try:
            uid, mid, rating, ts = int(r["userId"]), int(r["movieId"]), float(r["rating"]), int(r["timestamp"])
        except (KeyError, ValueError) as exc:
            raise DataError(f"bad rating row {r}: {exc}", path) from exc
        if mid in links:
            by_user.setdefault(uid, []).append((ts, mid, rating))
    out = []
    for uid in sorted(by_user):
        rows = sorted(by_user[uid])
        out.append(UserHistory(f"ml-{uid}", [links[m] for _, m, _ in rows], [x for _, _, x in rows], "movielens"))
    return out


def redial_imdb_map(data_dir: Path) -> dict[str, str]:
    path = Path(data_dir) / "redial" / "movie_info.json"
    if not path.exists():
        raise DataError("file missing", path)
    info = json.loads(path.read_text(encoding="utf-8"))
    return {rid: v["imdb_id"] for rid, v in info.items() if str(v.get("imdb_id", "")).startswith("tt")}


def redial_dialogues(data_dir: Path) -> list[dict]:
    """The raw ReDial dev dialogues (one dict per dialogue)."""
    path = Path(data_dir) / "redial" / "dev_dialogues.jsonl"
    if not path.exists():
        raise DataError("file missing", path)
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def redial_liked(dialogue: dict, imdb: dict[str, str]) -> list[str]:
    """Catalogue ids of the movies the seeker liked in one dialogue, in mention order.

    The seeker's answers come from ``initiatorQuestions`` (the seeker's own form), falling
    back to ``respondentQuestions``; ``liked == 1`` counts as liked.
    """
    answers: dict[str, dict] = {}
    for key in ("respondentQuestions", "initiatorQuestions"):  # initiator wins
        q = dialogue.get(key)
        if isinstance(q, dict):
            answers.update(q)
    liked = [rid for rid in dialogue.get("movieMentions", {}) if answers.get(rid, {}).get("liked") == 1]
    return [imdb[r] for r in liked if r in imdb]


def redial_liked_sessions(
    data_dir: Path, split: str = "train", id_map: dict[str, str] | None = None
) -> list[UserHistory]:
    """One pseudo-user per ReDial dialogue of ``split`` with at least two liked movies.

    Args:
        data_dir: the raw datasets folder.
        split: ``train``, ``heldout`` (see :mod:`crsagent.tools.intent.split`) or ``all``.
        id_map: ReDial movie id -> catalogue id (the catalogue's ``source_map("redial")``);
            default: movie_info.json's ``imdb_id``.
    """
    imdb = id_map if id_map is not None else redial_imdb_map(data_dir)
    out = []
    for d in redial_dialogues(data_dir):
        cid = str(d.get("conversationId"))
        if split != "all" and dialogue_split(cid) != split:
            continue
        liked = redial_liked(d, imdb)
        if len(liked) >= 2:
            out.append(UserHistory(f"redial-{cid}", liked, None, "redial"))
    return out


def _id_list(text: str, path: Path) -> list[str]:
    try:
        vals = ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise DataError(f"bad id list {text!r}", path) from exc
    vals = vals if isinstance(vals, (list, tuple)) else [vals]
    return [f"amz-{int(v)}" for v in vals]


def office_histories(data_dir: Path) -> list[UserHistory]:
    """Amazon office users: the history items in order followed by the next item (``amz-<id>``)."""
    path = Path(data_dir) / "amazon-office" / "valid.csv"
    out = []
    for r in _read_csv(path):
        items = _id_list(r["history_item_id"], path) + _id_list(r["item_id"], path)
        out.append(UserHistory(f"amz-{r['user_id']}", items, None, "amazon"))
    return out


def domain_histories(
    data_dir: Path, domain: str, redial_split: str = "train", id_maps: dict[str, dict[str, str]] | None = None
) -> list[UserHistory]:
    """All histories a domain's models train on, from each of its sources in order
    (:attr:`~crsagent.agent.domains.DomainSpec.sources`; movies: MovieLens + ReDial pseudo-users).

    Args:
        data_dir: the raw datasets folder.
        domain: ``movies`` or ``office``.
        redial_split: which ReDial dialogues become pseudo-users.
        id_maps: source name (``movielens``, ``redial``) -> source id -> catalogue id.

    Raises:
        DataError: an unknown domain, or a source with no history reader.
    """
    id_maps = id_maps or {}
    readers = {
        "movielens": lambda: movielens_histories(data_dir, id_maps.get("movielens")),
        "redial": lambda: redial_liked_sessions(data_dir, redial_split, id_maps.get("redial")),
        "amazon": lambda: office_histories(data_dir),
    }
    try:
        sources = domain_spec(domain).sources
    except ConfigError as exc:
        raise DataError(str(exc)) from None
    out: list[UserHistory] = []
    for source in sources:
        if source not in readers:
            raise DataError(f"no interaction histories for source {source!r} (domain {domain!r})")
        out += readers[source]()
    return out


def holdout_last(
    histories: Sequence[UserHistory], min_rating: float = POSITIVE_MIN_RATING, min_train: int = 1
) -> tuple[list[UserHistory], dict[str, str]]:
    """Hold out each user's last positive item.

    The held-out item and everything after it are removed from the training history. Only
    MovieLens and Amazon users are evaluated; ReDial pseudo-users stay whole in training.

    Returns:
        (training histories, user_id -> held-out item id).
    """
    train: list[UserHistory] = []
    targets: dict[str, str] = {}
    for h in histories:
        if h.source == "redial":
            train.append(h)
            continue
        pos = [k for k, r in enumerate(h.ratings or [min_rating] * len(h.items)) if r >= min_rating]
        if not pos:
            train.append(h)
            continue
        cut = pos[-1]
        before = UserHistory(h.user_id, h.items[:cut], h.ratings[:cut] if h.ratings else None, h.source)
        if len(before.positives(min_rating)) >= min_train:
            targets[h.user_id] = h.items[cut]
        train.append(before if h.user_id in targets else h)
    return train, targets


def positive_items(histories: Iterable[UserHistory], min_rating: float = POSITIVE_MIN_RATING) -> list[list[str]]:
    """Each history's positives, in order."""
    return [h.positives(min_rating) for h in histories]


def interaction_matrix(
    histories: Sequence[UserHistory], index: dict[str, int], min_rating: float = POSITIVE_MIN_RATING
) -> sp.csr_matrix:
    """Binary users x items matrix of positives; items outside ``index`` are dropped."""
    rows, cols = [], []
    for u, h in enumerate(histories):
        for i in dict.fromkeys(h.positives(min_rating)):
            j = index.get(i)
            if j is not None:
                rows.append(u)
                cols.append(j)
    data = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(histories), len(index)), dtype=np.float32)
