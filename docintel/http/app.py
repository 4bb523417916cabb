"""The HTTP service: ``POST /v1/latex``, ``POST /v1/extract``, schemas, health and metrics.

``create_app()`` builds the FastAPI app; ``docintel serve`` runs it on uvicorn. Work runs in a
thread pool as large as the admission limit, so the event loop never waits on a model, and
the engine sits behind a ``MicroBatcher``: requests that arrive together share an engine
batch. Requests over the admission limit get 429, requests before the engine is loaded 503,
both with ``Retry-After``. Every error is ``application/problem+json`` (RFC 9457).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hmac
import json
import logging
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from docintel import __version__
from docintel.engines import Engine, get_engine
from docintel.engines.base import capabilities
from docintel.engines.batching import MicroBatcher
from docintel.errors import (
    BlockedURL,
    DocintelError,
    EngineUnavailable,
    FetchError,
    InputTooLarge,
    OutOfMemory,
    SchemaNotFound,
    UnsupportedInput,
)
from docintel.http.mathpix import router as mathpix_router
from docintel.result import ResultData
from docintel.settings import Settings, get_settings

log = logging.getLogger("docintel.http.app")
T = TypeVar("T")

# ---- problems (RFC 9457) ------------------------------------------------------------------


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


def _for_error(exc: DocintelError) -> ProblemError:
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


_PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": _TITLES[status],
        "content": {"application/problem+json": {"schema": Problem.model_json_schema()}},
    }
    for status in (400, 401, 413, 415, 422, 429, 502, 503, 504)
}

# ---- requests and responses -----------------------------------------------------------------


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: str | None = Field(
        None, description="The file as base64 or a data: URL (PDF, PNG, JPEG, TIFF, WebP, BMP)."
    )
    url: str | None = Field(
        None, description="An http(s) URL to fetch instead (only when the server allows URLs)."
    )
    pages: list[int] | None = Field(
        None, max_length=2000, description="0-based page indices (default: all)."
    )
    password: str | None = Field(None, description="Password of an encrypted PDF.")


class LatexRequest(_Input):
    """A formula image (or a page of formulas) in a JSON body."""

    mathml: bool = Field(False, description="Also return MathML for valid formulas.")


class ExtractRequest(_Input):
    """A document and the schema to extract, in a JSON body."""

    schema_name: str | None = Field(
        None, alias="schema", description="A catalog schema name (GET /v1/schemas)."
    )
    json_schema: dict[str, Any] | None = Field(
        None, description="A JSON Schema (an object) to extract instead of a catalog schema."
    )
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FormulaOut(BaseModel):
    latex: str | None
    display: bool | None
    valid: bool
    errors: list[str]
    confidence: float
    page: int
    box: list[float] | None = Field(description="[x0, y0, x1, y1] in page points; null: page.")
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    mathml: str | None = None


class LatexResponse(BaseModel):
    formulas: list[FormulaOut]
    engine: str
    model: str
    seconds: float


class SchemaInfo(BaseModel):
    name: str
    title: str
    description: str
    json_schema: dict[str, Any]


def _one_of(*options: tuple[str, str]) -> dict[str, Any]:
    """JSON Schema for "exactly one of these keys, with a non-null value"."""
    return {
        "oneOf": [{"required": [key], "properties": {key: {"type": kind}}} for key, kind in options]
    }


_DOCUMENT_OR_URL = _one_of(("document", "string"), ("url", "string"))


def _body_schema(model: type[BaseModel], file_help: str) -> dict[str, Any]:
    """OpenAPI request body: the JSON model, or a multipart upload with the same options.

    Multipart fields keep their JSON types; ``pages`` and ``json_schema`` travel as JSON text
    (their part's content type is application/json), the rest as plain values.
    """
    json_schema = model.model_json_schema(by_alias=True)
    options = {k: v for k, v in json_schema["properties"].items() if k not in ("document", "url")}
    form: dict[str, Any] = {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary", "description": file_help},
            **options,
        },
    }
    exclusive = [_DOCUMENT_OR_URL]
    if "schema" in options:
        exclusive_schema = _one_of(("schema", "string"), ("json_schema", "object"))
        exclusive.append(exclusive_schema)
        form.update(exclusive_schema)
    json_schema["allOf"] = exclusive
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": json_schema},
                "multipart/form-data": {
                    "schema": form,
                    "encoding": {
                        k: {"contentType": "application/json"} for k in _JSON_FIELDS if k in options
                    },
                },
            },
        }
    }


# ---- the service ----------------------------------------------------------------------------


class Service:
    """What the app holds: settings, the engine (loaded in the background), limits, metrics."""

    def __init__(self, settings: Settings, engine: str | Engine | None) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            disable_created_metrics,
        )

        disable_created_metrics()  # the *_created series only double the output

        self.settings = settings
        self.engine: Engine | None = None
        self.engine_error: str | None = None
        self._engine_spec = engine
        self.executor = ThreadPoolExecutor(settings.max_queue, thread_name_prefix="docintel")
        self.active = 0
        self._lock = threading.Lock()
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "docintel_requests", "HTTP requests", ["route", "status"], registry=r
        )
        self.latency = Histogram(
            "docintel_request_seconds",
            "Request latency",
            ["route"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        self.tokens = Counter("docintel_tokens", "Model tokens", ["kind"], registry=r)
        self.retries = Counter("docintel_retries", "Model attempts beyond the first", registry=r)
        self.queue = Gauge(
            "docintel_queue_depth", "Requests admitted, not yet answered", registry=r
        )
        self.batch_size = Histogram(
            "docintel_batch_size",
            "Requests per engine batch",
            registry=r,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
        )
        self.queue.set_function(lambda: self.active)

    def load_engine(self) -> None:
        """Load the engine, weights included: /readyz says ready only when requests can run."""
        try:
            engine = get_engine(self._engine_spec, self.settings)
            load = getattr(engine, "load", None)  # engines that load lazily (transformers)
            if callable(load):
                load()
            if capabilities(engine).thread_safe:
                self.engine = engine  # batches on its own side (a server) or needs none
            else:
                self.engine = MicroBatcher(
                    engine,
                    window=self.settings.batch_window_ms / 1000,
                    max_batch=self.settings.max_batch,
                    on_batch=lambda n, _s: self.batch_size.observe(n),
                )
            log.info("engine ready: %s (%s)", self.engine.name, self.engine.model)
        except Exception as exc:
            log.error("engine failed to load", exc_info=exc)
            self.engine_error = scrub(f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        if isinstance(self.engine, MicroBatcher):
            self.engine.close()

    async def run(self, fn: Callable[[Engine], T], request: Request) -> T:
        """Run ``fn(engine)`` in the pool: admitted or 429, engine ready or 503, in time or 504.

        When the client goes away or the deadline passes, the work is cancelled: it stops at
        its next checkpoint (page render, model attempt) and frees its slot, instead of running
        on for minutes holding the engine.
        """
        from docintel.cancel import Cancel, cancellable

        if self.engine is None:
            detail = (
                f"the engine failed to load: {self.engine_error}"
                if self.engine_error
                else "the engine is still loading; retry shortly"
            )
            raise ProblemError(503, "engine-not-ready", detail, headers={"Retry-After": "5"})
        with self._lock:
            if self.active >= self.settings.max_queue:
                raise ProblemError(
                    429,
                    "queue-full",
                    f"{self.active} requests are in progress (limit {self.settings.max_queue}); "
                    "retry after the delay in Retry-After",
                    headers={"Retry-After": "1"},
                )
            self.active += 1
        token = Cancel()
        engine = self.engine

        def call() -> T:
            with cancellable(token):
                return fn(engine)

        try:
            work = self.executor.submit(contextvars.copy_context().run, call)
        except RuntimeError:  # the pool is shut down: the server is stopping
            self._release()
            raise ProblemError(
                503,
                "stopping",
                "the server is shutting down; retry elsewhere",
                headers={"Retry-After": "5"},
            ) from None
        # The slot is freed when the work ends, not when the client stops waiting: a timed-out
        # request still holds the engine until its next checkpoint, and the limit counts it.
        work.add_done_callback(lambda _: self._release())
        waiting = asyncio.ensure_future(asyncio.wrap_future(work))
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            done, _ = await asyncio.wait(
                {waiting, gone},
                timeout=self.settings.request_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if waiting in done:
                return waiting.result()
            if gone in done:
                token.cancel("the client went away")
                raise ProblemError(499, "client-closed", "the client closed the connection")
            token.cancel(f"over the request timeout of {self.settings.request_timeout:g} s")
            raise ProblemError(
                504,
                "timeout",
                f"the request took over {self.settings.request_timeout:g} s "
                "(DOCINTEL_REQUEST_TIMEOUT); send fewer pages or retry later",
            )
        except DocintelError as exc:
            raise _for_error(exc) from exc
        finally:
            gone.cancel()
            if not waiting.done():
                waiting.cancel()

    def _release(self) -> None:
        with self._lock:
            self.active -= 1

    def count(self, prompt_tokens: int, completion_tokens: int, attempts: int) -> None:
        """Tokens and retries of one answered request, for /metrics."""
        self.tokens.labels("prompt").inc(prompt_tokens)
        self.tokens.labels("completion").inc(completion_tokens)
        self.retries.inc(max(0, attempts - 1))

    def authorized(self, request: Request) -> bool:
        keys = self.settings.api_keys
        if not keys:
            return True
        given = request.headers.get("x-api-key") or ""
        auth = request.headers.get("authorization") or ""
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        # Compare against every key, always: timing says nothing about which (or whether) one
        # matched.
        matched = False
        for key in keys:
            matched |= hmac.compare_digest(given.encode(), key.get_secret_value().encode())
        return matched


async def _disconnected(request: Request) -> None:
    """Return once the client has closed the connection.

    Waits on the ASGI receive channel: once the body is read, the only message left is
    ``http.disconnect``. (Polling ``request.is_disconnected()`` never saw it: its receive,
    cancelled at once, is cancelled inside the HTTP middleware's task group before the
    message gets through, so a client that went away went unnoticed.)
    """
    while (await request.receive())["type"] != "http.disconnect":
        await asyncio.sleep(0.5)  # not expected after the body; never spin on it


# ---- reading inputs -------------------------------------------------------------------------


@dataclass
class _Received:
    """A request body as received: nothing parsed yet (parsing is CPU work: off the loop)."""

    json_body: bytes | None = None
    upload: bytes | None = None
    fields: dict[str, str] = dc_field(default_factory=dict)


async def _receive(request: Request) -> _Received:
    """Read the body (JSON) or the multipart parts; refuse other media types."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        return _Received(json_body=await request.body())
    if ctype == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=20)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ProblemError(422, "no-document", "the multipart body needs a 'file' part")
        fields = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
        return _Received(upload=await upload.read(), fields=fields)
    raise ProblemError(
        415,
        "unsupported-media-type",
        f"send application/json or multipart/form-data, not {ctype or 'no content type'}",
    )


