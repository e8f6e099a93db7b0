"""Simulated users for conversational evaluation: a deterministic agenda-based user (and its curious
variant, which asks about the items it is shown), and an LLM-played user."""

from crsagent.evals.simulators.agenda import AgendaSimulator, AgendaUser
from crsagent.evals.simulators.base import Attribute, Target, UserReply, leaks_title
from crsagent.evals.simulators.curious import CuriousSimulator, CuriousUser
from crsagent.evals.simulators.llm import LLMSimulator, LLMUser
from crsagent.evals.simulators.runner import (
    SimulationResult,
    run_dialogue,
    run_simulation,
    select_targets,
    summarize_dialogues,
)

__all__ = [
    "AgendaSimulator",
    "AgendaUser",
    "Attribute",
    "CuriousSimulator",
    "CuriousUser",
    "LLMSimulator",
    "LLMUser",
    "SimulationResult",
    "Target",
    "UserReply",
    "leaks_title",
    "run_dialogue",
    "run_simulation",
    "select_targets",
    "summarize_dialogues",
]
