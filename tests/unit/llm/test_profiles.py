"""Model profiles are chosen by model name; small models get constrained decoding."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crsagent.agent.llm.profiles import DEFAULT_PROFILE, PROFILES, ModelProfile, profile_for


@pytest.mark.parametrize(
    ("name", "family", "native"),
    [
        ("smollm2-135m-instruct", "smollm2", False),
        ("HuggingFaceTB/SmolLM2-1.7B-Instruct", "smollm2", False),
        ("Qwen/Qwen2.5-7B-Instruct", "qwen", True),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama3", True),
        ("mistralai/Mistral-7B-Instruct-v0.3", "mistral", True),
        ("gpt-4o-mini", "openai", True),
        ("some/unknown-model", "default", False),
        (None, "default", False),
    ],
)
def test_profile_for_picks_the_family(name, family, native):
    prof = profile_for(name)
    assert prof.name == family
    assert prof.native_tool_calls is native


def test_small_model_profile_constrains_everything():
    prof = profile_for("smollm2-135m-instruct")
    assert prof.structured_method == "json_schema"
    assert prof.max_tokens <= 256 and prof.temperature == 0.0


def test_unknown_models_trust_nothing():
    assert DEFAULT_PROFILE.native_tool_calls is False
    assert DEFAULT_PROFILE.structured_method == "json_schema"


def test_first_matching_profile_wins_and_custom_lists_work():
    custom = (ModelProfile(name="mine", pattern=r"^acme-", native_tool_calls=True, max_tokens=64),)
    assert profile_for("acme-7b", custom).name == "mine"
    assert profile_for("smollm2", custom) is DEFAULT_PROFILE
    assert [p.name for p in PROFILES][:2] == ["smollm2-crs", "smollm2"]  # the tuned model's own profile first


def test_the_tuned_bundled_model_is_served_without_a_repetition_penalty():
    tuned, base = profile_for("smollm2-135m-crs"), profile_for("smollm2-135m-instruct")
    assert tuned.name == "smollm2-crs" and tuned.agent_extra_body == {}  # the agent loop: no penalty
    assert tuned.extra_body == base.extra_body and base.extra_body["repetition_penalty"] > 1.0  # structured output
    assert base.agent_extra_body is None
    for key in ("tool_call_parser", "chat_template", "compact_tools", "omit_agent_tools", "context_window"):
        assert getattr(tuned, key) == getattr(base, key)  # served and prompted alike


def test_profiles_are_validated_and_frozen():
    with pytest.raises(ValidationError):
        ModelProfile(name="x", pattern=".", max_tokens=0)
    with pytest.raises(ValidationError):
        ModelProfile(name="x", pattern=".", structured_method="free-text")
    with pytest.raises(ValidationError):
        profile_for("smollm2").max_tokens = 5
