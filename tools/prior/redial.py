"""Recommendation priors learned from the ``train`` half of the ReDial dev dialogues.

Two candidate ranking signals, both learned only from dialogues that
:func:`crsagent.tools.intent.split.dialogue_split` puts in ``train`` (the half the intent model
and the CF co-mention users already train on), so the held-out halves stay clean:

* ``prior`` — how often recommenders *suggest* an item: per item, the number of train-half
  dialogues in which the recommender (``respondentWorkerId``) mentions it for the first time.
  It is smoothed with the corpus-wide ReDial mention count (``movies_with_mentions.csv``,
  rescaled to the train half's suggestion total) and log-scaled.
* ``trans`` — context -> recommendation transitions: item-item counts "A was mentioned earlier
  in the dialogue (by either side) -> the recommender suggested B", each row normalised by how
  often A was followed by any suggestion. A candidate scores the sum over the context's items.
* ``comention`` — item-item co-mention: per pair of items, the number of dialogues that mention
  both (by either side), each row normalised like ``trans``; a candidate scores the sum over
  the context's items.
* ``remention`` — re-mentions: how often a recommender message that names a movie names again the
  item first mentioned ``r``-th most recently (``r = 0`` the latest), per ``r`` below
  :data:`REMENTION_DEPTH`. Recommenders often come back to the film the seeker just named or asked
  about; the replay protocol's ranking of the whole catalogue scores those re-mentions.

The counts are a build artifact (``tools/prior/stage.py``); only the corpus-mention smoothing
base is read at load time, from the data folder (replay points it at leak-free counts).

What counts as a suggestion matches the replay targets (``dev_turns.jsonl``'s ``rec``): an item
in a recommender message that the dialogue had not mentioned before.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crsagent.tools.intent.split import TRAIN, dialogue_split

__all__ = ["MENTION", "REMENTION_DEPTH", "RedialPrior", "learn_prior", "read_mentions", "load_prior", "rescaled_base"]

#: A movie mention in a ReDial message: ``@`` followed by the ReDial movie id.
MENTION = re.compile(r"@(\d+)")
#: How many of the most recently (first) mentioned items :meth:`RedialPrior.remention` scores.
REMENTION_DEPTH = 8


@dataclass
class RedialPrior:
    """Suggestion counts and context -> suggestion transitions (catalogue ids).

    Attributes:
        suggested: item -> number of dialogues in which a recommender suggested it.
        transitions: earlier item -> suggested item -> count.
        base: item -> smoothing mass (the corpus mention count rescaled), added to ``suggested``.
        dialogues: how many dialogues the counts come from.
        remention_rates: per recency rank ``r`` (0: the item first mentioned most recently), the
            share of recommender messages naming a movie that named that item again.
        comention: item -> item -> number of dialogues mentioning both (symmetric).

    Read-only once learned: :meth:`top_prior` caches the items' order.
    """

    suggested: dict[str, float] = field(default_factory=dict)
    transitions: dict[str, dict[str, float]] = field(default_factory=dict)
    base: dict[str, float] = field(default_factory=dict)
    dialogues: int = 0
    remention_rates: tuple[float, ...] = ()
    comention: dict[str, dict[str, float]] = field(default_factory=dict)
    _order: dict[float, list[tuple[str, float]]] = field(default_factory=dict, repr=False, compare=False)

    def prior(self, ids: Iterable[str], smoothing: float = 1.0) -> dict[str, float]:
        """``log1p(suggested + smoothing * base)`` of each id (0 for an unseen item).

        Args:
            ids: item ids to score.
            smoothing: weight of the corpus-mention base (0: train-half suggestions only).

        Returns:
            Item id -> score, for every id with a positive score.
        """
        out: dict[str, float] = {}
        for i in ids:
            v = self.suggested.get(i, 0.0) + smoothing * self.base.get(i, 0.0)
            if v > 0:
                out[i] = math.log1p(v)
        return out

    def transition(
        self, context: Iterable[str], ids: Iterable[str] | None = None, damping: float = 1.0
    ) -> dict[str, float]:
        """Summed transition shares from the context's items to each suggested item.

        Args:
            context: item ids mentioned so far.
            ids: restrict to these ids (None: every reachable item).
            damping: added to each row's total, so that a rarely seen context item counts less.

        Returns:
            Item id -> ``sum_a T[a][b] / (sum_b' T[a][b'] + damping)``, for reachable items.
        """
        return _row_shares(self.transitions, context, ids, damping)

    def comentions(
        self, context: Iterable[str], ids: Iterable[str] | None = None, damping: float = 1.0
    ) -> dict[str, float]:
        """Summed co-mention shares from the context's items (as :meth:`transition`, on ``comention``)."""
        return _row_shares(self.comention, context, ids, damping)

    def top_comentions(
        self, context: Iterable[str], k: int, candidate_ids: Sequence[str] | None = None, exclude: Collection[str] = ()
    ) -> dict[str, float]:
        """The ``k`` best candidates by :meth:`comentions` (the ranker's ``comention`` feature)."""
        scores = self.comentions(sorted(set(context)), candidate_ids)
        return _top({i: v for i, v in scores.items() if i not in exclude}, k)

    def to_dict(self) -> dict:
        """The learned counts as JSON-able data (the ``prior`` build artifact; ``base`` left out)."""
        return {
            "suggested": self.suggested,
            "transitions": self.transitions,
            "comention": self.comention,
            "dialogues": self.dialogues,
            "remention_rates": list(self.remention_rates),
        }

    @classmethod
    def from_dict(cls, data: Mapping, base: Mapping[str, float] | None = None) -> RedialPrior:
        """The prior from :meth:`to_dict` data, with a smoothing ``base`` (item -> mass)."""
        return cls(
            suggested=dict(data["suggested"]),
            transitions=dict(data["transitions"]),
            comention=dict(data.get("comention") or {}),
            base=dict(base or {}),
            dialogues=int(data["dialogues"]),
            # "echo_rates": the key of artifacts built before the rename
            remention_rates=tuple(data["remention_rates"] if "remention_rates" in data else data["echo_rates"]),
        )

    def remention(self, mentioned: Sequence[str]) -> dict[str, float]:
        """Re-mention scores of the items mentioned so far (the ranking's ``remention`` signal).

        Args:
            mentioned: item ids in the order they were first mentioned (oldest first).

        Returns:
            Item id -> its recency rank's rate divided by the highest rate (0-1], for the
            :data:`REMENTION_DEPTH` most recent items; empty without learned rates.
        """
        top = max(self.remention_rates, default=0.0)
        if top <= 0:
            return {}
        recent = list(dict.fromkeys(reversed(list(mentioned))))[: len(self.remention_rates)]
        return {i: self.remention_rates[r] / top for r, i in enumerate(recent) if self.remention_rates[r] > 0}

    def top_prior(
        self, k: int, candidate_ids: Sequence[str] | None = None, exclude: Collection[str] = (), smoothing: float = 1.0
    ) -> dict[str, float]:
        """The ``k`` best candidates by :meth:`prior` (the ranking's ``prior`` signal).

        Args:
            k: how many items.
            candidate_ids: the allowed items (None: every item with a prior).
            exclude: items never to return.
            smoothing: see :meth:`prior`.

        Returns:
            Item id -> score, best first (ties by id).
        """
        order = self._order.get(smoothing)
        if order is None:  # every item with a prior, best first (ties by id), computed once
            scores = self.prior(set(self.suggested) | set(self.base), smoothing)
            order = sorted(scores.items(), key=lambda t: (-t[1], t[0]))
            self._order[smoothing] = order
        allowed = None if candidate_ids is None else set(candidate_ids)
        out: dict[str, float] = {}
        for i, v in order:
            if len(out) >= k:
                break
            if (allowed is None or i in allowed) and i not in exclude:
                out[i] = v
        return out

    def top_transitions(
        self,
        context: Iterable[str],
        k: int,
        candidate_ids: Sequence[str] | None = None,
        exclude: Collection[str] = (),
        damping: float = 1.0,
    ) -> dict[str, float]:
        """The ``k`` best candidates by :meth:`transition` from the context (the ``trans`` signal).

        Args:
            context: item ids mentioned so far (order does not matter).
            k: how many items.
            candidate_ids: the allowed items (None: every reachable item).
            exclude: items never to return.
            damping: see :meth:`transition`.

        Returns:
            Item id -> score, best first (ties by id).
        """
        scores = self.transition(sorted(set(context)), candidate_ids, damping)
        return _top({i: v for i, v in scores.items() if i not in exclude}, k)


