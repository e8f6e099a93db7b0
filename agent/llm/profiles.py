"""Model profiles: what a model family can be trusted with, and how to ask it.

A profile is chosen by a regular expression on the served model name. It records whether the
family's native (free) tool choice is reliable, how to get structured output from it, and
sampling defaults. Small models cannot be trusted to pick tools or write JSON on their own:
their profile asks for constrained decoding (a JSON-schema ``response_format``, which vLLM
enforces with guided decoding, or a tool call forced by name, whose arguments vLLM also
constrains to the tool's schema).

A profile also says how vLLM must serve the family (:func:`serve_flags`): which
``--tool-call-parser`` reads the family's tool-call format (``hermes`` for Qwen2.5/3, Hermes and
the bundled SmolLM2; ``llama3_json`` for Llama 3.1-3.3; ``mistral`` for Mistral) and which
``--chat-template`` (a file under ``prompts/templates/``) renders tools in that format, where
the model's own template does not.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crsagent.prompts.loader import template_path

__all__ = ["StructuredMethod", "ModelProfile", "PROFILES", "DEFAULT_PROFILE", "profile_for", "serve_flags"]

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
        tool_call_parser: the vLLM ``--tool-call-parser`` that reads this family's tool-call
            format (``tool_choice="auto"``); None serves the model without automatic tool
            choice (forced named tools and structured output still work).
        chat_template: a chat template under ``prompts/templates/`` that renders tools in the
            parser's format; None keeps the model's own template.
        compact_tools: the ``agent`` loop lists its tools compactly
            (:func:`~crsagent.graphs.dialogue.tool_schemas.compact_tool_schema`: names, types, the first
            sentence of each description), a fraction of the prompt tokens of full schemas.
        omit_agent_tools: built-in tools the ``agent`` loop does not offer this family
            (custom tools are always offered).
        agent_extra_body: the sampling fields of the ``agent`` loop's requests, in place of
            ``extra_body`` there (None: ``extra_body``).
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
    tool_call_parser: str | None = Field(default=None, min_length=1)
    chat_template: str | None = Field(default=None, min_length=1)
    compact_tools: bool = False
    omit_agent_tools: tuple[str, ...] = ()
    agent_extra_body: dict[str, Any] | None = None

    def matches(self, model_name: str) -> bool:
        """Whether this profile applies to ``model_name``."""
        return re.search(self.pattern, model_name, flags=re.IGNORECASE) is not None


_CAPABLE: dict[str, Any] = {"native_tool_calls": True, "max_tokens": 1024, "temperature": 0.2}

#: Known families, most specific first. The first match wins: Hermes fine-tunes of Llama or
#: Mistral (``Hermes-3-Llama-3.1-8B``, ``Hermes-2-Pro-Mistral-7B``) speak Hermes, so ``hermes``
#: comes before ``llama3`` and ``mistral``.
_SMOLLM2: dict[str, Any] = {
    "native_tool_calls": False,
    "structured_method": "json_schema",
    "temperature": 0.0,
    "context_window": 8192,
    "tool_call_parser": "hermes",
    "chat_template": "chatml_tools.jinja",  # its own template renders no tools
    # ~400 prompt tokens of tool listing instead of ~2,600: prefill on a CPU, tuning cost
    "compact_tools": True,
    "omit_agent_tools": ("search_products", "vector_search", "score_intents"),  # recommend fuses them
}

PROFILES: tuple[ModelProfile, ...] = (
    # The tuned bundled model (``crsagent llm tune``): in the agent loop it copies the tool-call
    # syntax and the titles from its prompt, which a repetition penalty forbids (with 1.2 it never
    # calls a tool); its other requests (structured output) keep the base model's penalty.
    ModelProfile(
        name="smollm2-crs",
        pattern=r"smollm2?-135m-crs",
        max_tokens=256,
        extra_body={"repetition_penalty": 1.2},
        agent_extra_body={},
        **_SMOLLM2,
    ),
    ModelProfile(
        name="smollm2",
        pattern=r"smollm",
        max_tokens=256,
        extra_body={"repetition_penalty": 1.2},  # the base model loops inside JSON strings without it
        **_SMOLLM2,
    ),
    ModelProfile(name="hermes", pattern=r"hermes", tool_call_parser="hermes", **_CAPABLE),
    ModelProfile(name="qwen", pattern=r"qwen(2\.5|3)", tool_call_parser="hermes", **_CAPABLE),
    ModelProfile(
        name="llama3",
        pattern=r"llama-?3\.[1-9]",
        tool_call_parser="llama3_json",
        chat_template="llama3_json_tools.jinja",  # the HF template raises on several calls per turn
        **_CAPABLE,
    ),
    ModelProfile(
        name="mistral",
        pattern=r"mistral|mixtral",
        tool_call_parser="mistral",
        chat_template="mistral_tools.jinja",  # the HF template rejects tool call ids that are not 9 characters
        **_CAPABLE,
    ),
    ModelProfile(name="openai", pattern=r"^(gpt-4|gpt-5|o[1-9])", **_CAPABLE),  # not served by vLLM
)

#: The profile of an unknown model: trust nothing, constrain everything, guess no tool format.
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


def serve_flags(
    profile: ModelProfile, *, tool_call_parser: str | None = None, chat_template: str | None = None
) -> list[str]:
    """The vLLM tool-calling flags for ``profile``; explicit arguments win over the profile.

    Args:
        profile: the served model's profile.
        tool_call_parser: a parser name that overrides the profile's; ``"none"`` turns
            automatic tool choice off.
        chat_template: a chat template file that overrides the profile's.

    Returns:
        ``["--enable-auto-tool-choice", "--tool-call-parser", P]`` when there is a parser, plus
        ``["--chat-template", PATH]`` when there is a template (a profile's template names a
        file under ``prompts/templates/``).

    Raises:
        ConfigError: the profile names a template that is not shipped.
    """
    parser = tool_call_parser or profile.tool_call_parser
    flags: list[str] = []
    if parser and parser.lower() != "none":
        flags += ["--enable-auto-tool-choice", "--tool-call-parser", parser]
    if chat_template:
        flags += ["--chat-template", str(chat_template)]
    elif profile.chat_template:
        flags += ["--chat-template", str(template_path(profile.chat_template))]
    return flags
