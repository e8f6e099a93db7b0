"""The entity-linking protocol on ReDial dialogues.

In every seeker message (``senderWorkerId`` equals the dialogue's ``initiatorWorkerId``; in
ReDial the initiator is the seeker and the respondent the recommender), each ``@<ReDial id>``
is replaced by that movie's title without its year, lower-cased, the way people type it.
The linker must recover the items: a predicted item counts as correct when it is one of the
message's gold items (ReDial ids mapped to catalogue ids through the catalogue's source
links). Precision and recall are micro-averaged over all seeker messages, including those
without any movie (where every link is a false positive).

ReDial marks only the ``@`` mentions, so a correct link to a title the seeker typed in plain
text counts as wrong. The optional audit (:data:`AUDIT_FILE`, one JSON row per link made
outside the substituted titles: ``dialogue_id``, ``turn_id``, ``item_id``, ``surface``,
``correct``, ``why``; labelled by hand) gives ``audited_precision``, where such links labelled
correct count as right and unlabelled ones as wrong. See ``docs/linker.md``.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from crsagent.agent.errors import DataError

__all__ = [
    "LinkerCase",
    "LinkerReport",
    "load_cases",
    "load_audit",
    "evaluate",
    "run_linker_eval",
    "DIALOGUES_FILE",
    "AUDIT_FILE",
    "AuditKey",
]

DIALOGUES_FILE = Path("redial") / "dev_dialogues.jsonl"
AUDIT_FILE = Path("redial") / "linker_audit.jsonl"
AuditKey = tuple[str, int, str]  # (dialogue id, turn id, item id)
_MENTION_RE = re.compile(r"@(\d+)")
_YEAR_RE = re.compile(r"\s*\(\s*\d{4}\s*\)\s*$")


@dataclass(frozen=True)
class LinkerCase:
    """One seeker message with its gold items.

    Attributes:
        dialogue_id: ReDial conversation id.
        turn_id: the message's turn.
        text: the message with movies written as lower-case titles.
        gold: catalogue ids of the movies mentioned.
        unmapped: mentions whose ReDial id is not in the catalogue (counted as misses).
        spans: (start, end, item id) of each substituted title in ``text`` ("" when unmapped).
    """

    dialogue_id: str
    turn_id: int
    text: str
    gold: frozenset[str]
    unmapped: int = 0
    spans: tuple[tuple[int, int, str], ...] = ()


@dataclass
class LinkerReport:
    """Micro precision / recall of a linker over cases, with timing.

    ``precision`` is the protocol's strict figure: every linked item that is not one of the
    message's ``@`` mentions counts as wrong, including titles the seeker typed in plain text
    (ReDial marks only the ``@`` mentions, so a correct link to a typed title is counted as an
    error). ``title_precision`` judges only the links that overlap a substituted title (right
    item or not), and ``links_outside_titles`` counts the rest, right or wrong.
    ``audited_precision`` (None without an audit) also counts as right the links outside the
    titles that the audit labels correct; ``audited_links`` is how many of those links the
    audit labels at all.
    """

    messages: int
    gold_mentions: int
    predicted: int
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float
    title_precision: float
    links_outside_titles: int
    p50_ms: float
    p95_ms: float
    audited_precision: float | None = None
    audited_links: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return asdict(self)


def _title(name: str) -> str:
    """``"Why Him%3f (2016)"`` -> ``"why him?"`` (ReDial escapes some characters in names)."""
    return " ".join(_YEAR_RE.sub("", unquote(name)).split()).lower()


def load_cases(
    path: Path,
    redial_to_item: Mapping[str, str],
    limit: int | None = None,
    every: int = 1,
) -> list[LinkerCase]:
    """Seeker messages of ReDial dialogues, prepared for the protocol.

    Args:
        path: ``dev_dialogues.jsonl``.
        redial_to_item: ReDial id (string) -> catalogue item id.
        limit: keep at most this many dialogues.
        every: keep every n-th dialogue (a deterministic sample).

    Returns:
        One case per seeker message.

    Raises:
        DataError: the file is missing or a line is not a dialogue.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path)
    cases: list[LinkerCase] = []
    kept = 0
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if not line.strip() or n % every:
                continue
            if limit is not None and kept >= limit:
                break
            kept += 1
            try:
                d = json.loads(line)
                seeker = d["initiatorWorkerId"]
                names: dict[str, str] = d.get("movieMentions") or {}
                messages = d["messages"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(f"line {n + 1}: not a ReDial dialogue ({exc})", path) from None
            for m in messages:
                if m.get("senderWorkerId") != seeker:
                    continue
                text = m.get("text") or ""
                ids = _MENTION_RE.findall(text)
                gold = {redial_to_item[i] for i in ids if i in redial_to_item}
                unmapped = len({i for i in ids if i not in redial_to_item})

                out, spans, pos = [], [], 0
                for mt in _MENTION_RE.finditer(text):
                    out.append(text[pos : mt.start()])
                    name = names.get(mt.group(1))
                    title = _title(name) if name else mt.group(0)
                    start = sum(len(p) for p in out)
                    out.append(title)
                    spans.append((start, start + len(title), redial_to_item.get(mt.group(1), "")))
                    pos = mt.end()
                out.append(text[pos:])
                cases.append(
                    LinkerCase(
                        str(d.get("conversationId", n)),
                        int(m.get("turn_id", 0)),
                        "".join(out),
                        frozenset(gold),
                        unmapped,
                        tuple(spans),
                    )
                )
    return cases


def load_audit(path: Path) -> dict[AuditKey, bool]:
    """The hand labels of links outside the substituted titles; empty when there is no file.

    Args:
        path: the audit JSONL (:data:`AUDIT_FILE` under the data folder).

    Returns:
        (dialogue id, turn id, item id) -> whether the seeker really refers to that item.

    Raises:
        DataError: a line is not an audit row.
    """
    path = Path(path)
    if not path.is_file():
        return {}
    out: dict[AuditKey, bool] = {}
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                out[(str(row["dialogue_id"]), int(row["turn_id"]), str(row["item_id"]))] = bool(row["correct"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise DataError(f"line {n + 1}: not an audit row ({exc})", path) from None
    return out


def evaluate(
    link: Callable[[str], Iterable[Any]],
    cases: list[LinkerCase],
    titles: Mapping[str, str] | None = None,
    max_errors: int = 50,
    audit: Mapping[AuditKey, bool] | None = None,
) -> LinkerReport:
    """Run a linker over cases and score it.

    Args:
        link: ``text -> mentions`` (objects with ``item_id``), e.g. ``EntityLinker.link``.
        cases: from :func:`load_cases`.
        titles: item id -> title, to make the error samples readable.
        max_errors: how many wrong messages to keep in the report.
        audit: from :func:`load_audit`; None or empty leaves ``audited_precision`` None.

    Returns:
        The report.
    """
    tp = fp = fn = n_gold = n_pred = in_span = in_span_ok = outside = audited = audited_ok = 0
    times: list[float] = []
    errors: list[dict[str, Any]] = []
    titles = titles or {}
    for case in cases:
        t0 = time.perf_counter()
        mentions = list(link(case.text))
        times.append((time.perf_counter() - t0) * 1000.0)
        pred = {m.item_id for m in mentions}
        audited_right: set[str] = set()
        for m in mentions:
            start, end = getattr(m, "start", None), getattr(m, "end", None)
            if start is None or end is None:
                continue
            hits = [g for a, b, g in case.spans if a < end and start < b]
            if hits:
                in_span += 1
                in_span_ok += m.item_id in hits
            else:
                outside += 1
                label = (audit or {}).get((case.dialogue_id, case.turn_id, m.item_id))
                audited += label is not None
                if label:
                    audited_right.add(m.item_id)
        hit = pred & case.gold
        audited_ok += len(audited_right - case.gold)
        tp += len(hit)
        fp += len(pred - case.gold)
        fn += len(case.gold - pred) + case.unmapped
        n_gold += len(case.gold) + case.unmapped
        n_pred += len(pred)
        if (pred != case.gold or case.unmapped) and len(errors) < max_errors:
            errors.append(
                {
                    "text": case.text,
                    "missed": sorted(f"{i} {titles.get(i, '')}".strip() for i in case.gold - pred),
                    "wrong": sorted(
                        f"{m.item_id} {getattr(m, 'title', '')} <- {getattr(m, 'surface', '')!r}"
                        for m in mentions
                        if m.item_id not in case.gold
                    ),
                    "unmapped": case.unmapped,
                }
            )
    precision = tp / n_pred if n_pred else 1.0
    recall = tp / n_gold if n_gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    q = statistics.quantiles(times, n=20) if len(times) >= 2 else [times[0] if times else 0.0] * 19
    return LinkerReport(
        messages=len(cases),
        gold_mentions=n_gold,
        predicted=n_pred,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        precision=round(precision, 4),
        recall=round(recall, 4),
        f1=round(f1, 4),
        title_precision=round(in_span_ok / in_span, 4) if in_span else 1.0,
        links_outside_titles=outside,
        p50_ms=round(statistics.median(times), 4) if times else 0.0,
        p95_ms=round(q[18], 4),
        audited_precision=(round((tp + audited_ok) / n_pred, 4) if n_pred else 1.0) if audit else None,
        audited_links=audited,
        errors=errors,
    )


def run_linker_eval(settings: Any, limit: int | None = None, every: int = 1, max_errors: int = 50) -> LinkerReport:
    """The protocol on the movies catalogue of a data home.

    Args:
        settings: :class:`~crsagent.agent.settings.Settings` whose home holds a movies build.
        limit: at most this many dialogues.
        every: every n-th dialogue.
        max_errors: error samples to keep.

    Returns:
        The report, with the audited figures when the data folder holds :data:`AUDIT_FILE`.

    Raises:
        NotBuiltError: the movies catalogue is not built.
    """
    from crsagent.tools.catalog.db import ProductDB
    from crsagent.tools.linker.linker import EntityLinker

    with ProductDB.for_domain(settings, "movies") as db:
        items = db.all_items()
        linker = EntityLinker.from_items(items, db.aliases())
        redial = db.source_map("redial")
    cases = load_cases(Path(settings.data_dir) / DIALOGUES_FILE, redial, limit=limit, every=every)
    for c in cases[:20]:  # warm-up, so the timings measure steady state
        linker.link(c.text)
    audit = load_audit(Path(settings.data_dir) / AUDIT_FILE)
    titles = {i.item_id: i.display_title for i in items}
    return evaluate(linker.link, cases, titles, max_errors=max_errors, audit=audit)
