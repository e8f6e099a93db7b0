"""Optional API keys: ``Authorization: Bearer <key>`` checked against the configured keys."""

from __future__ import annotations

import hmac

from crsagent.agent.server.errors import APIError

__all__ = ["check_api_key"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="crsagent"'}


def check_api_key(authorization: str | None, keys: tuple[str, ...]) -> None:
    """Accept the request when no keys are configured, or when its bearer key is one of them.

    Every configured key is compared (in constant time, ``hmac.compare_digest``), so the time
    taken does not tell which key, or which prefix, matched.

    Args:
        authorization: the ``Authorization`` header, or None when absent.
        keys: the accepted keys; empty means authentication is off.

    Raises:
        APIError: 401 ``invalid_api_key`` when the key is missing, malformed or wrong.
    """
    if not keys:
        return
    if not authorization:
        raise APIError(
            401,
            "missing API key: send 'Authorization: Bearer <key>'",
            code="invalid_api_key",
            headers=_CHALLENGE,
        )
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise APIError(
            401,
            "malformed Authorization header: expected 'Bearer <key>'",
            code="invalid_api_key",
            headers=_CHALLENGE,
        )
    given = token.encode("utf-8", "surrogateescape")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key.encode("utf-8", "surrogateescape"))
    if not matched:
        raise APIError(401, "incorrect API key provided", code="invalid_api_key", headers=_CHALLENGE)
