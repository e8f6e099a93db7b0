"""The collaboration variants (U-NEED, arXiv 2310.14626) as graph-builder options.

Each variant name (``VARIANTS`` in :mod:`crsagent.agent.turns`) maps to a
:class:`VariantSpec` that says which steps use the LLM:

============== ================= ============ ============ ====================
variant        understanding     ranking      tool step    reply
============== ================= ============ ============ ====================
agent          deterministic     via tool     LLM decides  LLM (guarded; else CRS)
crs-only       deterministic     CRS          no           template
llm-assists-crs deterministic+LLM CRS          no           template
crs-assists-llm deterministic     CRS          yes          LLM (from candidates)
full           deterministic+LLM CRS          yes          LLM (from candidates)
llm-only       deterministic     none         no           LLM (own knowledge)
============== ================= ============ ============ ====================

Deterministic understanding (entity linker + attribute lexicon) runs in every variant: it is
cheap and lets the grounding guard know what the user rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

from crsagent.agent.errors import ConfigError
from crsagent.agent.turns import VARIANTS

__all__ = ["VariantSpec", "VARIANT_SPECS", "get_variant"]


@dataclass(frozen=True)
class VariantSpec:
    """Which steps of a turn the LLM takes part in.

    Attributes:
        name: the variant name.
        llm_understanding: one LLM call with a JSON-schema response extracts needs.
        ranking: the deterministic recommend pipeline ranks the catalogue.
        llm_tools: the LLM may call the typed tools (ToolNode) before replying.
        llm_reply: the LLM writes the reply (else a template).
        candidates_in_prompt: the recommender's candidates and scores go into the reply prompt.
        agent_loop: the LLM decides the turn through tool calls (``agent`` -> tools ->
            ``agent`` ...); the deterministic policy is its fallback
            (:mod:`crsagent.graphs.nodes.agent`).
    """

    name: str
    llm_understanding: bool
    ranking: bool
    llm_tools: bool
    llm_reply: bool
    candidates_in_prompt: bool
    agent_loop: bool = False

    @property
    def uses_llm(self) -> bool:
        """Whether any step calls the LLM."""
        return self.llm_understanding or self.llm_tools or self.llm_reply or self.agent_loop


VARIANT_SPECS: dict[str, VariantSpec] = {
    "agent": VariantSpec("agent", False, False, False, False, False, agent_loop=True),
    "full": VariantSpec("full", True, True, True, True, True),
    "llm-only": VariantSpec("llm-only", False, False, False, True, False),
    "crs-only": VariantSpec("crs-only", False, True, False, False, False),
    "llm-assists-crs": VariantSpec("llm-assists-crs", True, True, False, False, False),
    "crs-assists-llm": VariantSpec("crs-assists-llm", False, True, True, True, True),
}
assert tuple(VARIANT_SPECS) == VARIANTS, "VARIANT_SPECS must follow agent.turns.VARIANTS"


def get_variant(name: str | VariantSpec) -> VariantSpec:
    """The spec of a variant name.

    Raises:
        ConfigError: unknown name.
    """
    if isinstance(name, VariantSpec):
        return name
    try:
        return VARIANT_SPECS[name]
    except KeyError:
        raise ConfigError(f"unknown variant '{name}'; choose one of {list(VARIANTS)}") from None
