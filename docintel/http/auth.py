"""API keys: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` (``fastapi.security``, so the
OpenAPI document states both), checked against ``DOCINTEL_API_KEYS``."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from docintel.http.problems import ProblemError

_HELP = "Needed when the server has API keys (DOCINTEL_API_KEYS); either way works."
bearer = HTTPBearer(scheme_name="bearer", description=_HELP, auto_error=False)
api_key = APIKeyHeader(name="X-API-Key", scheme_name="apiKey", description=_HELP, auto_error=False)


def matches(given: str | None, keys: Sequence[SecretStr]) -> bool:
    """Whether ``given`` is one of ``keys``. Every key is compared, always, in constant time:
    the timing says nothing of which one (or whether one) matched."""
    if not keys:
        return True
    matched = False
    for key in keys:
        matched |= hmac.compare_digest((given or "").encode(), key.get_secret_value().encode())
    return matched


def given_key(request: Request) -> str | None:
    """The key a request carries in either of docintel's headers (a bearer token wins)."""
    auth = request.headers.get("authorization") or ""
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key")


async def require_key(
    request: Request,
    token: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    key: Annotated[str | None, Security(api_key)],
) -> None:
    """A route dependency: 401 problem unless the request carries one of the server's keys."""
    keys = request.app.state.service.settings.api_keys
    if not matches(token.credentials if token else key, keys):
        raise ProblemError(
            401,
            "unauthorized",
            "missing or wrong API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
            headers={"WWW-Authenticate": 'Bearer realm="docintel"'},
        )