def _row_shares(
    rows: Mapping[str, Mapping[str, float]], context: Iterable[str], ids: Iterable[str] | None, damping: float
) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for a in dict.fromkeys(context):
        row = rows.get(a)
        if not row:
            continue
        total = sum(row.values()) + damping
        for b, c in row.items():
            out[b] += c / total
    if ids is not None and out:
        allowed = set(ids)
        return {b: v for b, v in out.items() if b in allowed}
    return dict(out)


def _top(scores: Mapping[str, float], k: int) -> dict[str, float]:
    return dict(sorted(scores.items(), key=lambda t: (-t[1], t[0]))[: max(k, 0)])


def learn_prior(
    dialogues: Iterable[Mapping],
    id_map: Mapping[str, str],
    *,
    split: str = TRAIN,
    mentions: Mapping[str, float] | None = None,
    keep: Callable[[str], bool] | None = None,
) -> RedialPrior:
    """Count suggestions, transitions and co-mentions in the dialogues of one split.

    Args:
        dialogues: raw ReDial dialogues (``dev_dialogues.jsonl`` rows).
        id_map: ReDial movie id -> catalogue id (unmapped movies are skipped).
        split: ``train`` (default), ``heldout`` or ``all``.
        mentions: ReDial movie id -> corpus-wide mention count, the smoothing base (optional).
        keep: a further filter on the conversation id (the ranker's out-of-fold priors).

    Returns:
        The learned prior.
    """
    suggested: Counter[str] = Counter()
    trans: dict[str, Counter[str]] = defaultdict(Counter)
    comention: dict[str, Counter[str]] = defaultdict(Counter)
    hits, seen_at = [0] * REMENTION_DEPTH, [0] * REMENTION_DEPTH
    n = 0
    for d in dialogues:
        cid = str(d.get("conversationId"))
        if split != "all" and dialogue_split(cid) != split:
            continue
        if keep is not None and not keep(cid):
            continue
        n += 1
        recommender = d.get("respondentWorkerId")
        seen: list[str] = []
        done: set[str] = set()
        for msg in d.get("messages") or []:
            rids = MENTION.findall(str(msg.get("text", "")))
            named = {id_map[r] for r in rids if r in id_map}
            if named and msg.get("senderWorkerId") == recommender:
                for r, earlier in enumerate(reversed(seen[-REMENTION_DEPTH:])):
                    seen_at[r] += 1
                    hits[r] += earlier in named
            for rid in rids:
                item = id_map.get(rid)
                if item is None or item in done:
                    continue
                if msg.get("senderWorkerId") == recommender:
                    suggested[item] += 1
                    for a in seen:
                        trans[a][item] += 1
                seen.append(item)
                done.add(item)
        for x in seen:
            for y in seen:
                if x != y:
                    comention[x][y] += 1
    return RedialPrior(
        suggested={i: float(c) for i, c in suggested.items()},
        transitions={a: {b: float(c) for b, c in row.items()} for a, row in trans.items()},
        comention={a: {b: float(c) for b, c in row.items()} for a, row in comention.items()},
        base=rescaled_base(mentions, id_map, sum(suggested.values())) if mentions else {},
        dialogues=n,
        remention_rates=_non_increasing([h / s if s else 0.0 for h, s in zip(hits, seen_at, strict=True)]),
    )


