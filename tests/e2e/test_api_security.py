"""Security of the API against a real ``crsagent serve --fake-llm`` process (issue 20).

The rate limit is keyed on the API key's identity, not on the ``Authorization`` header's
spelling; with keys configured, sessions and profiles belong to the key that made them; the
privacy routes read and delete them; CORS is off unless asked for. Everything goes over raw
HTTP (``httpx``) or the official ``openai`` client to a subprocess on loopback; the SQLite and
PostgreSQL files are read directly afterwards.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crsagent.agent.settings import Settings
from crsagent.tests.reliability.helpers import BABADOOK, OPENER
from crsagent.tests.reliability.procs import ApiProcess

RATE_KEY, ALPHA, BETA = "key-rate-5ad1e0", "key-alpha-0123456789", "key-beta-9876543210"
LIMIT = 40
ORIGIN = "https://app.example"


def start_api(home: Settings, folder: Path, checkpoint_url: str | None, extra: Sequence[str] = ()) -> ApiProcess:
    """``crsagent serve --fake-llm`` with three keys and a limit of ``LIMIT`` requests a minute."""
    args = ["--fake-llm", "--rate-limit", str(LIMIT), *extra]
    if checkpoint_url is not None:
        args += ["--checkpoint-url", checkpoint_url]
    return ApiProcess(
        Path(home.home),
        args,
        {"CRSAGENT_API_KEYS": f"{RATE_KEY},{ALPHA},{BETA}"},
        log=folder / "serve.log",
        sessions=folder / "sessions" if checkpoint_url is None else None,
    )


@pytest.fixture(scope="module")
def servers(
    movies_home: Settings, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], ApiProcess]]:
    """Starts (once) the server of a backend: ``sqlite``, ``postgres``, or ``cors`` (in-memory
    sessions, ``--cors-origin``)."""
    started: dict[str, ApiProcess] = {}
    with ExitStack() as stack:

        def get(backend: str) -> ApiProcess:
            if backend not in started:
                folder = tmp_path_factory.mktemp(f"api-{backend}")
                if backend == "sqlite":
                    api = start_api(movies_home, folder, None)
                elif backend == "cors":
                    api = start_api(movies_home, folder, "memory", ["--cors-origin", ORIGIN])
                else:
                    api = start_api(movies_home, folder, request.getfixturevalue("postgres_url"))
                started[backend] = stack.enter_context(api)
            return started[backend]

        yield get


@pytest.fixture(scope="module")
def sqlite_api(servers: Callable[[str], ApiProcess]) -> ApiProcess:
    return servers("sqlite")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api(request: pytest.FixtureRequest, servers: Callable[[str], ApiProcess]) -> ApiProcess:
    return servers(request.param)


def models(api: ApiProcess, authorization: str) -> httpx.Response:
    return httpx.get(f"{api.url}/v1/models", headers={"Authorization": authorization}, timeout=30)


#: spellings a client can send over HTTP/1.1: the scheme in any case, 1-4 spaces or tabs
wire_spellings = st.builds(
    lambda scheme, sep: f"{scheme}{sep}{RATE_KEY}",
    st.tuples(*(st.sampled_from((c.lower(), c.upper())) for c in "bearer")).map("".join),
    st.text(alphabet=" \t", min_size=1, max_size=4),
)


def test_a_limited_key_gets_no_fresh_allowance_under_another_spelling(sqlite_api: ApiProcess) -> None:
    for i in range(LIMIT):
        assert models(sqlite_api, f"Bearer {RATE_KEY}").status_code == 200, i
    refused = models(sqlite_api, f"Bearer {RATE_KEY}")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limit_exceeded"
    for header in (f"bearer {RATE_KEY}", f"BEARER {RATE_KEY}", f"Bearer  {RATE_KEY}", f"bEaReR\t{RATE_KEY}"):
        r = models(sqlite_api, header)
        assert r.status_code == 429, (header, r.status_code, r.text)
        assert 1 <= int(r.headers["Retry-After"]) <= 60
    # another key is a different caller
    assert models(sqlite_api, f"Bearer {ALPHA}").status_code == 200

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(header=wire_spellings)
    def every_spelling_is_refused(header: str) -> None:
        assert models(sqlite_api, header).status_code == 429, repr(header)

    every_spelling_is_refused()


# -- what the database holds ------------------------------------------------------------


def db_rows(api: ApiProcess, table: str, column: str, pattern: str) -> int:
    """Rows of a checkpoint or store table whose ``column`` is LIKE ``pattern``, read from the database."""
    sql = f"SELECT count(*) FROM {table} WHERE {column} LIKE %s"
    if api.sessions is not None:  # SQLite: two files in the sessions folder
        name = "store.sqlite" if table == "store" else "checkpoints.sqlite"
        conn = sqlite3.connect(str(api.sessions / name))
        try:
            return int(conn.execute(sql.replace("%s", "?"), (pattern,)).fetchone()[0])
        finally:
            conn.close()
    import psycopg

    url = next(a for a in api.proc.args if str(a).startswith("postgresql://"))
    with psycopg.connect(url) as pg:
        return int(pg.execute(sql, (pattern,)).fetchone()[0])


def stored_conversations(api: ApiProcess) -> list[list[str]]:
    """The user messages of every thread's latest checkpoint, read from the database."""
    from langchain_core.messages import HumanMessage

    from crsagent.agent.persistence import open_persistence

    url = (
        f"sqlite://{api.sessions}"
        if api.sessions is not None
        else next(a for a in api.proc.args if str(a).startswith("postgresql://"))
    )
    with open_persistence(Settings(), url) as pers:
        latest: dict[str, list[str]] = {}
        for tup in pers.checkpointer.list(None):
            thread = tup.config["configurable"]["thread_id"]
            if thread not in latest:  # newest first
                msgs = tup.checkpoint.get("channel_values", {}).get("messages") or []
                latest[thread] = [m.text for m in msgs if isinstance(m, HumanMessage)]
    return list(latest.values())


