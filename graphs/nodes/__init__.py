"""The CRS graph's nodes: understand -> decide -> act -> (tool_agent <-> tools) -> respond -> remember.

Each node is built by a factory taking the variant's spec (``make_understand(spec)`` ...) and
is a function ``(state, runtime) -> partial update``; run-scoped handles come from
``runtime.context`` (:class:`~crsagent.graphs.context.CRSContext`).
"""

from crsagent.graphs.nodes.act import make_act
from crsagent.graphs.nodes.decide import make_decide, policy
from crsagent.graphs.nodes.remember import remember
from crsagent.graphs.nodes.respond import make_respond
from crsagent.graphs.nodes.tools import make_tool_agent, make_tools_node
from crsagent.graphs.nodes.understand import make_understand

__all__ = [
    "make_understand",
    "make_decide",
    "policy",
    "make_act",
    "make_tool_agent",
    "make_tools_node",
    "make_respond",
    "remember",
]
