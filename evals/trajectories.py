"""Training trajectories for the ``agent`` LLM: the teacher's turns as OpenAI chat messages.

Sources (all deterministic for a seed):

* ReDial: the dev turns of the **tuning half** (:func:`~crsagent.tools.intent.split.dialogue_split`
  ``== TRAIN``) for training; the check half (``HELDOUT``) only for the validation set of
  ``llm tune`` (``--split check``), never for training.
* the agenda simulator in both domains, on targets drawn with ``seed`` (movies) and ``seed + 1``
  (office): :data:`TRAJECTORY_SIM_SEED` for training, :data:`VALIDATION_SIM_SEED` for
  validation; ``eval agent`` draws its simulator targets with other seeds and leaves the
  training draw out.
* the curious agenda simulator (:class:`~crsagent.evals.simulators.curious.CuriousUser`: it asks
  about a recommended item, or thanks, before going on with its agenda) in both domains, for the
  question (``answer``), explanation (``explain``) and chit-chat turns the plain agenda users never
  make: :data:`QUESTION_SIM_SEED` for training, :data:`QUESTION_VALIDATION_SIM_SEED` for validation.

Each JSONL record holds ``messages``: exactly what the ``agent`` node sent on its last request
(system prompt, dialogue, the teacher's tool call with its arguments, the tool results as
ToolNode returned them), converted to OpenAI's format, followed by the teacher's final reply;
``tools``: the tool listing as bound (OpenAI function format); and ``belief``: the belief
state after the turn (what ``llm tune``'s validation runs the reply guard against). Turns the agent graph could
not carry with the teacher's answers (a fallback), or whose reply the guard cut short, are counted
and left out.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import convert_to_openai_messages

from crsagent.evals.datasets import ReplayTurn, context_to_messages
from crsagent.evals.teacher import Teacher, TeacherPlan
from crsagent.tools.intent.split import HELDOUT, TRAIN, dialogue_split

__all__ = [
    "TRAJECTORY_SIM_SEED",
    "VALIDATION_SIM_SEED",
    "QUESTION_SIM_SEED",
    "QUESTION_VALIDATION_SIM_SEED",
    "QUESTION_SIM_DIALOGUES",
    "SPLITS",
    "tuning_turns",
    "trajectory_record",
    "redial_trajectories",
    "simulator_trajectories",
    "write_jsonl",
    "count_records",
]

#: The base seed of the simulator dialogues the trajectories use (``eval agent`` avoids it).
TRAJECTORY_SIM_SEED = 1000
#: The base seed of the validation set's simulator dialogues (``llm tune`` validation).
VALIDATION_SIM_SEED = 3000
#: The base seed of the curious-user (question) dialogues for training (movies; office ``+ 1``).
QUESTION_SIM_SEED = 2000
#: The base seed of the curious-user dialogues of the validation set.
QUESTION_VALIDATION_SIM_SEED = 4000
#: Curious-user dialogues per domain by default.
QUESTION_SIM_DIALOGUES = 40
#: ``--split`` name -> the dialogue split it draws ReDial turns from.
SPLITS: dict[str, str] = {"tuning": TRAIN, "check": HELDOUT}
Progress = Callable[[str, int | None], Callable[[int], None]]


def _no_tick(n: int = 1) -> None:
    """A progress bar's advance that shows nothing."""


def _no_progress(desc: str, total: int | None) -> Callable[[int], None]:
    return _no_tick


def _unusable(result: Any) -> str:
    """Why a teacher turn cannot be a training record ('' when it can): a fallback, or a reply
    the guard cut short (the record would teach the uncut text)."""
    if result.fallback:
        return f"fallback:{result.fallback_reason}"
    if any("guard cut the reply" in n for n in result.notes):
        return "guard_cut"
    return ""


def _misread(user: Any, plan: TeacherPlan | None) -> str:
    """Why a curious user's question turn cannot be a record ('' when it can): the teacher's tool
    call is not about the item asked about (the policy resolved the reference to another item, as
    it does when the linker misses titles of the list it replays), or it made no such call."""
    asked = getattr(user, "last_asked", None)
    if asked is None or plan is None:
        return ""
    kind, item_id = asked
    want = ("explain", "explain_items") if kind == "why" else ("answer", "get_items")
    if plan.action != want[0]:
        return f"question_not_{want[0]}"
    if plan.call is None or plan.call[0] != want[1]:
        return "question_misresolved"
    ids = plan.call[1].get("ids") or plan.call[1].get("item_ids") or []
    return "" if item_id in ids else "question_misresolved"


def tuning_turns(
    turns: Sequence[ReplayTurn], limit: int | None = None, seed: int = 0, split: str = TRAIN
) -> list[ReplayTurn]:
    """The turns of one half (default the tuning half; a seeded sample of ``limit``, in file order)."""
    chosen = [t for t in turns if dialogue_split(t.dialog_id) == split]
    if limit is not None and limit < len(chosen):
        keep = sorted(random.Random(seed).sample(range(len(chosen)), limit))
        chosen = [chosen[i] for i in keep]
    return chosen


