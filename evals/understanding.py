"""Understanding evaluation: how well the belief state matches the ReDial annotations.

For each replayed turn the agent rebuilds its belief from the context; the belief is compared
with the turn's ``entity`` annotations (everything mentioned in the context):

* ``items``: items in the belief (with an opinion, or mentioned) vs. annotated titles
  (mapped to catalogue ids; unmappable titles leave the gold set and are counted);
* ``liked``: items the belief marks liked vs. annotated titles the seeker said they liked in
  ReDial's questionnaire (``initiatorQuestions``: ``liked == 1``);
* ``genres``: genres in the belief (liked or disliked) vs. annotated genre entities
  (``scary`` counts as ``horror``);
* ``people``: people in the belief vs. the remaining annotated entities (actors, directors).

Scores are micro-averaged precision, recall and F1 (true/false positives summed over turns).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crsagent.agent.errors import CrsAgentError, DataError
from crsagent.agent.turns import AgentRunner
from crsagent.evals.datasets import ReplayTurn, TitleResolver, context_to_messages, iter_dialogues, split_title_year
from crsagent.evals.resume import PartialResults

__all__ = [
    "FIELDS",
    "GENRE_ALIASES",
    "load_seeker_opinions",
    "belief_sets",
    "gold_sets",
    "prf",
    "UnderstandingResult",
    "run_understanding",
]

FIELDS: tuple[str, ...] = ("items", "liked", "genres", "people")
GENRE_ALIASES: dict[str, str] = {
    "scary": "horror",
    "science fiction": "sci-fi",
    "romantic": "romance",
    "animated": "animation",
}

Progress = Callable[[str, int | None], Callable[[int], None]]


def _no_tick(n: int = 1) -> None:
    """A progress bar's advance that shows nothing."""


def _no_progress(desc: str, total: int | None) -> Callable[[int], None]:
    return _no_tick


def load_seeker_opinions(data_dir: Path) -> dict[str, dict[str, int]]:
    """Seeker questionnaire answers per dialogue: ``dialog_id -> {"Title (Year)": liked}``.

    ``liked`` is 1 (liked), 0 (disliked) or 2 (did not say), from ``dev_dialogues.jsonl``.

    Raises:
        DataError: the file is missing or malformed.
    """
    path = Path(data_dir) / "redial" / "dev_dialogues.jsonl"
    out: dict[str, dict[str, int]] = {}
    for lineno, d in iter_dialogues(path):
        try:
            mentions = d.get("movieMentions") or {}
            answers = d.get("initiatorQuestions") or {}
            if not isinstance(answers, dict) or not isinstance(mentions, dict):
                continue
            out[str(d["conversationId"])] = {
                " ".join(str(mentions[mid]).split()): int(a.get("liked", 2))
                for mid, a in answers.items()
                if mid in mentions and isinstance(a, dict)
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"line {lineno}: {exc}", path) from exc
    return out


def _lower(xs: Iterable[Any]) -> set[str]:
    return {str(x).strip().lower() for x in xs if str(x).strip()}


def belief_sets(belief: Mapping[str, Any], ignore: Iterable[str] = ()) -> dict[str, set[str]]:
    """The belief's items, liked items, genres and people (caller view or raw belief form).

    Args:
        belief: ``TurnResult.belief`` (:func:`crsagent.graphs.dialogue.belief.belief_view`) or a raw belief.
        ignore: ids dropped from the *mentioned* items (the agent's own recommendations of the
            scored turn, which are not part of understanding the context).
    """
    drop = set(ignore)
    if "genres_liked" in belief or "liked" in belief:  # graphs.belief.belief_view
        liked = {d["item_id"] if isinstance(d, Mapping) else str(d) for d in belief.get("liked", [])}
        disliked = {d["item_id"] if isinstance(d, Mapping) else str(d) for d in belief.get("disliked", [])}
        items = liked | disliked | (set(belief.get("mentioned", [])) - drop)
        genres = _lower(list(belief.get("genres_liked", [])) + list(belief.get("genres_disliked", [])))
        people = _lower(list(belief.get("people_liked", [])) + list(belief.get("people_disliked", [])))
    else:  # graphs.belief.Belief
        opinions = belief.get("items") or {}
        liked = {i for i, o in opinions.items() if (o or {}).get("opinion") == "liked"}
        items = set(opinions) | (set(belief.get("mentioned") or []) - drop)
        genres = _lower(belief.get("genres") or {})
        people = _lower(belief.get("people") or {})
    return {"items": items, "liked": liked, "genres": genres, "people": people}


