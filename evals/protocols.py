"""Replay scoring protocols: plain, filtered (He et al.), dedup, and SR / RDL (Kostric & Balog).

For each replayed turn the agent ranks the catalogue (best first); each ground-truth title of
the turn is one *sample*. A sample is *mentioned* when its item was already mentioned earlier in
the conversation (an ``entity`` annotation of the context that maps to it, or its title verbatim
in the context). The protocols:

* **plain** (KBRD, BARCOR, UniCRS, iEvaLM): every sample; Recall@k = share of samples whose item
  is in the top k of the ranking.
* **filtered** (He et al. 2023, "LLMs as zero-shot CRS"): mentioned samples are dropped *and*
  mentioned items are taken out of the ranking before scoring.
* **dedup** (Kostric & Balog, SIGIR '26): mentioned samples are dropped; the ranking is scored
  as the agent gave it, so re-mentioned items it puts on top still take their slots.
* **SR** (success rate): the share of dialogues in which the top-1 prediction of some evaluated
  turn is an item the seeker liked or had seen (ReDial's questionnaire, :func:`load_seeker_rewards`).
* **RDL** (reward per dialogue length): per dialogue, the summed reward of the top-1 predictions
  (liked 1.0, seen 0.5, else 0) divided by the dialogue's length, the number of its recommender
  turns that were evaluated; averaged over dialogues.
* **dedup SR / RDL**: the same with each turn's top-1 taken from the ranking once the items
  mentioned earlier in the conversation are removed (the first not-yet-mentioned item).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from crsagent.agent.errors import DataError
from crsagent.evals.datasets import ReplayTurn, TitleResolver, iter_dialogues
from crsagent.evals.metrics import hit_at_rank, reward_per_dialogue_length, seeker_reward, success_rate

__all__ = [
    "recall_from_ranks",
    "score_turn",
    "top1_fields",
    "summarize",
    "dialogue_top1",
    "load_seeker_rewards",
]


def recall_from_ranks(ranks: Sequence[int | None], k: int) -> float:
    """Recall@k over samples, each with one relevant item: the share of ranks within ``k``.

    Per sample this is :func:`crsagent.evals.metrics.recall_at_k` with one relevant id;
    ranks are stored instead of rankings so partial results stay small.

    Args:
        ranks: 1-based rank of each sample's relevant item, ``None`` when not ranked.
        k: the cut-off.

    Returns:
        The mean hit rate, 0.0 for no samples.
    """
    if not ranks:
        return 0.0
    return sum(hit_at_rank(r, k) for r in ranks) / len(ranks)


def _rank(item_id: str | None, ranking: Sequence[str], k: int) -> int | None:
    if item_id is None:
        return None
    for i, iid in enumerate(ranking[:k]):
        if iid == item_id:
            return i + 1
    return None


def score_turn(
    turn: ReplayTurn, ranking: Sequence[str], resolver: TitleResolver, *, max_k: int = 50
) -> list[dict[str, Any]]:
    """Score one turn's ground-truth titles against a ranking of item ids (best first).

    Returns:
        One sample per ``rec`` title: ``title``, ``item_id`` (None when unmapped), ``rank``
        (1-based in the top ``max_k``, else None; the plain and dedup protocols use it),
        ``mentioned`` (already in the context; the filtered and dedup protocols drop it) and
        ``filtered_rank`` (rank once mentioned items leave the ranking; None for a mentioned
        sample).
    """
    mentioned = resolver.mentioned_ids(turn.context, turn.entity, candidates=turn.rec)
    filtered_ranking = [i for i in ranking if i not in mentioned]
    samples = []
    for title in turn.rec:
        iid = resolver.resolve(title)
        was_mentioned = (iid is not None and iid in mentioned) or any(title in c for c in turn.context)
        samples.append(
            {
                "title": title,
                "item_id": iid,
                "rank": _rank(iid, ranking, max_k),
                "mentioned": was_mentioned,
                "filtered_rank": None if was_mentioned else _rank(iid, filtered_ranking, max_k),
            }
        )
    return samples


def top1_fields(turn: ReplayTurn, ranking: Sequence[str], resolver: TitleResolver) -> dict[str, str | None]:
    """A turn's top-1 predictions for SR / RDL.

    Returns:
        ``top1`` (the ranking's first item) and ``dedup_top1`` (its first item not mentioned
        earlier in the conversation); None when there is no such item.
    """
    mentioned = resolver.mentioned_ids(turn.context, turn.entity, candidates=turn.rec)
    return {
        "top1": ranking[0] if ranking else None,
        "dedup_top1": next((i for i in ranking if i not in mentioned), None),
    }


def dialogue_top1(records: Iterable[Mapping[str, Any]], field: str = "top1") -> dict[str, list[str | None]]:
    """Dialogue id -> the ``field`` (``top1`` or ``dedup_top1``) of each of its records, in order."""
    out: dict[str, list[str | None]] = {}
    for r in records:
        out.setdefault(str(r["dialog_id"]), []).append(r.get(field))
    return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def summarize(
    records: Iterable[Mapping[str, Any]],
    ks: Sequence[int] = (1, 10, 50),
    *,
    include: Callable[[Mapping[str, Any]], bool] | None = None,
    rewards: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, Any]:
    """Aggregate per-turn records into the replay metrics.

    Args:
        records: per-turn records as written by :func:`crsagent.evals.replay.run_replay`.
        ks: the Recall cut-offs.
        include: keep only the turns this returns True for (for split reports).
        rewards: dialogue id -> item id -> seeker reward (:func:`load_seeker_rewards`); with it
            the summary adds ``sr``, ``rdl``, ``dedup_sr``, ``dedup_rdl`` and ``sr_dialogues``.

    Returns:
        ``recall@k`` and ``n`` over all samples; ``filtered_recall@k`` and ``filtered_n`` over
        samples not mentioned in the context, ranked without the mentioned items;
        ``dedup_recall@k`` and ``dedup_n`` over the same samples, ranked as given;
        ``mapped_recall@k`` over mappable samples; counts (``turns``, ``unmapped``, ``errors``,
        ``degraded``, ``fallbacks``: fallback reason -> turns) with LLM cost per turn; SR / RDL
        when ``rewards`` is given.
    """
    import statistics

    recs = [r for r in records if include is None or include(r)]
    samples = [s for r in recs for s in r.get("samples", [])]
    ranks = [s["rank"] for s in samples]
    franks = [s["filtered_rank"] for s in samples if not s["mentioned"]]
    dranks = [s["rank"] for s in samples if not s["mentioned"]]
    mapped = [s["rank"] for s in samples if s["item_id"] is not None]
    out: dict[str, Any] = {}
    for prefix, rs in (("", ranks), ("filtered_", franks), ("dedup_", dranks)):
        for k in ks:
            out[f"{prefix}recall@{k}"] = round(recall_from_ranks(rs, k), 4)
        out[f"{prefix}n"] = len(rs)
    if rewards is not None:
        for prefix, key in (("", "top1"), ("dedup_", "dedup_top1")):
            top1 = dialogue_top1(recs, key)
            out[f"{prefix}sr"] = _round(success_rate(top1, rewards))
            out[f"{prefix}rdl"] = _round(reward_per_dialogue_length(top1, rewards))
        out["sr_dialogues"] = sum(1 for d in dialogue_top1(recs) if d in rewards)
    for k in ks:
        out[f"mapped_recall@{k}"] = round(recall_from_ranks(mapped, k), 4)
    n_turns = len(recs)
    out["turns"] = n_turns
    out["unmapped"] = sum(1 for s in samples if s["item_id"] is None)
    out["errors"] = sum(1 for r in recs if r.get("error"))
    out["degraded"] = sum(1 for r in recs if r.get("degraded"))
    out["fallbacks"] = dict(Counter(r["fallback_reason"] for r in recs if r.get("fallback_reason")))
    secs = [float(r.get("seconds", 0.0)) for r in recs]
    out["turn_seconds_median"] = round(statistics.median(secs), 4) if secs else 0.0
    out["llm_calls_per_turn"] = round(sum(int(r.get("llm_calls", 0)) for r in recs) / n_turns, 3) if n_turns else 0.0
    toks = sum(int(r.get("total_tokens", 0)) for r in recs)
    out["tokens_per_turn"] = round(toks / n_turns, 1) if n_turns else 0.0
    return out


def load_seeker_rewards(path: Path | str, resolve: Callable[[str], str | None]) -> dict[str, dict[str, float]]:
    """The seeker's rewards per dialogue from a ReDial dialogues file (``dev_dialogues.jsonl``).

    The answers are the seeker's own form, ``initiatorQuestions``; a movie missing there takes
    the recommender's form about the seeker, ``respondentQuestions`` (as the CF pseudo-users
    do, :func:`crsagent.tools.cf.data.redial_liked`). Each answered movie of ``movieMentions``
    maps to a catalogue id through its name (``resolve``, the ground-truth titles' mapping) and
    gets :func:`~crsagent.evals.metrics.seeker_reward`; two movies on one item keep the larger.

    Args:
        path: the dialogues file (one JSON dialogue per line, with ``conversationId``).
        resolve: title (``"Title (Year)"``) -> catalogue id or None.

    Returns:
        Dialogue id -> item id -> reward; dialogues without any answer are left out (they
        cannot be scored).

    Raises:
        DataError: the file is missing or a line is not a dialogue.
    """
    out: dict[str, dict[str, float]] = {}
    for lineno, d in iter_dialogues(path):
        try:
            names = d.get("movieMentions") or {}
            answers: dict[str, Mapping[str, Any]] = {}
            for key in ("respondentQuestions", "initiatorQuestions"):  # the seeker's own answers win
                if isinstance(d.get(key), dict):
                    answers.update({str(m): a for m, a in d[key].items() if isinstance(a, dict)})
            dialog_id = str(d["conversationId"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise DataError(f"line {lineno} is not a ReDial dialogue: {exc}", path) from exc
        if not answers or not isinstance(names, dict):
            continue
        scores: dict[str, float] = {}
        for mid, a in answers.items():
            iid = resolve(" ".join(str(names[mid]).split())) if mid in names else None
            if iid is not None:
                scores[iid] = max(scores.get(iid, 0.0), seeker_reward(a))
        out[dialog_id] = scores
    return out