def trajectory_record(teacher: Teacher, plan: TeacherPlan, meta: dict[str, Any]) -> dict[str, Any]:
    """The record of the teacher's last turn: the agent node's last request plus the final reply."""
    request, answer = teacher.last_request, teacher.last_answer
    assert request is not None and answer is not None
    messages = convert_to_openai_messages(list(request.messages)) + [{"role": "assistant", "content": answer.text}]
    calls = [c for m in messages if m.get("role") == "assistant" for c in m.get("tool_calls") or []]
    human = bool(plan.human) and answer.text == plan.human
    belief = teacher.last_result.belief if teacher.last_result is not None else {}
    return {
        **meta,
        "action": plan.action,
        "tools_called": [c["function"]["name"] for c in calls],
        "human_reply": human,
        "belief": belief,
        "tools": list(request.tools),
        "messages": messages,
    }


def redial_trajectories(
    teacher: Teacher,
    turns: Sequence[ReplayTurn],
    progress: Progress | None = None,
    dropped: Counter[str] | None = None,
    split: str = TRAIN,
) -> Iterator[dict[str, Any]]:
    """Trajectories over ReDial turns of ``split`` (give it :func:`tuning_turns`' output).

    Raises:
        ValueError: a turn of the other half (training data never holds a check-half turn).
    """
    half = "tuning" if split == TRAIN else "check"
    advance = (progress or _no_progress)(f"trajectories (ReDial {half} half)", len(turns))
    for t in turns:
        if dialogue_split(t.dialog_id) != split:
            raise ValueError(f"dialogue {t.dialog_id} is not in the {half} half that these trajectories draw from")
        try:
            history = context_to_messages(t.context)
        except Exception:  # noqa: BLE001 - a turn with no seeker utterance is skipped and counted
            if dropped is not None:
                dropped["no_user_message"] += 1
            advance(1)
            continue
        plan, result = teacher.run(history, human=t.resp or None)
        advance(1)
        why = _unusable(result)
        if why:
            if dropped is not None:
                dropped[why] += 1
            continue
        yield trajectory_record(
            teacher,
            plan,
            {
                "id": f"redial:{t.dialog_id}:{t.turn_id}",
                "source": "redial",
                "domain": teacher.toolkit.domain,
                "split": split,
                "dialog_id": t.dialog_id,
                "turn_id": t.turn_id,
            },
        )


def simulator_trajectories(
    teacher: Teacher,
    items: Sequence[Any],
    n: int,
    seed: int,
    max_turns: int = 5,
    progress: Progress | None = None,
    dropped: Counter[str] | None = None,
    curious: bool = False,
) -> Iterator[dict[str, Any]]:
    """Trajectories of agenda-simulator dialogues on ``n`` targets drawn with ``seed``.

    ``curious``: the users are :class:`~crsagent.evals.simulators.curious.CuriousUser` (they ask
    about recommended items and make small talk); the records' ``source`` is ``curious``.
    """
    from crsagent.evals.simulators import select_targets
    from crsagent.evals.simulators.agenda import AgendaSimulator
    from crsagent.evals.simulators.curious import CuriousSimulator
    from crsagent.evals.simulators.runner import run_dialogue

    lookup = {it.item_id: it for it in items}.get
    domain = teacher.toolkit.domain
    sim = CuriousSimulator(lookup, domain=domain) if curious else AgendaSimulator(lookup)
    source = "curious" if curious else "agenda"
    targets = select_targets(items, n, seed=seed)
    advance = (progress or _no_progress)(f"trajectories ({source}, {domain})", len(targets))
    for i, target in enumerate(targets):
        out: list[dict[str, Any]] = []
        user = sim.new_user(target, seed=seed + i)

        def keep(
            thread_id: str,
            result: Any,
            i: int = i,
            target: Any = target,
            out: list[dict[str, Any]] = out,
            user: Any = user,
        ) -> None:
            why = _unusable(result) or _misread(user, teacher.plan)
            if why:
                if dropped is not None:
                    dropped[why] += 1
                return
            assert teacher.plan is not None
            out.append(
                trajectory_record(
                    teacher,
                    teacher.plan,
                    {
                        "id": f"{source}:{domain}:{seed}:{i}:{len(out)}",
                        "source": source,
                        "domain": domain,
                        "seed": seed + i,
                        "target": target.item_id,
                        "turn_id": len(out),
                    },
                )
            )

        teacher.on_turn = keep
        try:
            run_dialogue(
                teacher,
                user,
                max_turns=max_turns,
                thread_id=f"traj-{'curious-' if curious else ''}{domain}-{seed}-{i}",
            )
        finally:
            teacher.on_turn = None
        advance(1)
        yield from out


def count_records(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts per domain, per source, per action and per tool called."""
    return {
        "records": len(records),
        "per_domain": dict(Counter(r["domain"] for r in records)),
        "per_source": dict(Counter(r["source"] for r in records)),
        "per_action": dict(Counter(r["action"] for r in records)),
        "per_tool": dict(Counter(t for r in records for t in r["tools_called"])),
        "human_replies": sum(1 for r in records if r.get("human_reply")),
    }


def write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> None:
    """Write records as JSONL atomically (a temporary file renamed over ``path``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