def stored_profiles(api: ApiProcess, user: str) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """``(namespace, value)`` of every stored profile whose namespace ends with ``user``."""
    from crsagent.agent.persistence import open_persistence

    url = (
        f"sqlite://{api.sessions}"
        if api.sessions is not None
        else next(a for a in api.proc.args if str(a).startswith("postgresql://"))
    )
    with open_persistence(Settings(), url) as pers:
        items = pers.store.search(("profile",), limit=1000)
    return [(tuple(i.namespace), i.value) for i in items if i.namespace[-1].endswith(user)]


def thread_rows(api: ApiProcess, session: str) -> int:
    """Checkpoint rows (checkpoints, blobs, writes) of every thread named after ``session``."""
    tables = (
        ["checkpoints", "writes"]
        if api.sessions is not None
        else ["checkpoints", "checkpoint_blobs", "checkpoint_writes"]
    )
    return sum(db_rows(api, t, "thread_id", f"%{session}") for t in tables)


def profile_rows(api: ApiProcess, user: str) -> int:
    """Store rows of every profile namespace named after ``user``."""
    return db_rows(api, "store", "prefix", f"profile.%{user}")


# -- tenant isolation and privacy -------------------------------------------------------


def client(api: ApiProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api.url}/v1", api_key=key, max_retries=0, timeout=120)


def turn(api: ApiProcess, key: str, session: str, user: str, text: str) -> Any:
    return client(api, key).chat.completions.create(
        model="crs-only",
        messages=[{"role": "user", "content": text}],
        user=user,
        extra_headers={"X-Session-Id": session},
    )


def call(api: ApiProcess, key: str, method: str, path: str) -> httpx.Response:
    return httpx.request(method, f"{api.url}/v1{path}", headers={"Authorization": f"Bearer {key}"}, timeout=60)


def test_two_keys_sending_the_same_ids_get_two_sessions_and_two_profiles(api: ApiProcess) -> None:
    first = turn(api, ALPHA, "shared-1", "alice", OPENER)
    assert first.model_extra["crsagent"]["session_id"] == "shared-1"  # the client's id, not the stored one
    second = turn(api, BETA, "shared-1", "alice", "Something from the 90s?")
    assert second.model_extra["crsagent"]["session_id"] == "shared-1"
    # in the database: no conversation holds both keys' words; alice has a profile per key
    conversations = stored_conversations(api)
    assert [OPENER] in conversations and ["Something from the 90s?"] in conversations
    assert not [c for c in conversations if OPENER in c and "Something from the 90s?" in c]
    profiles = stored_profiles(api, "alice")
    assert ("profile", "alice") not in [ns for ns, _ in profiles]  # never stored under the bare id
    assert [BABADOOK in v["facts"]["liked"] for _, v in profiles].count(True) == 1
    # each key sees its own conversation, and only that
    mine = call(api, ALPHA, "GET", "/sessions/shared-1").json()
    theirs = call(api, BETA, "GET", "/sessions/shared-1").json()
    assert [m["content"] for m in mine["messages"] if m["role"] == "user"] == [OPENER]
    assert [m["content"] for m in theirs["messages"] if m["role"] == "user"] == ["Something from the 90s?"]
    alpha_profile = call(api, ALPHA, "GET", "/users/alice/profile").json()
    beta_profile = call(api, BETA, "GET", "/users/alice/profile")
    assert BABADOOK in alpha_profile["facts"]["liked"]
    assert beta_profile.status_code == 404 or BABADOOK not in beta_profile.json()["facts"]["liked"]
    assert db_rows(api, "store", "prefix", "profile.alice") == 0


