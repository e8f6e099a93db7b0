"""Check a running LLM server through the seam, and measure its throughput.

:func:`probe_server` asks for a JSON-schema structured answer and a forced named tool call
(both validated with pydantic, as the agent does), then measures generation speed for one
stream and for several concurrent streams. ``crsagent llm check`` prints the result.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from crsagent.agent.errors import LLMError
from crsagent.agent.llm.calls import ainvoke_chat
from crsagent.agent.llm.client import make_chat_model
from crsagent.agent.llm.structured import invoke_structured
from crsagent.agent.llm.usage import UsageMeter
from crsagent.agent.settings import Settings

__all__ = ["MovieNeeds", "SearchCatalog", "probe_server"]


class MovieNeeds(BaseModel):
    """What the user wants from a movie recommendation."""

    genres: list[str] = Field(default_factory=list, max_length=5, description="wanted genres")
    liked_titles: list[str] = Field(default_factory=list, max_length=5, description="movies the user liked")
    year_min: int | None = Field(default=None, ge=1900, le=2030)
    dialogue_act: Literal["recommend", "ask", "chitchat"] = Field(description="what the message asks for")


class SearchCatalog(BaseModel):
    """Search the movie catalogue by a short text query."""

    query: str = Field(min_length=1, max_length=80)
    k: int = Field(default=10, ge=1, le=50)


_MESSAGES = [
    SystemMessage("You extract what a user wants from a movie recommender."),
    HumanMessage("I loved Alien and The Thing. Something scary and sci-fi, from after 1990 please."),
]


async def _throughput(settings: Settings, model: str, streams: int, max_tokens: int) -> dict[str, float]:
    chat = make_chat_model(settings, model=model, max_tokens=max_tokens, temperature=0.0)
    meter = UsageMeter()
    prompt = [HumanMessage("Write a short story about a robot who learns to paint.")]
    started = time.perf_counter()
    results = await asyncio.gather(
        *(ainvoke_chat(chat, prompt, usage=meter) for _ in range(streams)), return_exceptions=True
    )
    elapsed = time.perf_counter() - started
    failed = sum(isinstance(r, BaseException) for r in results)
    tokens = meter.completion_tokens
    return {"streams": streams, "completion_tokens": tokens, "seconds": round(elapsed, 2),
            "tokens_per_s": round(tokens / elapsed, 1) if elapsed else 0.0, "failed": failed}  # fmt: skip


def probe_server(
    settings: Settings,
    *,
    model: str | None = None,
    repeats: int = 3,
    streams: int = 8,
    max_tokens: int = 128,
) -> dict[str, Any]:
    """Validate structured output and a forced tool call; measure tokens/s.

    Args:
        settings: ``llm_base_url`` (and key, timeout) of the server.
        model: served model name; default asked from the server.
        repeats: how many times each structured request is made (latency median).
        streams: concurrent streams for the throughput measurement (0 skips it).
        max_tokens: completion tokens per throughput request.

    Returns:
        Plain data: per check, valid count, median latency and one example; throughput.
    """
    chat = make_chat_model(settings, model=model)
    name = str(getattr(chat, "model_name", model))
    report: dict[str, Any] = {"base_url": settings.llm_base_url, "model": name}
    for method, schema in (("json_schema", MovieNeeds), ("tool_call", SearchCatalog)):
        meter = UsageMeter()
        latencies, valid, example, errors = [], 0, None, []
        for _ in range(repeats):
            started = time.perf_counter()
            try:
                out = invoke_structured(chat, _MESSAGES, schema, method=method, usage=meter)  # type: ignore[arg-type]
                valid += 1
                example = out.model_dump()
            except LLMError as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
            latencies.append(time.perf_counter() - started)
        report[method] = {
            "valid": valid,
            "of": repeats,
            "median_s": round(statistics.median(latencies), 2),
            "repairs": meter.invalid_outputs,
            "example": example,
            "errors": errors,
            "usage": meter.as_dict(),
        }
    if streams:
        report["throughput_1"] = asyncio.run(_throughput(settings, name, 1, max_tokens))
        report[f"throughput_{streams}"] = asyncio.run(_throughput(settings, name, streams, max_tokens))
    return report