def _parse_input(
    received: _Received, model: type[_Input], settings: Settings
) -> tuple[Any, _Input]:
    """The document (bytes, or a URL when allowed) and the options. Runs in the worker."""
    if received.json_body is None:
        try:
            options = model.model_validate(_form_values(received.fields))
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        return received.upload, options
    try:
        options = model.model_validate(_json(received.json_body, "the body"))
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    if (options.document is None) == (options.url is None):
        raise ProblemError(422, "no-document", "give exactly one of 'document' and 'url'")
    if options.url is None:
        return _decode(options.document or ""), options
    if not settings.allow_urls:
        raise ProblemError(
            400,
            "urls-disabled",
            "this server does not fetch URLs: send the file itself (multipart or "
            "base64), or start the server with DOCINTEL_ALLOW_URLS=true",
        )
    if not options.url.strip()[:8].lower().startswith(("http://", "https://")):
        raise ProblemError(
            400,
            "blocked-url",
            "'url' must be an http:// or https:// URL; send a file itself as "
            "'document' (base64 or a data: URL) or as a multipart upload",
        )
    return options.url.strip(), options


def _json(raw: bytes | str, what: str, status: int = 400, slug: str = "invalid-json") -> Any:
    """Parse JSON from a client; every way it can be unusable is a 4xx, never a 500."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ProblemError(
            status, slug, f"{what} is not JSON we can read: it is nested too deeply"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError; ints over 4300 digits
        raise ProblemError(status, slug, f"{what} must be JSON: {exc}") from None


def _decode(document: str) -> bytes:
    from docintel.ingest.load import decode_text

    try:
        return decode_text(document)
    except UnsupportedInput as exc:
        raise ProblemError(422, "invalid-base64", f"'document': {exc}") from None


def _form_values(fields: dict[str, str]) -> dict[str, Any]:
    """Multipart fields are strings: decode the JSON-typed ones (pages, json_schema)."""
    return {
        key: _json(raw, f"field {key!r}", 422, "invalid-field") if key in _JSON_FIELDS else raw
        for key, raw in fields.items()
    }


_JSON_FIELDS = ("pages", "json_schema")


# ---- the app --------------------------------------------------------------------------------


def create_app(settings: Settings | None = None, engine: str | Engine | None = None) -> FastAPI:
    """The service as an ASGI app. The engine loads in the background; /readyz says when."""
    settings = settings or get_settings()
    service = Service(settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=service.load_engine, name="engine-load", daemon=True).start()
        yield
        service.close()

    app = FastAPI(
        title="docintel",
        version=__version__,
        summary="Formula images to LaTeX, documents to typed data.",
        lifespan=lifespan,
        responses=_PROBLEM_RESPONSES,
    )
    app.state.service = service
    _declare_security(app)
    app.include_router(mathpix_router)  # POST /v3/text, Mathpix-compatible
    app.add_middleware(_BodyLimit, limit=settings.max_upload_bytes, seconds=settings.body_timeout)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        start = time.perf_counter()
        if request.url.path.startswith("/v1/") and not service.authorized(request):
            response = problem(
                401,
                "unauthorized",
                "missing or wrong API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                headers={"WWW-Authenticate": 'Bearer realm="docintel"'},
            )
        else:
            try:
                response = await call_next(request)
            except Exception as exc:
                response = _internal_error(exc)
        # The route's template, never the raw path: unknown paths must not grow the series.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        service.requests.labels(route, str(response.status_code)).inc()
        service.latency.labels(route).observe(time.perf_counter() - start)
        return response

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.slug, exc.detail, exc.headers)

    @app.exception_handler(DocintelError)
    async def _docintel(_: Request, exc: DocintelError) -> JSONResponse:
        p = _for_error(exc)
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
        return _internal_error(exc)

    @app.post(
        "/v1/latex",
        response_model=LatexResponse,
        openapi_extra=_body_schema(LatexRequest, "A formula image, a page image or a PDF."),
        summary="Transcribe formulas to LaTeX",
    )
    async def latex(request: Request) -> LatexResponse:
        """A formula image gives one entry; a page or PDF page with formula regions gives one
        per region, with its box. Each says whether its LaTeX is valid (KaTeX's grammar)."""
        from docintel.pipeline.transcribe import transcribe

        received = await _receive(request)
        start = time.perf_counter()

        def work(engine: Engine) -> list[Any]:
            source, options = _parse_input(received, LatexRequest, settings)
            assert isinstance(options, LatexRequest)
            with _load(source, options, settings) as doc:
                return transcribe(
                    doc,
                    engine=engine,
                    pages=_pages(options, len(doc)),
                    mathml=options.mathml,
                    settings=settings,
                )

        found = await service.run(work, request)
        for t in found:
            service.count(t.prompt_tokens, t.completion_tokens, t.attempts)
        engine_ = service.engine
        return LatexResponse(
            formulas=[FormulaOut.model_validate(t.to_dict()) for t in found],
            engine=engine_.name if engine_ else "",
            model=engine_.model if engine_ else "",
            seconds=round(time.perf_counter() - start, 4),
        )

    @app.post(
        "/v1/extract",
        response_model=ResultData,
        response_model_by_alias=True,
        openapi_extra=_body_schema(ExtractRequest, "The document: PDF or image."),
        summary="Extract a schema from a document",
    )
    async def extract_endpoint(request: Request) -> Any:
        """Extract a catalog schema (``schema``) or a JSON Schema (``json_schema``). The
        result carries provenance per field and every attempt; ``ok`` is false when no
        attempt validated (the last candidate and the errors are in the body)."""
        from docintel.pipeline.extract import extract

        received = await _receive(request)

        def work(engine: Engine) -> Any:
            source, options = _parse_input(received, ExtractRequest, settings)
            assert isinstance(options, ExtractRequest)
            schema = _schema(options)
            with _load(source, options, settings) as doc:
                return extract(
                    doc,
                    schema,
                    engine=engine,
                    pages=_pages(options, len(doc)),
                    settings=settings,
                    raise_on_failure=False,
                )

        result = await service.run(work, request)
        service.count(result.prompt_tokens, result.completion_tokens, len(result.attempts))
        body = result.to_dict()
        body["errors"] = [scrub(e) for e in body["errors"]]
        for attempt in body["attempts"]:
            attempt["errors"] = [scrub(e) for e in attempt["errors"]]
        return JSONResponse(body)

    @app.get("/v1/schemas", response_model=list[SchemaInfo], summary="The schema catalog")
    async def schemas() -> list[SchemaInfo]:
        from docintel.schemas import CATALOG

        return [
            SchemaInfo(
                name=name,
                title=cls.__name__,
                description=(cls.__doc__ or "").strip(),
                json_schema=cls.model_json_schema(),
            )
            for name, cls in CATALOG.items()
        ]

    @app.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="The engine is loaded", responses={503: _PROBLEM_RESPONSES[503]})
    async def readyz() -> Any:
        if service.engine is None:
            detail = service.engine_error or "the engine is still loading"
            return problem(503, "engine-not-ready", detail, {"Retry-After": "5"})
        return {"status": "ready", "engine": service.engine.name, "model": service.engine.model}

    @app.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
    async def metrics() -> PlainTextResponse:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return PlainTextResponse(generate_latest(service.registry), media_type=CONTENT_TYPE_LATEST)

    return app


