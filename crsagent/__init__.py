"""crsagent: LLM-driven conversational recommendation on LangGraph.

The design folders install as sub-packages: ``crsagent.agent`` (runtime, LLM seam, CLI),
``crsagent.tools`` (typed recommender tools), ``crsagent.graphs`` (LangGraph builders),
``crsagent.prompts`` (templates), ``crsagent.evals`` (evaluation and benchmarks) and
``crsagent.tests``.

``setup.py`` maps each ``crsagent.<folder>`` onto the top-level ``<folder>/``. Beside this file,
``crsagent/<folder>`` is a symbolic link to ``../<folder>``, so the package also exists as a plain
directory tree: type checkers, editors and a fresh clone without an install resolve
``crsagent.*`` imports with no import hook.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
