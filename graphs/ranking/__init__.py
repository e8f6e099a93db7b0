"""Ranking: the signals, their registry, and the fusion (or learned ranking) of the pool.

* :mod:`~crsagent.graphs.ranking.signals` — the :class:`Signal` protocol, its context, the
  registry (:func:`register_signal`) and the :class:`SignalTable` of a turn's scores;
* :mod:`~crsagent.graphs.ranking.builtin` — the built-in signals (``crew`` and ``content`` in
  their own modules);
* :mod:`~crsagent.graphs.ranking.collect` — the hard constraints and :func:`collect_signals`;
* :mod:`~crsagent.graphs.ranking.fusion` — :class:`FusionWeights`, :func:`fuse`,
  :func:`rank_candidates` and the re-mention candidates;
* :mod:`~crsagent.graphs.ranking.features` / :mod:`~crsagent.graphs.ranking.learned` — the
  learned ranker's feature rows and its ranking (:mod:`~crsagent.graphs.ranking.seqcache`:
  SASRec's per-model caches).

The names below are the public surface (``from crsagent.graphs.ranking import rank_candidates``).
"""

from crsagent.graphs.ranking.collect import QUERY_WORDS, allowed_ids, collect_signals, named_in, query_text
from crsagent.graphs.ranking.fusion import (
    DEFAULT_WEIGHTS,
    DOMAIN_WEIGHTS,
    OFFICE_WEIGHTS,
    POOL,
    SIGNALS,
    FusionWeights,
    catalogue_ranking,
    domain_weights,
    fuse,
    learned_ranker,
    rank_candidates,
    remention_candidates,
    signal_weights,
    skipped_signals,
)
from crsagent.graphs.ranking.signals import (
    Signal,
    SignalContext,
    SignalTable,
    get_signal,
    register_signal,
    registered_signals,
    unregister_signal,
)

__all__ = [
    "SIGNALS",
    "POOL",
    "QUERY_WORDS",
    "FusionWeights",
    "DEFAULT_WEIGHTS",
    "OFFICE_WEIGHTS",
    "DOMAIN_WEIGHTS",
    "domain_weights",
    "Signal",
    "SignalContext",
    "SignalTable",
    "register_signal",
    "unregister_signal",
    "registered_signals",
    "get_signal",
    "query_text",
    "named_in",
    "allowed_ids",
    "collect_signals",
    "fuse",
    "signal_weights",
    "rank_candidates",
    "remention_candidates",
    "catalogue_ranking",
    "learned_ranker",
    "skipped_signals",
]
