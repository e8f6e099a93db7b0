"""The ranking tuners: evaluation tooling behind ``crsagent eval tune``.

* :mod:`~crsagent.evals.tuning.weights` — the fusion weights (``DEFAULT_WEIGHTS``), gridded on
  the ``tune`` half of the ReDial dev dialogues (``crsagent eval tune weights``);
* :mod:`~crsagent.evals.tuning.remention` — the re-mention weight (``crsagent eval tune remention``);
* :mod:`~crsagent.evals.tuning.ranker_data` — the learned ranker's feature rows of the dev turns
  (also read by the ``ranker`` build stage);
* :mod:`~crsagent.evals.tuning.ranker_ablation` — the learned ranker's feature-set ablations
  (``crsagent eval tune ablation``);
* :mod:`~crsagent.evals.tuning.office_weights` — the office fusion weights (``OFFICE_WEIGHTS``),
  gridded on the ``tuning`` half of the held-out office users (``crsagent eval tune office-weights``).

The agent (``crsagent.graphs``) never imports this package.
"""

__all__: list[str] = []
