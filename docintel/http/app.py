"""The HTTP service: ``POST /v1/latex``, ``POST /v1/extract``, schemas, health and metrics.

``create_app()`` builds the FastAPI app; ``docintel serve`` runs it on uvicorn (``server.py``).
Work runs in a thread pool as large as the admission limit, so the event loop never waits on a
model or parses a body, and the engine sits behind a ``MicroBatcher``: requests that arrive
together share an engine batch (``service.py``). Requests over the admission limit get 429,
requests before the engine is loaded 503, both with ``Retry-After``. Every error is
``application/problem+json`` (``problems.py``); ``/v1`` needs an API key when the server has
keys (``auth.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from docintel import __version__
from docintel.engines import Engine
from docintel.http.auth import require_key
from docintel.http.inputs import load_document, page_indices, parse_input, receive_body, schema_for
from docintel.http.mathpix import router as mathpix_router
from docintel.http.models import (
    ExtractRequest,
    FormulaOut,
    LatexRequest,
    LatexResponse,
    SchemaInfo,
    body_schema,
)
from docintel.http.problems import (
    PROBLEM_RESPONSES,
    install_handlers,
    internal_error,
    problem,
    scrub,
)
from docintel.http.server import BodyLimit, serve, uvicorn_config
from docintel.http.service import Service
from docintel.result import ResultData
from docintel.settings import Settings, get_settings

__all__ = ["create_app", "serve", "uvicorn_config"]


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
        responses=PROBLEM_RESPONSES,
    )
    app.state.service = service
    install_handlers(app)
    app.include_router(mathpix_router)  # POST /v3/text, Mathpix-compatible
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes, seconds=settings.body_timeout)

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        start = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception as exc:
            response = internal_error(exc)
        # The route's template, never the raw path: unknown paths must not grow the series.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        service.requests.labels(route, str(response.status_code)).inc()
        service.latency.labels(route).observe(time.perf_counter() - start)
        return response

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_key)])

    @v1.post(
        "/latex",
        response_model=LatexResponse,
        openapi_extra=body_schema(LatexRequest, "A formula image, a page image or a PDF."),
        summary="Transcribe formulas to LaTeX",
    )
    async def latex(request: Request) -> LatexResponse:
        """A formula image gives one entry; a page or PDF page with formula regions gives one
        per region, with its box. Each says whether its LaTeX is valid (KaTeX's grammar)."""
        from docintel.pipeline.transcribe import transcribe

        received = await receive_body(request)
        start = time.perf_counter()

        def work(engine: Engine) -> list[Any]:
            source, options = parse_input(received, LatexRequest, settings)
            assert isinstance(options, LatexRequest)
            with load_document(source, options, settings) as doc:
                return transcribe(
                    doc,
                    engine=engine,
                    pages=page_indices(options, len(doc)),
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

    @v1.post(
        "/extract",
        response_model=ResultData,
        response_model_by_alias=True,
        openapi_extra=body_schema(ExtractRequest, "The document: PDF or image."),
        summary="Extract a schema from a document",
    )
    async def extract_endpoint(request: Request) -> Any:
        """Extract a catalog schema (``schema``) or a JSON Schema (``json_schema``). The
        result carries provenance per field and every attempt; ``ok`` is false when no
        attempt validated (the last candidate and the errors are in the body)."""
        from docintel.pipeline.extract import extract

        received = await receive_body(request)

        def work(engine: Engine) -> Any:
            source, options = parse_input(received, ExtractRequest, settings)
            assert isinstance(options, ExtractRequest)
            schema = schema_for(options)
            with load_document(source, options, settings) as doc:
                return extract(
                    doc,
                    schema,
                    engine=engine,
                    pages=page_indices(options, len(doc)),
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

    @v1.get("/schemas", response_model=list[SchemaInfo], summary="The schema catalog")
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

    app.include_router(v1)

    @app.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="The engine is loaded", responses={503: PROBLEM_RESPONSES[503]})
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
