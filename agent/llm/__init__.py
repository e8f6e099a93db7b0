"""The LLM seam: one OpenAI-compatible client, model profiles, structured output, the guard,
and the vLLM server the CLI starts.

The light parts are re-exported here; the server parts live in :mod:`.server`, :mod:`.venv`
and :mod:`.weights` (they are only needed by ``crsagent llm ...`` and the end-to-end tests).
"""

from crsagent.agent.llm.calls import ainvoke_chat, as_llm_error, invoke_chat
from crsagent.agent.llm.client import discover_model, make_chat_model
from crsagent.agent.llm.profiles import DEFAULT_PROFILE, PROFILES, ModelProfile, profile_for
from crsagent.agent.llm.real_llm_switch import allow_real_llm, forbid_real_llm, real_llm_forbidden
from crsagent.agent.llm.structured import ainvoke_structured, invoke_structured, response_format_for
from crsagent.agent.llm.usage import UsageMeter

__all__ = [
    "make_chat_model",
    "discover_model",
    "invoke_chat",
    "ainvoke_chat",
    "as_llm_error",
    "invoke_structured",
    "ainvoke_structured",
    "response_format_for",
    "ModelProfile",
    "PROFILES",
    "DEFAULT_PROFILE",
    "profile_for",
    "UsageMeter",
    "forbid_real_llm",
    "allow_real_llm",
    "real_llm_forbidden",
]
