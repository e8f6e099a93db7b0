"""Optional API keys: ``Authorization: Bearer <key>`` checked against the configured keys.

The header is parsed as RFC 6750 section 2.1 says: the scheme ``Bearer`` in any letter case,
then one or more spaces or tabs, then the token, with leading and trailing whitespace ignored.
A request is then known by the *identity* of the key it sent (:func:`key_identity`), never by
the header's spelling: rate limits, sessions and profiles are keyed on that identity, so
``bearer k1``, ``BEARER k1`` and ``Bearer  k1`` are one caller.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from crsagent.agent.server.errors import APIError

__all__ = ["parse_bearer", "key_identity", "authenticate", "check_api_key"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="crsagent"'}
# RFC 7235 credentials: the auth-scheme, 1*SP, the token (RFC 6750's b64token, read leniently:
# any run of visible characters, so keys configured outside the b64token alphabet keep working).
_CREDENTIALS = re.compile(r"^[ \t]*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:[ \t]+(\S+))?[ \t]*$")


def _unauthorized(message: str) -> APIError:
    return APIError(401, message, code="invalid_api_key", headers=_CHALLENGE)


def parse_bearer(authorization: str | None) -> str:
    """The bearer token of an ``Authorization`` header (RFC 6750, section 2.1).

    Args:
        authorization: the header value, or None when absent.

    Returns:
        The token, without the scheme or any surrounding whitespace.

    Raises:
        APIError: 401 ``invalid_api_key`` when the header is absent, is not the ``Bearer``
            scheme (compared case-insensitively), or has no token or more than one.
    """
    if not authorization or not authorization.strip():
        raise _unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    match = _CREDENTIALS.match(authorization)
    if match is None or match.group(1).lower() != "bearer" or not match.group(2):
        raise _unauthorized("malformed Authorization header: expected 'Bearer <key>'")
    return match.group(2)


def key_identity(key: str) -> str:
    """The stable, non-secret identity of an API key: ``k`` and 16 hex digits of its SHA-256.

    Sessions, profiles and rate limits are scoped to it; it survives restarts and the order of
    ``CRSAGENT_API_KEYS``, and the key cannot be read back from it.
    """
    digest = hashlib.sha256(b"crsagent-api-key\x00" + key.encode("utf-8", "surrogateescape")).hexdigest()
    return f"k{digest[:16]}"


def authenticate(authorization: str | None, keys: tuple[str, ...]) -> str | None:
    """The identity of the caller's key, or None when authentication is off.

    Every configured key is compared (in constant time, ``hmac.compare_digest``), so the time
    taken does not tell which key, or which prefix, matched.

    Args:
        authorization: the ``Authorization`` header, or None when absent.
        keys: the accepted keys; empty means authentication is off.

    Returns:
        :func:`key_identity` of the matching key; None when ``keys`` is empty.

    Raises:
        APIError: 401 ``invalid_api_key`` when the key is missing, malformed or wrong.
    """
    if not keys:
        return None
    given = parse_bearer(authorization).encode("utf-8", "surrogateescape")
    found: str | None = None
    for key in keys:
        if hmac.compare_digest(given, key.encode("utf-8", "surrogateescape")):
            found = key
    if found is None:
        raise _unauthorized("incorrect API key provided")
    return key_identity(found)


def check_api_key(authorization: str | None, keys: tuple[str, ...]) -> None:
    """Accept the request when no keys are configured, or when its bearer key is one of them.

    Raises:
        APIError: 401 ``invalid_api_key`` (see :func:`authenticate`).
    """
    authenticate(authorization, keys)
