"""The explainer: grounded REGEN narratives for recommended items, checked sentence by sentence.

It picks the strongest grounded reasons for an item: a liked item that is a CF neighbour
("because you liked X"), the attributes that match what the user asked for ("a 2014 horror
film directed by Jennifer Kent"), the conversation's latent intent, and the per-signal scores
of the ranking. Each sentence is built from :class:`~crsagent.tools.explain.schema.Fact`
objects taken from the item's record or the evidence, then checked with
:func:`~crsagent.tools.explain.verify.verify`'s checks; a sentence that fails is dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from crsagent.agent.domains import domain_spec
from crsagent.agent.errors import ToolInputError, UnknownItemError
from crsagent.tools.catalog.schema import Item
from crsagent.tools.explain import phrases
from crsagent.tools.explain.lexicon import canonical_genre
from crsagent.tools.explain.schema import NARRATIVE_KINDS, Evidence, Explanation, Fact, NarrativeKind
from crsagent.tools.explain.verify import check_text, ground_truth_of, verify_summary

__all__ = ["ItemSource", "NeighbourSource", "Explainer"]


class ItemSource(Protocol):
    """What the explainer needs from the product database."""

    def get_items(self, ids: list[str]) -> Any:
        """Items by id (a list of :class:`Item` or a mapping id -> Item)."""
        ...


class NeighbourSource(Protocol):
    """What the explainer needs from the CF model."""

    def neighbours(self, item_id: str, k: int) -> Sequence[Any]:
        """The ``k`` most similar items (ScoredItem-like objects or ``(id, score)`` pairs), best first."""
        ...


class Explainer:
    """Grounded explanations from the catalogue, an optional CF model and the evidence.

    Args:
        db: the product database (``get_items``).
        cf: the CF model (``neighbours``); without it, a liked item that shares the director
            or genres stands in for a CF neighbour.
        max_reasons: most reasons a purchase reason gives beside the item description.
        neighbour_k: how many CF neighbours of an item are searched for a liked item.
        cache_size: item records kept in memory (the catalogue is read-only while the
            explainer lives; 0 turns the cache off).
    """

    def __init__(
        self,
        db: ItemSource,
        cf: NeighbourSource | None = None,
        *,
        max_reasons: int = 2,
        neighbour_k: int = 100,
        cache_size: int = 50_000,
    ) -> None:
        self.db = db
        self.cf = cf
        self.max_reasons = max_reasons
        self.neighbour_k = neighbour_k
        self.cache_size = cache_size
        self._cache: dict[str, Item] = {}
        self._lock = threading.Lock()  # tools run in worker threads

    # -- public ------------------------------------------------------------------------
    def explain(
        self, item_id: str | None, evidence: Evidence | None = None, kind: NarrativeKind = "purchase_reason"
    ) -> Explanation:
        """One narrative.

        Args:
            item_id: the item to explain (ignored, may be None, for ``user_summary``).
            evidence: the user's evidence; None means nothing is known.
            kind: ``purchase_reason``, ``endorsement`` or ``user_summary``.

        Returns:
            An explanation whose every checkable fact is in the record (or the evidence).

        Raises:
            UnknownItemError: ``item_id`` is not in the catalogue.
            ToolInputError: unknown kind, or no item id for an item narrative.
        """
        evidence = evidence or Evidence()
        if kind == "user_summary":
            return self.summarize_user(evidence)
        if not item_id:
            raise ToolInputError(f"kind '{kind}' explains an item: give an item id")
        return self.explain_many([item_id], evidence, kind)[0]

    def explain_many(
        self, item_ids: Sequence[str], evidence: Evidence | None = None, kind: NarrativeKind = "purchase_reason"
    ) -> list[Explanation]:
        """Narratives for several items, in order (one database read for all).

        Raises:
            UnknownItemError: listing every id that is not in the catalogue.
            ToolInputError: unknown kind.
        """
        if kind not in NARRATIVE_KINDS:
            raise ToolInputError(f"unknown narrative kind '{kind}'; choose one of {list(NARRATIVE_KINDS)}")
        evidence = evidence or Evidence()
        if kind == "user_summary":
            return [self.summarize_user(evidence)]
        items = self._fetch(list(item_ids), strict=True)
        liked = self._fetch(evidence.liked_ids, strict=False) if kind == "purchase_reason" else {}
        out = []
        for iid in item_ids:
            item = items[iid]
            if kind == "endorsement":
                out.append(self._endorse(item))
            else:
                out.append(self._reason(item, evidence, [liked[i] for i in evidence.liked_ids if i in liked]))
        return out

    def summarize_user(self, evidence: Evidence) -> Explanation:
        """A REGEN user summary: the user's preferences as the evidence states them."""
        liked_map = self._fetch(evidence.liked_ids, strict=False)
        disliked_map = self._fetch(evidence.disliked_ids, strict=False)
        liked = [liked_map[i] for i in evidence.liked_ids if i in liked_map]
        disliked = [disliked_map[i] for i in evidence.disliked_ids if i in disliked_map]
        kept_text, kept_facts = [], []
        for text, facts, allowed in phrases.summary(evidence, liked, disliked):
            if not verify_summary(text, evidence, liked + disliked, allowed):
                kept_text.append(text)
                kept_facts.extend(facts)
        if not kept_text:
            kept_text = ["We do not know your preferences yet."]
        return Explanation(item_id=None, kind="user_summary", text=" ".join(kept_text), facts=kept_facts)

    # -- narratives --------------------------------------------------------------------
    def _reason(self, item: Item, ev: Evidence, liked: list[Item]) -> Explanation:
        signals = ev.signals.get(item.item_id, {})
        liked_genres = {canonical_genre(g) for i in liked for g in i.genres}
        desc, _strength = phrases.describe(item, ev, prefer=liked_genres)
        candidates: list[tuple[float, phrases.Sentence]] = []
        neighbour = self._liked_neighbour(item, liked)
        if neighbour is not None:
            candidates.append((3.0 + signals.get("cf", 0.0), neighbour))
        if ev.intent:
            candidates.append((1.0 + signals.get("intent", 0.0), phrases.intent(ev.intent)))
        if ev.soft_preferences and signals.get("vector", 0.0) > 0:
            candidates.append((1.0 + signals["vector"], phrases.soft_match(ev.soft_preferences[0])))
        rated = phrases.rating(item)
        if rated is not None and item.rating_count >= 10:
            candidates.append((0.5 + signals.get("popularity", 0.0), rated))
        candidates.sort(key=lambda c: -c[0])
        chosen = [c[1] for c in candidates[: self.max_reasons]]
        # A CF neighbour leads ("Because you liked X: viewers who enjoyed it also enjoyed Y."),
        # everything else follows the description that names the item.
        lead = [s for s in chosen if s is neighbour and s[1][0].source == "cf"]
        rest = [s for s in chosen if s not in lead]
        return self._checked(item, "purchase_reason", [*lead, desc, *rest])

    def _endorse(self, item: Item) -> Explanation:
        sentences: list[phrases.Sentence] = [phrases.describe(item)[0]]
        if domain_spec(item.domain).cast and item.cast:
            cast = item.cast[:3]
            sentences.append((f"It stars {phrases.join(cast)}.", [Fact(field="cast", value=c) for c in cast], []))
        for extra in (phrases.quote(item), phrases.rating(item)):
            if extra is not None:
                sentences.append(extra)
        return self._checked(item, "endorsement", sentences)

    def _checked(self, item: Item, kind: NarrativeKind, sentences: Iterable[phrases.Sentence]) -> Explanation:
        texts: list[str] = []
        facts: list[Fact] = []
        truth = ground_truth_of(item)
        for text, sfacts, allowed in sentences:
            if check_text(text, truth, [item.display_title, item.title, *allowed]):
                continue  # never state what the record does not support
            texts.append(text)
            facts.extend(sfacts)
        if not texts:
            texts = [item.display_title + "."]
        return Explanation(item_id=item.item_id, kind=kind, text=" ".join(texts), facts=facts)

    # -- evidence ----------------------------------------------------------------------
    def _liked_neighbour(self, item: Item, liked: list[Item]) -> phrases.Sentence | None:
        liked = [i for i in liked if i.item_id != item.item_id]
        if not liked:
            return None
        if self.cf is not None:
            by_id = {i.item_id: i for i in liked}
            try:
                neighbours = self.cf.neighbours(item.item_id, self.neighbour_k)
            except ToolInputError:  # the item has no CF vector (never rated)
                neighbours = []
            for n in neighbours:
                nid = getattr(n, "item_id", None) or n[0]
                if nid in by_id:
                    return phrases.neighbour_cf(item, by_id[nid])
        for other in liked:
            sentence = phrases.neighbour_content(item, other)
            if sentence is not None:
                return sentence
        return None

    def _fetch(self, ids: list[str], *, strict: bool) -> dict[str, Item]:
        ids = list(dict.fromkeys(i for i in ids if i))
        found = {i: self._cache[i] for i in ids if i in self._cache}
        todo = [i for i in ids if i not in found]
        if todo:
            try:
                fetched = self._as_map(self.db.get_items(todo))
            except UnknownItemError as exc:
                if strict:
                    raise
                known = [i for i in todo if i not in set(exc.ids)]
                fetched = self._as_map(self.db.get_items(known)) if known else {}
            found.update(fetched)
            self._remember(fetched)
        missing = [i for i in ids if i not in found]
        if missing and strict:
            raise UnknownItemError(missing)
        return found

    def _remember(self, items: dict[str, Item]) -> None:
        if self.cache_size <= 0:
            return
        with self._lock:
            for iid, item in items.items():
                if len(self._cache) >= self.cache_size:
                    self._cache.pop(next(iter(self._cache)))  # oldest first
                self._cache[iid] = item

    @staticmethod
    def _as_map(result: Any) -> dict[str, Item]:
        if isinstance(result, dict):
            return {k: v for k, v in result.items() if v is not None}
        return {i.item_id: i for i in result if i is not None}
