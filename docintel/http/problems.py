"""Errors as ``application/problem+json`` (RFC 9457): what went wrong and what to do."""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from docintel.errors import (
    BlockedURL,
    DocintelError,
    EngineUnavailable,
    FetchError,
    InputTooLarge,
    OutOfMemory,
    UnsupportedInput,
)

log = logging.getLogger("docintel.http")


class Problem(BaseModel):
    """An error: ``type`` names the kind, ``detail`` says what went wrong and what to do."""

    type: str = Field(examples=["urn:docintel:problem:input-too-large"])
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None  # per-field request errors (422)


class ProblemError(Exception):
    def __init__(
        self, status: int, slug: str, detail: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.detail, self.headers = status, slug, detail, headers or {}


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    499: "Client closed request",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def problem(
    status: int, slug: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"urn:docintel:problem:{slug}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status, headers=headers, media_type="application/problem+json")


def for_error(exc: DocintelError) -> ProblemError:
    """The HTTP status a docintel error maps to."""
    name = type(exc).__name__
    detail = scrub(str(exc))
    slug = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower()
    if isinstance(exc, InputTooLarge):
        return ProblemError(413, slug, detail)
    if isinstance(exc, UnsupportedInput):
        return ProblemError(415, slug, detail)
    if isinstance(exc, BlockedURL):
        return ProblemError(400, slug, detail)
    if isinstance(exc, FetchError):
        return ProblemError(502, slug, detail)
    if isinstance(exc, EngineUnavailable | OutOfMemory):
        return ProblemError(503, slug, detail, headers={"Retry-After": "30"})
    return ProblemError(422, slug, detail)  # the input or the schema named cannot be used


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": _TITLES[status],
        "content": {"application/problem+json": {"schema": Problem.model_json_schema()}},
    }
    for status in (400, 401, 413, 415, 422, 429, 502, 503, 504)
}


_PATH = re.compile(r"(?<![\w:/.])(?:/[\w.@+~-]+){2,}/?")


def scrub(text: str) -> str:
    """``text`` without the server's file paths: clients learn nothing of its disk. (A path
    is one whose top-level folder exists here, such as /tmp, /root or /srv, whether or not
    the rest of it does: a model path that is missing is still the server's. API paths such
    as /v1/schemas stay.)"""

    def hide(match: re.Match[str]) -> str:
        top = "/" + match.group(0).strip("/").split("/", 1)[0]
        return "<path>" if os.path.isdir(top) else match.group(0)

    return _PATH.sub(hide, text)


def internal_error(exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return problem(500, "internal", f"an internal error ({type(exc).__name__}); see the server log")


def install_handlers(app: FastAPI) -> None:
    """Every error the app can meet answered as a problem, never as a bare 500 page."""

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.slug, exc.detail, exc.headers)

    @app.exception_handler(DocintelError)
    async def _docintel(_: Request, exc: DocintelError) -> JSONResponse:
        p = for_error(exc)
        return problem(p.status, p.slug, p.detail, p.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem(422, "invalid-request", detail or "invalid request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no endpoint at {request.url.path}: GET /openapi.json lists them"
        elif exc.status_code == 405:
            allowed = headers.get("Allow") or headers.get("allow") or ""
            detail = f"{request.method} is not allowed on {request.url.path}; use {allowed}"
        return problem(exc.status_code, "http", detail, headers)

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        return internal_error(exc)