_KEY_HELP = "Needed when the server has API keys (DOCINTEL_API_KEYS); either way works."


def _declare_security(app: FastAPI) -> None:
    """State the two ways of sending an API key in the spec (checked by ``guard``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            spec.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": _KEY_HELP},
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": _KEY_HELP,
                },
            }
            for path, item in spec["paths"].items():
                if path.startswith("/v1/"):
                    for operation in item.values():
                        operation["security"] = [{"bearer": []}, {"apiKey": []}]
        return app.openapi_schema or spec

    app.openapi = openapi  # type: ignore[method-assign]


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


def _internal_error(exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return problem(500, "internal", f"an internal error ({type(exc).__name__}); see the server log")


def _load(source: Any, options: _Input, settings: Settings) -> Any:
    from docintel.ingest.load import load

    return load(source, password=options.password, settings=settings)


def _pages(options: _Input, count: int) -> list[int] | None:
    if options.pages is None:
        return None
    bad = [p for p in options.pages if not 0 <= p < count]
    if bad:
        raise ProblemError(
            422,
            "page-out-of-range",
            f"pages {bad} do not exist: the document has {count} (0-based: 0..{count - 1})",
        )
    return list(dict.fromkeys(options.pages))


def _schema(options: ExtractRequest) -> type[BaseModel]:
    if (options.schema_name is None) == (options.json_schema is None):
        raise ProblemError(
            422, "no-schema", "give exactly one of 'schema' (a catalog name) and 'json_schema'"
        )
    if options.json_schema is not None:
        from docintel.errors import InvalidJSONSchema

        try:
            return _model_for(json.dumps(options.json_schema, sort_keys=True))
        except InvalidJSONSchema as exc:
            raise ProblemError(422, "invalid-json-schema", str(exc)) from None
    from docintel.schemas import CATALOG

    schema = CATALOG.get((options.schema_name or "").lower())
    if schema is None:
        raise SchemaNotFound(
            f"no catalog schema named {options.schema_name!r}: GET /v1/schemas lists them "
            f"({', '.join(CATALOG)})"
        )
    return schema


@functools.lru_cache(maxsize=256)
def _model_for(canonical: str) -> type[BaseModel]:
    """One pydantic class per distinct JSON Schema (bounded): engines key their compiled
    grammars by the schema's digest, and the same schema sent again costs nothing."""
    from docintel.pipeline.jsonschema import model_from_json_schema

    return model_from_json_schema(json.loads(canonical))