def test_a_key_cannot_read_or_erase_another_keys_session(api: ApiProcess) -> None:
    turn(api, ALPHA, "alpha-only-7", "carol", OPENER)
    before = thread_rows(api, "alpha-only-7")
    assert before > 0
    for method in ("GET", "DELETE"):
        r = call(api, BETA, method, "/sessions/alpha-only-7")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
        assert OPENER not in r.text
    for method in ("GET", "DELETE"):
        r = call(api, BETA, method, "/users/carol/profile")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
    # unknown ids answer exactly the same
    unknown = call(api, BETA, "GET", "/sessions/never-used-1")
    assert (unknown.status_code, unknown.json()) == (404, call(api, BETA, "GET", "/sessions/alpha-only-7").json())
    assert thread_rows(api, "alpha-only-7") == before
    # a turn of the other key on the same session id does not reach this conversation
    turn(api, BETA, "alpha-only-7", "carol", "Any comedies?")
    assert not [c for c in stored_conversations(api) if OPENER in c and "Any comedies?" in c]
    mine = call(api, ALPHA, "GET", "/sessions/alpha-only-7")
    assert mine.status_code == 200 and "Any comedies?" not in mine.text
    assert call(api, ALPHA, "GET", "/users/carol/profile").status_code == 200


def test_delete_erases_checkpoints_and_store_items(api: ApiProcess) -> None:
    turn(api, ALPHA, "erase-me-1", "dave", OPENER)
    turn(api, ALPHA, "erase-me-1", "dave", "Not that one, something older.")
    turn(api, ALPHA, "keep-me-1", "erin", OPENER)
    got = call(api, ALPHA, "GET", "/sessions/erase-me-1").json()
    assert [m["role"] for m in got["messages"]] == ["user", "assistant", "user", "assistant"]
    assert got["object"] == "session" and got["id"] == "erase-me-1" and got["updated_at"]
    assert thread_rows(api, "erase-me-1") > 0 and profile_rows(api, "dave") > 0

    r = call(api, ALPHA, "DELETE", "/sessions/erase-me-1")
    assert r.status_code == 200 and r.json() == {"id": "erase-me-1", "object": "session.deleted", "deleted": True}
    assert thread_rows(api, "erase-me-1") == 0
    assert call(api, ALPHA, "GET", "/sessions/erase-me-1").status_code == 404
    assert call(api, ALPHA, "DELETE", "/sessions/erase-me-1").status_code == 404

    profile = call(api, ALPHA, "GET", "/users/dave/profile").json()
    assert profile["user"] == "dave" and BABADOOK in profile["facts"]["liked"]
    r = call(api, ALPHA, "DELETE", "/users/dave/profile")
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert profile_rows(api, "dave") == 0
    assert call(api, ALPHA, "GET", "/users/dave/profile").status_code == 404

    # the other session and profile of the same key are untouched
    assert thread_rows(api, "keep-me-1") > 0 and profile_rows(api, "erin") > 0
    # a new turn on the erased session starts from nothing
    turn(api, ALPHA, "erase-me-1", "dave", "Any comedies?")
    again = call(api, ALPHA, "GET", "/sessions/erase-me-1").json()
    assert [m["content"] for m in again["messages"] if m["role"] == "user"] == ["Any comedies?"]


# -- CORS -------------------------------------------------------------------------------


def test_cors_preflight_and_exposed_session_header(servers: Callable[[str], ApiProcess]) -> None:
    on = servers("cors")  # --cors-origin https://app.example
    pre = httpx.options(
        f"{on.url}/v1/chat/completions",
        timeout=30,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-session-id",
        },
    )
    assert pre.status_code == 200, pre.text
    assert pre.headers["access-control-allow-origin"] == ORIGIN
    assert "x-session-id" in pre.headers["access-control-allow-headers"].lower()
    r = httpx.post(
        f"{on.url}/v1/chat/completions",
        timeout=120,
        json={"model": "crs-only", "messages": [{"role": "user", "content": OPENER}]},
        headers={"Origin": ORIGIN, "Authorization": f"Bearer {ALPHA}", "X-Session-Id": "cors-1"},
    )
    assert r.status_code == 200 and r.headers["x-session-id"] == "cors-1"
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "x-session-id" in r.headers["access-control-expose-headers"].lower()
    other = httpx.options(
        f"{on.url}/v1/models",
        timeout=30,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in other.headers

    off = servers("sqlite")  # no --cors-origin: no CORS headers, the preflight is refused
    pre = httpx.options(
        f"{off.url}/v1/chat/completions",
        timeout=30,
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert pre.status_code == 405 and "access-control-allow-origin" not in pre.headers
