"""Tenant scoping, the privacy routes and CORS at the HTTP layer (fake runner, in process).

The real-server versions (SQLite and PostgreSQL, database read afterwards) are in
``tests/e2e/test_api_security.py``.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from crsagent.agent.errors import ConfigError
from crsagent.agent.memory import Profile, ProfileFacts, profile_namespace, save_profile
from crsagent.agent.server import ServerConfig, create_app
from crsagent.agent.server.auth import key_identity
from crsagent.agent.server.sessions import scoped

KEYS = ("key-a", "key-b")
A, B = ({"Authorization": f"Bearer {k}"} for k in KEYS)


def chat(client: TestClient, headers: dict[str, str], text: str, session: str | None = None, user: str = "alice"):
    extra = {"X-Session-Id": session} if session else {}
    return client.post(
        "/v1/chat/completions",
        headers={**headers, **extra},
        json={"model": "crs-only", "messages": [{"role": "user", "content": text}], "user": user},
    )


def test_ids_are_scoped_to_the_key(make_app, runners) -> None:
    with TestClient(make_app(api_keys=KEYS)) as client:
        ra = chat(client, A, "from a", "s-1")
        rb = chat(client, B, "from b", "s-1")
        assert ra.status_code == rb.status_code == 200
        assert ra.headers["x-session-id"] == rb.headers["x-session-id"] == "s-1"
        assert ra.json()["crsagent"]["session_id"] == "s-1"
        calls = runners["crs-only"].calls
        ta, tb = (key_identity(k) for k in KEYS)
        assert [(c[2], c[3]) for c in calls] == [(f"{ta}/s-1", f"{ta}/alice"), (f"{tb}/s-1", f"{tb}/alice")]
        chat(client, A, "stateless")  # no session: the user is scoped all the same
        assert runners["crs-only"].calls[-1][2:] == (None, f"{ta}/alice")


def test_without_keys_ids_are_used_as_sent(client, runners) -> None:
    assert chat(client, {}, "hi", "s-1").status_code == 200
    assert runners["crs-only"].calls[-1][2:] == ("s-1", "alice")


class StoringRunner:
    """A runner with a real (in-memory) checkpointer and store, as the privacy routes read them."""

    checkpointer = InMemorySaver()
    store = InMemoryStore()

    def __init__(self, variant: str) -> None:
        self.variant = variant


def test_privacy_routes_read_and_erase_only_the_keys_own_data() -> None:
    ta = key_identity(KEYS[0])
    save_profile(StoringRunner.store, Profile(user_id=scoped(ta, "bob"), facts=ProfileFacts(liked=["tt1"])))
    with TestClient(create_app(StoringRunner, ServerConfig(api_keys=KEYS, default_variant="crs-only"))) as client:
        got = client.get("/v1/users/bob/profile", headers=A)
        assert got.status_code == 200 and got.json()["user"] == "bob" and got.json()["facts"]["liked"] == ["tt1"]
        for method in ("GET", "DELETE"):
            r = client.request(method, "/v1/users/bob/profile", headers=B)
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
            assert client.request(method, "/v1/sessions/s-1", headers=A).status_code == 404  # never written
        assert client.delete("/v1/users/bob/profile", headers=A).json() == {
            "id": "bob",
            "object": "user.profile.deleted",
            "deleted": True,
        }
        assert StoringRunner.store.search(profile_namespace(scoped(ta, "bob"))) == []
        assert client.get("/v1/users/bob/profile", headers=A).status_code == 404
        bad = client.get("/v1/sessions/bad%20id", headers=A)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_session_id"
        assert client.get("/v1/sessions/s-1").status_code == 401


def test_cors_is_off_by_default_and_on_with_origins(make_app) -> None:
    pre = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    with TestClient(make_app()) as client:
        r = client.options("/v1/chat/completions", headers=pre)
        assert r.status_code == 405 and "access-control-allow-origin" not in r.headers
    with TestClient(make_app(cors_origins=("https://app.example",), api_keys=KEYS)) as client:
        r = client.options("/v1/chat/completions", headers={**pre, "Access-Control-Request-Headers": "x-session-id"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://app.example"
        r = chat(client, {**A, "Origin": "https://app.example"}, "hi", "s-9")
        assert r.headers["access-control-expose-headers"].lower().count("x-session-id") == 1
        r = client.get("/v1/models", headers={"Origin": "https://app.example"})  # refusals carry CORS too
        assert r.status_code == 401 and r.headers["access-control-allow-origin"] == "https://app.example"


@pytest.mark.parametrize("origin", ["app.example", "https://app.example/", "ftp://x"])
def test_malformed_origins_are_refused(origin: str) -> None:
    with pytest.raises(ConfigError):
        ServerConfig(cors_origins=(origin,))


class SeedingRunner:
    """Records how a session's first request reached it; a checkpointer tells new threads apart."""

    checkpointer = InMemorySaver()

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self.calls: list[tuple] = []

    async def aseed_thread(self, messages, *, thread_id, user_id):
        from crsagent.agent.turns import TurnResult

        self.calls.append(("seed", [(m.role, m.content) for m in messages], thread_id))
        cfg = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        from langgraph.checkpoint.base import empty_checkpoint

        await self.checkpointer.aput(cfg, empty_checkpoint(), {}, {})
        return TurnResult(reply="seeded")

    async def aturn(self, text, *, thread_id, user_id=None):
        from crsagent.agent.turns import TurnResult

        self.calls.append(("turn", text, thread_id))
        return TurnResult(reply="turn")


def test_a_new_session_is_seeded_once_from_the_earlier_messages() -> None:
    made: dict[str, SeedingRunner] = {}
    app = create_app(
        lambda v: made.setdefault(v, SeedingRunner(v)),  # type: ignore[return-value]  # a partial runner
        ServerConfig(default_variant="crs-only"),
    )
    history = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "I loved Alien"},
        {"role": "assistant", "content": "A classic."},
        {"role": "user", "content": "from the 90s"},
    ]
    with TestClient(app) as client:
        for _ in range(2):
            r = client.post(
                "/v1/chat/completions",
                headers={"X-Session-Id": "seed-u1"},
                json={"model": "crs-only", "messages": history},
            )
            assert r.status_code == 200, r.text
        client.post(
            "/v1/chat/completions",
            headers={"X-Session-Id": "seed-u2"},
            json={"model": "crs-only", "messages": history[-1:]},
        )
    assert made["crs-only"].calls == [
        ("seed", [("user", "I loved Alien"), ("assistant", "A classic."), ("user", "from the 90s")], "seed-u1"),
        ("turn", "from the 90s", "seed-u1"),  # the session exists now: only the last message
        ("turn", "from the 90s", "seed-u2"),  # nothing earlier to seed from
    ]
