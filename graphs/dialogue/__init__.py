"""Dialogue logic of the CRS graph: what the nodes call, with no LangGraph wiring of its own.

* belief and understanding: :mod:`~crsagent.graphs.dialogue.belief`,
  :mod:`~crsagent.graphs.dialogue.cues`, :mod:`~crsagent.graphs.dialogue.readers`,
  :mod:`~crsagent.graphs.dialogue.moves`, :mod:`~crsagent.graphs.dialogue.understanding`,
  :mod:`~crsagent.graphs.dialogue.understanding_llm`;
* asking: :mod:`~crsagent.graphs.dialogue.elicitation`;
* replying: :mod:`~crsagent.graphs.dialogue.templates`,
  :mod:`~crsagent.graphs.dialogue.explaining`, :mod:`~crsagent.graphs.dialogue.prompting`,
  :mod:`~crsagent.graphs.dialogue.grounding` (the grounding guard of a finished reply),
  :mod:`~crsagent.graphs.dialogue.reply_gate` (the same guard while a reply streams);
* the LLM's side of the ``agent`` variant: :mod:`~crsagent.graphs.dialogue.agent_tools`,
  :mod:`~crsagent.graphs.dialogue.tool_schemas`, :mod:`~crsagent.graphs.dialogue.agent_reply`,
  :mod:`~crsagent.graphs.dialogue.llm_step`.

Import the modules themselves (``from crsagent.graphs.dialogue.belief import Belief``).
"""

__all__: list[str] = []
