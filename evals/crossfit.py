"""Cross-fitted replay: every dev turn is ranked by a learned ranker that never trained on its dialogue.

The ``ranker`` build artifact holds two models (:mod:`crsagent.tools.ranker.stage`): one trained
on the tuning (``train``) half of the dev dialogues, one on the check (``heldout``) half.
:class:`CrossFitRunner` holds one agent per model (the same toolkit, only the ranker differs,
``Toolkit.with_handles``) and gives :func:`~crsagent.evals.replay.run_replay` the agent whose
model was trained on the *other* half of the turn's dialogue; it refuses a turn whose dialogue
the model trained on (:class:`~crsagent.agent.errors.LeakageError`). Each replay record names
the half its model trained on (``ranker``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from crsagent.agent.errors import ConfigError, CrsAgentError
from crsagent.tools.intent.split import HELDOUT, TRAIN, dialogue_split

__all__ = ["LeakageError", "CrossFitRunner", "make_crossfit_runner", "other_half"]


class LeakageError(CrsAgentError):
    """A turn would be scored by a model trained on its own dialogue."""


def other_half(dialog_id: str) -> str:
    """The half whose model scores a dialogue: the one it is not in."""
    return HELDOUT if dialogue_split(dialog_id) == TRAIN else TRAIN


class CrossFitRunner:
    """Routes each replayed turn to the agent whose ranker was trained on the other half.

    Args:
        runners: trained-on half -> the agent ranking with that half's model.
        rankers: trained-on half -> the model (its ``trained_on`` ids are checked per turn).
    """

    def __init__(self, runners: Mapping[str, Any], rankers: Mapping[str, Any]) -> None:
        if set(runners) != {TRAIN, HELDOUT} or set(rankers) != {TRAIN, HELDOUT}:
            raise ConfigError("cross-fitting needs a runner and a ranker for both halves")
        self.runners = dict(runners)
        self.rankers = dict(rankers)
        self.variant = getattr(self.runners[TRAIN], "variant", None)

    def for_turn(self, turn: Any) -> tuple[Any, str]:
        """(the agent for a turn, the half its ranker trained on).

        Raises:
            LeakageError: the chosen model trained on the turn's dialogue.
        """
        half = other_half(str(turn.dialog_id))
        if str(turn.dialog_id) in self.rankers[half].trained_on:
            raise LeakageError(f"the ranker trained on '{half}' saw dialogue {turn.dialog_id}")
        return self.runners[half], half

    def run_history(self, messages: Any, **kw: Any) -> Any:
        """Outside replay (no dialogue id): the serving agent (model trained on the tuning half)."""
        return self.runners[TRAIN].run_history(messages, **kw)

    async def arun_history(self, messages: Any, **kw: Any) -> Any:
        """Async :meth:`run_history`."""
        return await self.runners[TRAIN].arun_history(messages, **kw)

    def turn(self, *a: Any, **kw: Any) -> Any:
        """The serving agent's ``turn``."""
        return self.runners[TRAIN].turn(*a, **kw)

    async def aturn(self, *a: Any, **kw: Any) -> Any:
        """The serving agent's ``aturn``."""
        return await self.runners[TRAIN].aturn(*a, **kw)


def make_crossfit_runner(
    settings: Any, variant: str, signals: Mapping[str, bool] | None = None, llm: Any = None
) -> CrossFitRunner | None:
    """A :class:`CrossFitRunner` over the built ranker of the movies domain, or None when the
    build has no cross-fitted models (the caller then replays with the plain agent)."""
    from crsagent.graphs.ranking import DEFAULT_WEIGHTS
    from crsagent.graphs.runner import CRSAgent
    from crsagent.tools.artifacts import ArtifactStore
    from crsagent.tools.ranker.stage import load_ranker
    from crsagent.tools.toolkit import Toolkit

    store = ArtifactStore(settings.home, "movies")
    if not store.has("ranker"):
        return None
    rankers = {half: load_ranker(store, half) for half in (TRAIN, HELDOUT)}
    if any(r is None for r in rankers.values()):
        return None
    weights = dataclasses.replace(DEFAULT_WEIGHTS, learned=True)
    if signals:
        off: dict[str, Any] = {k: 0.0 for k, on in signals.items() if not on}
        weights = dataclasses.replace(weights, **off)
    tk = Toolkit.load(settings, "movies", eager=True)
    runners = {
        half: CRSAgent.create(
            settings,
            domain="movies",
            variant=variant,
            llm=llm,
            toolkit=tk.with_handles(ranker=rankers[half]),
            weights=weights,
        )
        for half in (TRAIN, HELDOUT)
    }
    return CrossFitRunner(runners, rankers)
