"""Security: API keys, request limits, rate limits, hostile strings, a read-only product database.

Most requests go over a real loopback socket to ``crsagent serve --fake-llm`` (``fake_api``,
API keys on). Hostile strings go in as user text and as tool arguments (called by a fake LLM
inside the graph, and directly); afterwards the catalogue file's bytes and row counts must be
exactly what they were.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from crsagent.agent.server import ServerConfig, auth, create_app
from crsagent.agent.testing import FunctionChatModel, tool_call_message
from crsagent.evals.bench.api import NoopRunner
from crsagent.graphs.runner import CRSAgent
from crsagent.tests.reliability.helpers import (
    API_KEYS,
    MAX_BODY_BYTES,
    MAX_MESSAGE_CHARS,
    OPENER,
    file_sha256,
)
from crsagent.tools.artifacts import ArtifactStore
from crsagent.tools.catalog.db import DB_FILE, ProductDB
from crsagent.tools.catalog.tables import items as items_table

HOSTILE = [
    "'; DROP TABLE items; --",
    "\"; DELETE FROM items WHERE '1'='1",
    "Robert'); DROP TABLE item_people;--",
    "%",
    "_",
    "%%__%%",
    "\\",
    "1 OR 1=1",
    "\u202eevil\u202c \u0000 NUL \u0000",
    "🎬 Amélie — ümlaut ß 東京物語",
    "<script>alert(1)</script>",
    "{{7*7}} ${7*7} $(rm -rf /)",
]
GOOD = {"Authorization": f"Bearer {API_KEYS[0]}"}


def chat_body(text: str, model: str = "crs-only", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


@pytest.fixture(scope="module")
def catalogue_file(movies_home):
    return ArtifactStore(movies_home.home, "movies").path("catalog") / DB_FILE


def table_counts(db) -> dict[str, int]:
    from crsagent.tools.catalog.tables import metadata

    with db.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in metadata.sorted_tables}


# -- API keys ---------------------------------------------------------------------------


def test_api_keys_are_compared_in_constant_time(monkeypatch):
    """Every configured key goes through ``hmac.compare_digest``, whether the key matches or not."""
    seen: list[tuple[bytes, bytes]] = []
    real = auth.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    keys = ("k-one", "k-two", "k-three")
    with TestClient(create_app(NoopRunner, ServerConfig(api_keys=keys))) as client:
        for given, status in (("k-three", 200), ("k-thre", 401), ("k-three-and-more", 401), ("K-ONE", 401)):
            seen.clear()
            r = client.get("/v1/models", headers={"Authorization": f"Bearer {given}"})
            assert r.status_code == status, given
            assert [b for _, b in seen] == [k.encode() for k in keys]  # no early exit, no plain ==
            assert all(a == given.encode() for a, _ in seen)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        f"Basic {API_KEYS[0]}",
        f"Bearer {API_KEYS[0][:-1]}",
        f"Bearer {API_KEYS[0]}x",
        f"Bearer {API_KEYS[0].upper()}",
        f"Bearer {API_KEYS[0]},{API_KEYS[1]}",
        "Bearer \u00e9\u0000",
        f"Token {API_KEYS[1]}",
    ],
)
def test_wrong_or_missing_keys_get_401_on_every_route(fake_api, header):
    headers = {} if header is None else {"Authorization": header}
    for method, path, body in (
        ("GET", "/v1/models", None),
        ("GET", "/v1/models/crsagent", None),
        ("POST", "/v1/chat/completions", chat_body("hi")),
    ):
        try:
            r = httpx.request(method, f"{fake_api.url}{path}", json=body, headers=headers, timeout=30)
        except (httpx.LocalProtocolError, UnicodeEncodeError):
            continue  # the client itself refuses to send the header: nothing reached the server
        assert r.status_code == 401, (header, path, r.text)
        assert r.json()["error"]["code"] == "invalid_api_key"
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_both_keys_work_and_health_needs_none(fake_api):
    for key in API_KEYS:
        r = httpx.post(
            f"{fake_api.url}/v1/chat/completions",
            json=chat_body(OPENER),
            headers={"Authorization": f"Bearer {key}"},
            timeout=120,
        )
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["recommendations"]
    assert httpx.get(f"{fake_api.url}/health", timeout=30).status_code == 200


# -- request limits -----------------------------------------------------------------------


def test_oversized_bodies_are_refused_over_a_real_socket(fake_api):
    big = "x" * (MAX_BODY_BYTES + 10)
    r = httpx.post(f"{fake_api.url}/v1/chat/completions", json=chat_body(big), headers=GOOD, timeout=60)
    assert r.status_code == 400 and r.json()["error"]["code"] == "request_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer, counted as it arrives
        yield b'{"model": "crs-only", "messages": [{"role": "user", "content": "'
        for _ in range(MAX_BODY_BYTES // 10_000 + 2):
            yield b"y" * 10_000
        yield b'"}]}'

    r = httpx.post(
        f"{fake_api.url}/v1/chat/completions",
        content=chunks(),
        headers={**GOOD, "Content-Type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "request_too_large"
    # a Content-Length that promises a huge body is refused before it is sent
    with socket.create_connection(("127.0.0.1", fake_api.port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: {GOOD['Authorization']}\r\nContent-Length: 9999999999\r\n\r\n".encode()
        )
        head = b""
        while b"request_too_large" not in head:  # the head and the body may come in separate packets
            part = sock.recv(4096)
            if not part:
                break
            head += part
    assert head.startswith(b"HTTP/1.1 400") and b"request_too_large" in head, head


def test_message_and_conversation_limits(fake_api):
    url = f"{fake_api.url}/v1/chat/completions"
    r = httpx.post(url, json=chat_body("a" * (MAX_MESSAGE_CHARS + 1)), headers=GOOD, timeout=60)
    assert r.status_code == 400 and r.json()["error"]["code"] == "content_too_long"
    many = {"model": "crs-only", "messages": [{"role": "user", "content": "hi"}] * 257}
    r = httpx.post(url, json=many, headers=GOOD, timeout=60)
    assert r.status_code == 400 and r.json()["error"]["code"] == "too_many_messages"
    assert httpx.post(url, json=chat_body(OPENER), headers=GOOD, timeout=120).status_code == 200


# -- rate limit ---------------------------------------------------------------------------


def test_per_key_rate_limit_answers_429_with_retry_after():
    """A key over its budget gets 429 ``rate_limit_exceeded`` with ``Retry-After``; other keys
    and ``/health`` are unaffected. (``ServerConfig.rate_limit_per_minute``; 0 turns it off.)"""
    config = ServerConfig(api_keys=("k-a", "k-b"), rate_limit_per_minute=5)
    with TestClient(create_app(NoopRunner, config)) as client:
        a, b = {"Authorization": "Bearer k-a"}, {"Authorization": "Bearer k-b"}
        codes = [client.post("/v1/chat/completions", json=chat_body("hi"), headers=a).status_code for _ in range(7)]
        assert codes == [200] * 5 + [429] * 2
        r = client.post("/v1/chat/completions", json=chat_body("hi"), headers=a)
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded"
        assert r.json()["error"]["type"] == "rate_limit_error"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert client.post("/v1/chat/completions", json=chat_body("hi"), headers=b).status_code == 200
        assert client.get("/health").status_code == 200
        assert client.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401


# -- hostile strings ------------------------------------------------------------------------


def test_hostile_user_text_changes_nothing(fake_api, catalogue_file, movies_toolkit):
    before, counts = file_sha256(catalogue_file), table_counts(movies_toolkit.db)
    for i, s in enumerate(HOSTILE):
        for model in ("crs-only", "crsagent"):
            r = httpx.post(
                f"{fake_api.url}/v1/chat/completions",
                json=chat_body(f"I loved {s} and Heat", model),
                headers={**GOOD, "X-Session-Id": f"hostile-{i}"},
                timeout=120,
            )
            assert r.status_code in (200, 400), (s, r.text)
            if r.status_code == 200:
                recs = r.json()["choices"][0]["message"]["recommendations"]
                assert all(movies_toolkit.has(x["item_id"]) for x in recs)
    assert file_sha256(catalogue_file) == before
    assert table_counts(movies_toolkit.db) == counts


def test_hostile_tool_arguments_are_literal_and_change_nothing(movies_toolkit, catalogue_file):
    tools = {t.name: t for t in movies_toolkit.tools()}
    before, counts = file_sha256(catalogue_file), table_counts(movies_toolkit.db)
    everything = movies_toolkit.db.count()
    for s in HOSTILE:
        for args in (
            {"filter": {"text_contains": s}, "limit": 50},
            {"filter": {"people": [s]}},
            {"filter": {"brand": s, "genres_any": [s]}},
            {"filter": {"exclude_ids": [s]}, "limit": 1},
        ):
            call = {"type": "tool_call", "id": "c1", "name": "search_products", "args": args}
            msg = tools["search_products"].invoke(call)
            assert msg.status != "error" or "Error" in msg.text or "invalid" in msg.text
            if msg.status != "error" and "text_contains" in args["filter"]:
                needle = s.lower()
                expected = sum(
                    needle in it.title.lower() or needle in it.plot.lower() for it in movies_toolkit.items().values()
                )
                assert msg.artifact.total == expected < everything  # % and _ are literal, not wildcards
        got = tools["get_items"].invoke({"type": "tool_call", "id": "c2", "name": "get_items", "args": {"ids": [s]}})
        assert got.status == "error" and "unknown item" in got.text
    assert file_sha256(catalogue_file) == before
    assert table_counts(movies_toolkit.db) == counts


def test_hostile_tool_calls_from_the_llm_inside_the_graph(movies_home, movies_toolkit, catalogue_file):
    """A fake LLM whose every tool call carries hostile arguments: the turn answers, the DB is untouched."""
    before, counts = file_sha256(catalogue_file), table_counts(movies_toolkit.db)

    def llm(request):
        if request.tools:
            name = request.forced_tool or "search_products"
            args = (
                {"query": HOSTILE[0], "k": 5}
                if name == "vector_search"
                else {"filter": {"text_contains": HOSTILE[0], "people": ["%"]}}
            )
            return tool_call_message(name, args)
        if request.json_schema is not None:
            return {"dialogue_act": "recommend", "liked_titles": [HOSTILE[0]], "preferences": HOSTILE[1]}
        return f"Sure. {HOSTILE[0]}"

    fake = FunctionChatModel(llm)
    agent = CRSAgent.create(
        movies_home,
        variant="full",
        llm=fake,
        toolkit=movies_toolkit,
        checkpointer=InMemorySaver(),
        store=InMemoryStore(),
    )
    for i, s in enumerate(HOSTILE[:4]):
        r = agent.turn(f"{s} I loved Heat", thread_id=f"hostile-graph-{i}", user_id=s[:20] or "u")
        assert r.reply.strip() and all(movies_toolkit.has(x.item_id) for x in r.recommendations)
        assert r.usage.tool_calls >= 1  # the hostile call did reach the tools
    assert file_sha256(catalogue_file) == before
    assert table_counts(movies_toolkit.db) == counts


# -- read-only product database -------------------------------------------------------------


def _query_only_off_then_delete(conn: Any) -> None:
    conn.execute(text("PRAGMA query_only = OFF"))  # the file itself is still opened read-only
    conn.execute(delete(items_table))


def _attach_a_file_and_write(conn: Any, where: Path) -> None:
    conn.execute(text(f"ATTACH DATABASE '{where}' AS evil"))
    conn.execute(text("CREATE TABLE evil.t AS SELECT * FROM items"))


def _query_only_off_attach_a_file_and_write(conn: Any, where: Path) -> None:
    conn.execute(text("PRAGMA query_only = OFF"))
    _attach_a_file_and_write(conn, where)


WRITES = {
    "delete": lambda conn, where: conn.execute(delete(items_table)),
    "update": lambda conn, where: conn.execute(update(items_table).values(title="pwned")),
    "insert": lambda conn, where: conn.execute(
        insert(items_table).values(
            item_id="tt0000000", domain="movies", title="x", title_lc="x", plot="", plot_lc="", record="{}"
        )
    ),
    "drop": lambda conn, where: conn.execute(text("DROP TABLE items")),
    "query_only_off": lambda conn, where: _query_only_off_then_delete(conn),
    "attach_file": _attach_a_file_and_write,
    "query_only_off_attach_file": _query_only_off_attach_a_file_and_write,
}


@pytest.mark.parametrize("write", list(WRITES.values()), ids=list(WRITES))
def test_the_product_database_connection_cannot_write(movies_home, catalogue_file, tmp_path, write):
    """Every write through the agent's catalogue connection fails and no file is written, even
    through raw SQL that first switches ``query_only`` off (defence in depth: the agent itself
    never sends SQL text)."""
    before = file_sha256(catalogue_file)
    db = ProductDB.for_domain(movies_home, "movies")  # a connection of its own: nothing leaks to other tests
    try:
        counts = table_counts(db)
        with pytest.raises(DBAPIError, match="(?i)read.?only|readonly|not authorized|prohibited|query_only"):
            with db.engine.begin() as conn:
                write(conn, tmp_path / "evil.sqlite")
        assert table_counts(db) == counts
    finally:
        db.close()
    assert file_sha256(catalogue_file) == before
    assert not (tmp_path / "evil.sqlite").exists() or (tmp_path / "evil.sqlite").stat().st_size == 0