def gold_sets(
    turn: ReplayTurn, resolver: TitleResolver, genre_vocab: set[str], opinions: Mapping[str, int] | None = None
) -> tuple[dict[str, set[str]], int]:
    """The annotated items, liked items, genres and people of a turn, and how many titles were unmappable."""
    items: set[str] = set()
    liked: set[str] = set()
    genres: set[str] = set()
    people: set[str] = set()
    unmapped = 0
    names = resolver.redial_names
    for ent in turn.entity:
        low = ent.strip().lower()
        if ent in names or split_title_year(ent)[1] is not None:
            iid = resolver.resolve(ent)
            if iid is None:
                unmapped += 1
                continue
            items.add(iid)
            if opinions and opinions.get(" ".join(ent.split())) == 1:
                liked.add(iid)
        elif GENRE_ALIASES.get(low, low) in genre_vocab:
            genres.add(GENRE_ALIASES.get(low, low))
        else:
            people.add(low)
    return {"items": items, "liked": liked, "genres": genres, "people": people}, unmapped


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 from counts (0.0 where undefined)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def _summarize(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in FIELDS:
        tp = sum(r["counts"][f][0] for r in records)
        fp = sum(r["counts"][f][1] for r in records)
        fn = sum(r["counts"][f][2] for r in records)
        out[f] = {**prf(tp, fp, fn), "gold": tp + fn, "predicted": tp + fp}
    n = len(records)
    out["turns"] = n
    out["unmapped_titles"] = sum(r["unmapped"] for r in records)
    out["errors"] = sum(1 for r in records if r.get("error"))
    out["llm_calls_per_turn"] = round(sum(r["llm_calls"] for r in records) / n, 3) if n else 0.0
    return out


@dataclass
class UnderstandingResult:
    """Summary (per field P/R/F1) and per-turn records of an understanding run."""

    summary: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)


def run_understanding(
    runner: AgentRunner,
    turns: Sequence[ReplayTurn],
    resolver: TitleResolver,
    genre_vocab: Iterable[str],
    *,
    opinions: Mapping[str, Mapping[str, int]] | None = None,
    partial: PartialResults | None = None,
    progress: Progress | None = None,
    description: str = "understanding",
) -> UnderstandingResult:
    """Rebuild the belief for each turn's context and score it against the annotations.

    Args:
        runner: the agent (its ``run_history`` belief is scored).
        turns: the turns.
        resolver: title -> catalogue id.
        genre_vocab: the catalogue's genre names (lower case).
        opinions: seeker questionnaire answers (:func:`load_seeker_opinions`) for ``liked``.
        partial: opened partial results (resume).
        progress: ``progress(description, total) -> advance(n)``.
        description: the progress bar's label.
    """
    vocab = _lower(genre_vocab)
    done = partial.done if partial is not None else {}
    advance = (progress or _no_progress)(description, len(turns))
    records: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for turn in turns:
        if turn.key in done:
            records.append(done[turn.key])
            advance(1)
            continue
        gold, unmapped = gold_sets(turn, resolver, vocab, (opinions or {}).get(turn.dialog_id))
        error, llm_calls = None, 0
        try:
            result = runner.run_history(context_to_messages(turn.context), ranking_k=1)
            pred = belief_sets(result.belief, ignore=[r.item_id for r in result.recommendations])
            llm_calls = result.usage.llm_calls
        except CrsAgentError as exc:
            error, pred = f"{type(exc).__name__}: {exc}", {f: set() for f in FIELDS}
        counts = {f: [len(pred[f] & gold[f]), len(pred[f] - gold[f]), len(gold[f] - pred[f])] for f in FIELDS}
        rec = {
            "dialog_id": turn.dialog_id,
            "turn_id": turn.turn_id,
            "counts": counts,
            "unmapped": unmapped,
            "llm_calls": llm_calls,
            "error": error,
        }
        if partial is not None:
            partial.append(turn.key, rec)
        records.append(rec)
        advance(1)
    summary = _summarize(records)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return UnderstandingResult(summary=summary, records=records)