class _BodyLimit:
    """413 for bodies over ``limit`` bytes, declared or streamed, before anything parses them;
    408 for a body still arriving after ``seconds`` (a client trickling it holds a slot)."""

    def __init__(self, app: ASGIApp, limit: int, seconds: float) -> None:
        self.app, self.limit, self.seconds = app, limit, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = problem(
            413,
            "input-too-large",
            f"the request body is over {self.limit} bytes (DOCINTEL_MAX_UPLOAD_BYTES): "
            "send a smaller file or fewer pages",
        )
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await too_large(scope, receive, send)
            return
        seen = 0
        deadline = time.monotonic() + self.seconds
        complete = False

        async def limited() -> Message:
            nonlocal seen, complete
            if complete:  # the body is in: later receives wait for a disconnect, unbounded
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise _TooSlow from None
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await too_large(scope, receive, send)
        except _TooSlow:
            slow = problem(
                408,
                "body-timeout",
                f"the request body took over {self.seconds:g} s to arrive "
                "(DOCINTEL_BODY_TIMEOUT): send it faster or send a smaller file",
                headers={"Connection": "close"},
            )
            await slow(scope, receive, send)


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


def serve(app: FastAPI, settings: Settings, *, host: str, port: int, log_level: str) -> None:
    """Run ``app`` on uvicorn (see ``uvicorn_config``)."""
    import uvicorn

    uvicorn.Server(uvicorn_config(app, host=host, port=port, log_level=log_level)).run()


def uvicorn_config(app: FastAPI, **options: Any) -> Any:
    """uvicorn settings for ``app`` with the read deadlines uvicorn lacks: headers here, the
    body in ``_BodyLimit``. In production the service belongs behind a reverse proxy all the
    same: TLS, connection limits and per-client rates are the proxy's job."""
    import uvicorn

    settings: Settings = app.state.service.settings
    return uvicorn.Config(
        app, http=_header_deadline(settings.header_timeout), timeout_keep_alive=5, **options
    )


def _header_deadline(seconds: float) -> type:
    """uvicorn's h11 protocol, with a deadline on each request's headers: uvicorn has none,
    so a client sending one header byte at a time could hold a connection forever."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadline(H11Protocol):
        _timer: asyncio.TimerHandle | None = None
        _started: object = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not None and self.cycle is not self._started:
                self._started = self.cycle  # this request's headers are in
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request on this connection is on the clock again

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._timer = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expire(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline
