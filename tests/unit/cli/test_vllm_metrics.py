"""Reading vLLM's prompt-cache counters from a Prometheus text page (a loopback stub server)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from crsagent.evals.bench.vllm_metrics import prompt_cache_delta, read_cache_counters, speculation_delta

PAGE = """# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
vllm:prompt_tokens_total{engine="0",model_name="m"} 1000.0
vllm:prefix_cache_queries_total{engine="0",model_name="m"} 1000.0
vllm:prefix_cache_hits_total{engine="0",model_name="m"} 600.0
vllm:generation_tokens_total{engine="0",model_name="m"} 50.0
vllm:spec_decode_num_draft_tokens_total{engine="0",model_name="m"} 400.0
vllm:spec_decode_num_accepted_tokens_total{engine="0",model_name="m"} 250.0
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="m",position="0"} 90.0
"""


@pytest.fixture()
def metrics_url() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            body = PAGE.encode() if self.path == "/metrics" else b""
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def test_counters_and_their_difference(metrics_url: str) -> None:
    now = read_cache_counters(metrics_url)
    assert now == {
        "prompt_tokens_total": 1000.0,
        "prefix_cache_queries_total": 1000.0,
        "prefix_cache_hits_total": 600.0,
        "spec_decode_num_draft_tokens_total": 400.0,
        "spec_decode_num_accepted_tokens_total": 250.0,
    }
    before = {"prompt_tokens_total": 200.0, "prefix_cache_queries_total": 200.0, "prefix_cache_hits_total": 100.0}
    assert prompt_cache_delta(before, now) == {"prompt_tokens": 800, "cached_prompt_tokens": 500, "cached_share": 0.625}


def test_a_server_without_metrics_gives_none() -> None:
    assert read_cache_counters("http://127.0.0.1:9/v1", timeout_s=1.0) is None
    assert prompt_cache_delta(None, {"prompt_tokens_total": 1.0}) is None


def test_speculation_is_counted_only_where_the_server_speculates(metrics_url: str) -> None:
    now = read_cache_counters(metrics_url)
    before = {
        "prompt_tokens_total": 0.0,
        "prefix_cache_queries_total": 0.0,
        "prefix_cache_hits_total": 0.0,
        "spec_decode_num_draft_tokens_total": 100.0,
        "spec_decode_num_accepted_tokens_total": 50.0,
    }
    assert speculation_delta(before, now) == {"draft_tokens": 300, "accepted_tokens": 200, "acceptance": 0.667}
    plain = {"prompt_tokens_total": 0.0, "prefix_cache_queries_total": 0.0, "prefix_cache_hits_total": 0.0}
    assert speculation_delta(plain, now) is None and speculation_delta(None, now) is None
