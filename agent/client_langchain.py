"""LangChain's ``ChatOpenAI`` for ``crsagent serve``, keeping the API's extension fields.

``ChatOpenAI`` drops what the OpenAI schema does not know, so an application that talks to
crsagent through LangChain would lose the recommended items. :class:`CRSChatOpenAI` puts them
into the message's ``response_metadata``::

    from crsagent.agent.client_langchain import CRSChatOpenAI, recommendations_of

    llm = CRSChatOpenAI(base_url="http://127.0.0.1:8000/v1", api_key="none", session_id="alice-1")
    msg = llm.invoke("I loved The Babadook, something after 2010?")
    msg.response_metadata["recommendations"]  # [{"item_id": ..., "title": ..., "score": ..., ...}]
    msg.response_metadata["crsagent"]         # {"variant": ..., "action": ..., "fallback": ...}

Streaming works the same way: the final chunk carries both fields, and so does the merged
message.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import Field

__all__ = ["CRSChatOpenAI", "recommendations_of", "EXTENSION_FIELDS"]

#: The extension fields of crsagent's chat completions that land in ``response_metadata``.
EXTENSION_FIELDS: tuple[str, ...] = ("recommendations", "crsagent")


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    dump = getattr(obj, "model_dump", None)
    return dump() if callable(dump) else {}


class CRSChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` that keeps crsagent's ``recommendations`` and ``crsagent`` fields.

    Attributes:
        session_id: when set, every request carries ``metadata.session_id``, so the server
            keeps the conversation (send only the new user message each turn); when None the
            requests are stateless (send the whole history).
    """

    model_name: str = Field(default="crsagent", alias="model")
    session_id: str | None = None

    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        if self.session_id is not None:
            payload["metadata"] = {**(payload.get("metadata") or {}), "session_id": self.session_id}
        return payload

    def _create_chat_result(self, response: Any, generation_info: dict | None = None) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        data = _as_dict(response)
        choices = data.get("choices") or []
        for gen, choice in zip(result.generations, choices):
            message = _as_dict(choice).get("message") or {}
            gen.message.response_metadata["recommendations"] = list(_as_dict(message).get("recommendations") or [])
            if data.get("crsagent") is not None:
                gen.message.response_metadata["crsagent"] = _as_dict(data["crsagent"])
        return result

    def _convert_chunk_to_generation_chunk(
        self, chunk: dict, default_chunk_class: type, base_generation_info: dict | None
    ) -> ChatGenerationChunk | None:
        gen = super()._convert_chunk_to_generation_chunk(chunk, default_chunk_class, base_generation_info)
        if gen is None:
            return None
        delta = ((chunk.get("choices") or [{}])[0] or {}).get("delta") or {}
        if delta.get("recommendations") is not None:
            gen.message.response_metadata["recommendations"] = list(delta["recommendations"])
        if chunk.get("crsagent") is not None:
            gen.message.response_metadata["crsagent"] = dict(chunk["crsagent"])
        return gen


def recommendations_of(message: BaseMessage) -> list[dict[str, Any]]:
    """The recommended items of a :class:`CRSChatOpenAI` answer (``[]`` when there are none)."""
    return list(message.response_metadata.get("recommendations") or [])
