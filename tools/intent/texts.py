"""Training text for the intent model: ReDial dialogue turns and template preference text.

* :func:`redial_examples`: for each recommender message of a training-half ReDial dialogue
  that mentions a movie, the behaviour is the movies mentioned before it, the text is the
  conversation so far (movie mentions written as titles) and the target is the mentioned movie.
* :func:`template_text`: a synthetic statement of taste from items' attributes (movies:
  genres, decades, directors; office: brands and distinctive title words). The user simulator
  of the evaluation issue is meant to replace these templates later.
* :func:`user_examples`: several (behaviour prefix, template text, next item) examples per user.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crsagent.agent.domains import domain_spec
from crsagent.tools.catalog.schema import Item
from crsagent.tools.cf.data import UserHistory, redial_dialogues
from crsagent.tools.intent.split import dialogue_split

__all__ = [
    "Examples",
    "template_text",
    "wish_text",
    "user_examples",
    "redial_examples",
    "synthetic_examples",
    "TitleWords",
]

_MENTION = re.compile(r"@(\d+)")
_WORD = re.compile(r"[a-z][a-z\-]{2,}")
_STOP = set(
    "the and for with pack count inch inches black white blue red green size color colors set "
    "assorted new per box sheets sheet".split()
)


@dataclass
class Examples:
    """Parallel lists: behaviour (item ids, oldest first), text, target item id, origin."""

    behaviours: list[list[str]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)

    def add(self, behaviour: list[str], text: str, target: str, origin: str) -> None:
        """Append one example."""
        self.behaviours.append(behaviour)
        self.texts.append(text)
        self.targets.append(target)
        self.origins.append(origin)

    def extend(self, other: Examples) -> Examples:
        """Append all of ``other``; returns self."""
        for a, b, c, d in zip(other.behaviours, other.texts, other.targets, other.origins):
            self.add(a, b, c, d)
        return self

    def __len__(self) -> int:
        return len(self.targets)


class TitleWords:
    """Distinctive title words (tf-idf over the catalogue's titles), for office templates."""

    def __init__(self, items: Sequence[Item]) -> None:
        df: Counter[str] = Counter()
        for it in items:
            df.update(set(self.words(it.title)))
        self.idf = {w: math.log(len(items) / c) for w, c in df.items() if c >= 3}

    @staticmethod
    def words(text: str) -> list[str]:
        """Lower-case alphabetic words of a title, without stop words."""
        return [w for w in _WORD.findall(text.lower()) if w not in _STOP]

    def top(self, items: Sequence[Item], n: int = 2) -> list[str]:
        """The ``n`` words that best characterise ``items``' titles."""
        tf: Counter[str] = Counter()
        for it in items:
            tf.update(w for w in set(self.words(it.title)) if w in self.idf)
        return [w for w, _ in sorted(tf.items(), key=lambda x: (-x[1] * self.idf[x[0]], x[0]))[:n]]


def _movie_template(items: Sequence[Item], rng: np.random.Generator) -> str:
    genres = Counter(g for it in items for g in it.genres if g != "(no genres listed)")
    decades = Counter(it.year // 10 * 10 for it in items if it.year)
    directors = Counter(d for it in items for d in it.directors[:1])
    g = [x for x, _ in genres.most_common(3)] or ["good"]
    dec = decades.most_common(1)[0][0] if decades else None
    director = next((d for d, c in directors.most_common(1) if c >= 2), None)
    parts = [
        rng.choice(
            [
                f"I'm in the mood for {' or '.join(g[:2])} movies.",
                f"I really like {g[0]} films" + (f", and {g[1]} too." if len(g) > 1 else "."),
                f"Can you suggest a {g[0]} movie" + (f" with some {g[1]}?" if len(g) > 1 else "?"),
            ]
        )
    ]
    if dec and rng.random() < 0.6:
        parts.append(rng.choice([f"Something from the {dec}s would be great.", f"I enjoy movies from the {dec}s."]))
    if director and rng.random() < 0.5:
        parts.append(f"I liked the films of {director}.")
    if len(g) > 2 and rng.random() < 0.4:
        parts.append(f"A bit of {g[2]} is welcome.")
    return " ".join(parts)


def _office_template(items: Sequence[Item], words: TitleWords, rng: np.random.Generator) -> str:
    kw = words.top(items, 3) or ["office supplies"]
    brands = Counter(it.brand for it in items if it.brand)
    brand = next((b for b, c in brands.most_common(1)), None)
    parts = [
        rng.choice(
            [
                f"I need {' and '.join(kw[:2])} for my office.",
                f"Looking for {kw[0]} supplies" + (f", maybe {kw[1]}." if len(kw) > 1 else "."),
                f"Can you recommend some {kw[0]}?",
            ]
        )
    ]
    if brand and rng.random() < 0.6:
        parts.append(rng.choice([f"I usually buy {brand}.", f"I like the {brand} brand."]))
    return " ".join(parts)


def wish_text(target: Item, rng: np.random.Generator, domain: str, words: TitleWords | None = None) -> str:
    """A synthetic statement of what the user wants now, from the next item's attributes (never
    its title): what a seeker says in a dialogue before the recommendation."""
    if domain_spec(domain).product_words:
        kw = (words.top([target], 2) if words is not None else []) or ["office supplies"]
        return str(rng.choice([f"Right now I need {' and '.join(kw)}.", f"Today I'm looking for {kw[0]}."]))
    g = [x for x in target.genres if x != "(no genres listed)"][:2] or ["good"]
    text = str(rng.choice([
        f"Tonight I want a {' and '.join(g)} movie.",
        f"Now I'm looking for something {g[0]}" + (f" with {g[1]}." if len(g) > 1 else "."),
    ]))  # fmt: skip
    if target.year and rng.random() < 0.3:
        text += f" Ideally from the {target.year // 10 * 10}s."
    return text


def template_text(items: Sequence[Item], rng: np.random.Generator, domain: str, words: TitleWords | None = None) -> str:
    """A synthetic statement of taste over ``items`` (most recent last; the last 20 are used)."""
    recent = list(items)[-20:]
    if domain_spec(domain).product_words:
        return _office_template(recent, words or TitleWords(recent), rng)
    return _movie_template(recent, rng)


def user_examples(
    histories: Sequence[UserHistory],
    by_id: dict[str, Item],
    domain: str,
    per_user: int = 6,
    max_len: int = 50,
    seed: int = 0,
    words: TitleWords | None = None,
    wish_rate: float = 0.5,
) -> Examples:
    """Up to ``per_user`` (prefix, template text, next positive) examples per user.

    With probability ``wish_rate`` the text also says what the user wants now
    (:func:`wish_text` of the next item), as a seeker does before a recommendation; the rest
    describe the history only, as the offline evaluation's texts do.
    """
    rng = np.random.default_rng(seed)
    out = Examples()
    for h in histories:
        pos = [i for i in h.positives() if i in by_id]
        if len(pos) < 2:
            continue
        cuts = np.unique(np.linspace(1, len(pos) - 1, num=min(per_user, len(pos) - 1)).round().astype(int))
        for c in cuts:
            prefix = pos[max(0, c - max_len) : c]
            text = template_text([by_id[i] for i in prefix], rng, domain, words)
            if rng.random() < wish_rate:
                text = f"{text} {wish_text(by_id[pos[c]], rng, domain, words)}"
            out.add(prefix, text, pos[c], f"{h.source}-template")
    return out


def redial_examples(
    data_dir: Path, id_map: dict[str, str], known: set[str] | dict, split: str = "train", context: int = 6
) -> Examples:
    """Examples from the recommender turns of the ReDial dev dialogues of ``split``.

    Args:
        data_dir: the raw datasets folder.
        id_map: ReDial movie id -> catalogue id.
        known: catalogue ids (targets and behaviour items outside it are skipped).
        split: ``train`` (default), ``heldout`` or ``all``.
        context: how many previous messages make the text.
    """
    out = Examples()
    for d in redial_dialogues(data_dir):
        if split != "all" and dialogue_split(str(d.get("conversationId"))) != split:
            continue
        titles = {k: re.sub(r"\s+", " ", v).strip() for k, v in (d.get("movieMentions") or {}).items() if v}
        seeker = d.get("initiatorWorkerId")
        seen: list[str] = []
        history: list[str] = []
        for msg in d.get("messages", []):
            raw = msg.get("text", "")
            mentioned = [id_map[m] for m in _MENTION.findall(raw) if m in id_map and id_map[m] in known]
            text = _MENTION.sub(lambda m: titles.get(m.group(1), "a movie"), raw)  # noqa: B023 (runs now)
            if msg.get("senderWorkerId") != seeker and history:
                for target in dict.fromkeys(mentioned):
                    if target not in seen:
                        out.add(list(seen), " ".join(history[-context:]), target, "redial")
            history.append(text)
            seen.extend(i for i in mentioned if i not in seen)
    return out


def synthetic_examples(path: Path, known: set[str] | dict, max_len: int = 50) -> Examples:
    """Examples from simulated dialogues (``crsagent eval synthetic``): history, user text, target.

    Lines whose target is not in the catalogue, or that have no user text, are skipped.
    """
    out = Examples()
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            target, text = rec.get("target"), (rec.get("user_text") or "").strip()
            if target in known and text:
                history = [i for i in rec.get("history", []) if i in known][-max_len:]
                out.add(history, text, target, "synthetic-dialogue")
    return out
