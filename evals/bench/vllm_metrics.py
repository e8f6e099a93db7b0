"""The prompt cache of a vLLM server, read from its Prometheus ``/metrics``, for the benches.

vLLM counts the prompt tokens it was sent (``vllm:prompt_tokens_total``) and those its prefix
cache already held (``vllm:prefix_cache_hits_total`` of ``vllm:prefix_cache_queries_total``).
A bench reads them before and after its load; the difference is what its requests cost and
saved (other clients of the same server in that time count too). A server without these
metrics (not vLLM, or unreachable) gives None. With speculative decoding on, the same reading
holds the tokens proposed (``vllm:spec_decode_num_draft_tokens_total``) and those the model
accepted (``vllm:spec_decode_num_accepted_tokens_total``): :func:`speculation_delta`.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["read_cache_counters", "prompt_cache_delta", "speculation_delta"]

_NAMES = ("prompt_tokens_total", "prefix_cache_queries_total", "prefix_cache_hits_total")
#: Read when the server has them (speculative decoding on).
_SPEC_NAMES = ("spec_decode_num_draft_tokens_total", "spec_decode_num_accepted_tokens_total")
_LINE = re.compile(r"^vllm:(\w+)(?:\{[^}]*\})?\s+([0-9.eE+-]+)$")


def read_cache_counters(llm_base_url: str, timeout_s: float = 5.0) -> dict[str, float] | None:
    """The server's prompt and prefix-cache counters (summed over label sets), or None.

    Args:
        llm_base_url: the OpenAI base URL (``http://host:port/v1``); ``/metrics`` is at its root.
        timeout_s: how long to wait for the answer.
    """
    import httpx

    root = llm_base_url.rstrip("/").removesuffix("/v1")
    try:
        resp = httpx.get(f"{root}/metrics", timeout=timeout_s)
        resp.raise_for_status()
    except httpx.HTTPError:
        return None
    out: dict[str, float] = {}
    for line in resp.text.splitlines():
        m = _LINE.match(line.strip())
        if m and (m.group(1) in _NAMES or m.group(1) in _SPEC_NAMES):
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out if set(_NAMES) <= set(out) else None


def prompt_cache_delta(before: dict[str, float] | None, after: dict[str, float] | None) -> dict[str, Any] | None:
    """``{"prompt_tokens", "cached_prompt_tokens", "cached_share"}`` between two readings, or None."""
    if before is None or after is None:
        return None
    prompt = int(after["prompt_tokens_total"] - before["prompt_tokens_total"])
    queries = after["prefix_cache_queries_total"] - before["prefix_cache_queries_total"]
    hits = int(after["prefix_cache_hits_total"] - before["prefix_cache_hits_total"])
    return {
        "prompt_tokens": prompt,
        "cached_prompt_tokens": hits,
        "cached_share": round(hits / queries, 3) if queries > 0 else None,
    }


def speculation_delta(before: dict[str, float] | None, after: dict[str, float] | None) -> dict[str, Any] | None:
    """``{"draft_tokens", "accepted_tokens", "acceptance"}`` between two readings, or None (no
    reading, or a server without speculative decoding)."""
    names = ("spec_decode_num_draft_tokens_total", "spec_decode_num_accepted_tokens_total")
    if before is None or after is None or not all(n in before and n in after for n in names):
        return None
    draft = int(after[names[0]] - before[names[0]])
    accepted = int(after[names[1]] - before[names[1]])
    return {
        "draft_tokens": draft,
        "accepted_tokens": accepted,
        "acceptance": round(accepted / draft, 3) if draft else None,
    }