def rescaled_base(mentions: Mapping[str, float], id_map: Mapping[str, str], total: float) -> dict[str, float]:
    """Corpus mention counts per catalogue item, rescaled to sum to ``total`` (the suggestions)."""
    by_item: dict[str, float] = {}
    for rid, c in mentions.items():
        item = id_map.get(str(rid))
        if item is not None:
            by_item[item] = by_item.get(item, 0.0) + float(c)
    whole = sum(by_item.values())
    if whole <= 0:
        return {}
    scale = total / whole
    return {i: c * scale for i, c in by_item.items() if c > 0}


def _non_increasing(rates: Sequence[float]) -> tuple[float, ...]:
    """Running minimum: an older mention is never more likely to come back than a newer one
    (the deep ranks have few samples, and their noise would otherwise reorder them)."""
    out: list[float] = []
    for r in rates:
        out.append(min(r, out[-1]) if out else r)
    return tuple(out)


def read_mentions(path: Path) -> dict[str, float]:
    """``movies_with_mentions.csv``: ReDial movie id -> corpus-wide mention count."""
    out: dict[str, float] = {}
    with Path(path).open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                out[str(int(row["movieId"]))] = float(row["nbMentions"])
            except (KeyError, TypeError, ValueError):
                continue
    return out


def load_prior(
    data_dir: Path, id_map: Mapping[str, str], split: str = TRAIN, counts: Mapping | None = None
) -> RedialPrior:
    """The prior: built ``counts`` (:meth:`RedialPrior.to_dict`) or, without them, learned now
    from ``<data_dir>/redial`` (dialogues of ``split``); the smoothing base always comes from
    ``<data_dir>/redial/movies_with_mentions.csv`` (so replay can point it at leak-free counts)."""
    d = Path(data_dir) / "redial"
    mentions = read_mentions(d / "movies_with_mentions.csv") if (d / "movies_with_mentions.csv").exists() else None
    if counts is not None:
        total = sum(float(v) for v in counts["suggested"].values())
        return RedialPrior.from_dict(counts, rescaled_base(mentions, id_map, total) if mentions else None)
    from crsagent.tools.cf.data import redial_dialogues

    return learn_prior(redial_dialogues(Path(data_dir)), id_map, split=split, mentions=mentions)
