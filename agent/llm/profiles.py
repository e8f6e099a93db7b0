"""Model profiles: what a model family can be trusted with, and how to ask it.

A profile is chosen by a regular expression on the served model name. It records whether the
family's native (free) tool choice is reliable, how to get structured output from it, and
sampling defaults. Small models cannot be trusted to pick tools or write JSON on their own:
their profile asks for constrained decoding (a JSON-schema ``response_format``, which vLLM
enforces with guided decoding, or a tool call forced by name, whose arguments vLLM also
constrains to the tool's schema).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["StructuredMethod", "ModelProfile", "PROFILES", "DEFAULT_PROFILE", "profile_for"]

#: ``json_schema``: ``response_format={"type": "json_schema", ...}`` (guided decoding in vLLM).
#: ``tool_call``: one tool whose parameters are the schema, forced by name (``tool_choice``).
StructuredMethod = Literal["json_schema", "tool_call"]


class ModelProfile(BaseModel):
    """How to talk to one model family.

    Attributes:
        name: a short name for the family.
        pattern: regular expression matched (case-insensitive, ``re.search``) on the model name.
        native_tool_calls: True when the model may choose tools freely (``tool_choice="auto"``);
            False means: force a named tool or use structured output instead.
        structured_method: how to get output that follows a JSON schema.
        max_tokens: default completion budget per request.
        temperature: default sampling temperature.
        context_window: tokens the model accepts (prompt + completion), when known.
        extra_body: server-specific sampling fields sent with every request (vLLM reads
            ``repetition_penalty``; a 135M model loops inside JSON strings without it).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    pattern: str
    native_tool_calls: bool = False
    structured_method: StructuredMethod = "json_schema"
    max_tokens: int = Field(default=512, gt=0)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    context_window: int | None = Field(default=None, gt=0)
    extra_body: dict[str, Any] = Field(default_factory=dict)

    def matches(self, model_name: str) -> bool:
        """Whether this profile applies to ``model_name``."""
        return re.search(self.pattern, model_name, flags=re.IGNORECASE) is not None


#: Known families, most specific first. The first match wins.
PROFILES: tuple[ModelProfile, ...] = (
    ModelProfile(
        name="smollm2",
        pattern=r"smollm",
        native_tool_calls=False,
        structured_method="json_schema",
        max_tokens=256,
        temperature=0.0,
        context_window=8192,
        extra_body={"repetition_penalty": 1.2},
    ),
    ModelProfile(name="qwen", pattern=r"qwen(2\.5|3)", native_tool_calls=True, max_tokens=1024, temperature=0.2),
    ModelProfile(name="llama3", pattern=r"llama-?3\.[1-9]", native_tool_calls=True, max_tokens=1024, temperature=0.2),
    ModelProfile(name="mistral", pattern=r"mistral|mixtral", native_tool_calls=True, max_tokens=1024, temperature=0.2),
    ModelProfile(name="hermes", pattern=r"hermes", native_tool_calls=True, max_tokens=1024, temperature=0.2),
    ModelProfile(name="openai", pattern=r"^(gpt-4|gpt-5|o[1-9])", native_tool_calls=True, max_tokens=1024, temperature=0.2),
)

#: The profile of an unknown model: trust nothing, constrain everything.
DEFAULT_PROFILE = ModelProfile(name="default", pattern=r".*", native_tool_calls=False, max_tokens=512)


def profile_for(model_name: str | None, profiles: tuple[ModelProfile, ...] = PROFILES) -> ModelProfile:
    """The profile of ``model_name``: the first of ``profiles`` that matches, else the default.

    Args:
        model_name: the served model name (or a path); None gives the default profile.
        profiles: candidate profiles, most specific first.
    """
    if model_name:
        for profile in profiles:
            if profile.matches(model_name):
                return profile
    return DEFAULT_PROFILE
