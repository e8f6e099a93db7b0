"""crsagent: LLM-driven conversational recommendation on LangGraph.

The design folders install as sub-packages: ``crsagent.agent`` (runtime, LLM seam, CLI),
``crsagent.tools`` (typed recommender tools), ``crsagent.graphs`` (LangGraph builders),
``crsagent.prompts`` (templates), ``crsagent.evals`` (evaluation and benchmarks) and
``crsagent.tests``.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
