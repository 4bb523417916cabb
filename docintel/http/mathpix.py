"""A Mathpix-compatible ``POST /v3/text``: tools built for Mathpix's API (its ``mpxpy`` client,
scripts that post to ``https://api.mathpix.com/v3/text``) work against docintel by changing the
base URL only.

The subset: an image as ``src`` (a ``data:`` URL, or an http(s) URL when the server allows URLs,
fetched under docintel's guard) in a JSON body, or as a multipart upload (``file`` plus
``options_json``); ``formats`` ``text``, ``latex_styled`` and ``data`` (``data_options``
``include_latex``, ``include_mathml``); ``math_inline_delimiters``, ``math_display_delimiters``,
``rm_spaces``, ``confidence_threshold``. Keys go in the ``app_key`` header (``app_id`` is
accepted and not checked), against docintel's API keys. Answers carry ``request_id``,
``image_width``, ``image_height``, ``confidence``, ``confidence_rate`` and the formats asked
for; failures ``error`` and ``error_info`` ``{id, message}`` with Mathpix's ids and statuses:
200 for everything but a wrong key (401) and a full queue (429).

The work is ``docintel.pipeline.transcribe`` run through the service's admission, cancellation and
micro-batching (``Service.run``), as ``POST /v1/latex`` does.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from docintel import __version__
from docintel.errors import (
    BlockedURL,
    DocintelError,
    EngineUnavailable,
    FetchError,
    InputError,
    InputTooLarge,
    OutOfMemory,
)
from docintel.http.auth import given_key, matches
from docintel.ingest.load import decode_text, sniff
from docintel.settings import Settings

router = APIRouter(tags=["Mathpix-compatible"])

FORMATS = ("text", "latex_styled", "data")  # what /v3/text answers here
DATA_OPTIONS = ("include_latex", "include_mathml")
# Options that would change the answer and that docintel does not implement: refused, not ignored.
REFUSED = ("async", "callback", "region")
_INLINE = ("\\(", "\\)")
_DISPLAY = ("\\[", "\\]")


class TextRequest(BaseModel):
    """Mathpix's ``/v3/text`` request, the part docintel reads (other options are ignored)."""

    model_config = ConfigDict(extra="allow")
    src: str | None = Field(None, description="data: URL of the image, or an http(s) URL.")
    formats: list[str] = Field(["text"], description=f"Any of {', '.join(FORMATS)}.")
    data_options: dict[str, bool] = Field({}, description="include_latex, include_mathml.")
    math_inline_delimiters: tuple[str, str] = _INLINE
    math_display_delimiters: tuple[str, str] = _DISPLAY
    rm_spaces: bool = Field(True, description="Remove whitespace LaTeX does not need.")
    confidence_threshold: float | None = Field(None, ge=0, le=1)


class ErrorInfo(BaseModel):
    id: str
    message: str


class TextResponse(BaseModel):
    """Mathpix's answer; ``error`` and ``error_info`` instead of the formats on failure."""

    request_id: str
    version: str | None = None
    image_width: int | None = None
    image_height: int | None = None
    confidence: float | None = None
    confidence_rate: float | None = None
    text: str | None = None
    latex_styled: str | None = None
    data: list[dict[str, str]] | None = None
    error: str | None = None
    error_info: ErrorInfo | None = None


class _Refused(Exception):
    """The request cannot be served: a Mathpix error id, its message, an HTTP status."""

    def __init__(self, id_: str, message: str, status: int = 200, **headers: str) -> None:
        super().__init__(message)
        self.id, self.message, self.status, self.headers = id_, message, status, headers


_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": TextRequest.model_json_schema()},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "options_json": {"type": "string", "description": "The options as JSON."},
                },
            }
        },
    },
}
_HEADERS = [
    {
        "name": "app_key",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "One of the server's API keys (DOCINTEL_API_KEYS); none needed without.",
    },
    {"name": "app_id", "in": "header", "required": False, "schema": {"type": "string"}},
]


_MATHPIX_ERROR = {"content": {"application/json": {"schema": TextResponse.model_json_schema()}}}


@router.post(
    "/v3/text",
    response_model=TextResponse,
    response_model_exclude_none=True,
    summary="Formula image to LaTeX, Mathpix-compatible",
    openapi_extra={"requestBody": _BODY, "parameters": _HEADERS},
    responses={
        401: {"description": "http_unauthorized: a wrong or missing app_key", **_MATHPIX_ERROR},
        429: {"description": "http_max_requests: the queue is full", **_MATHPIX_ERROR},
    },
)
async def v3_text(request: Request) -> JSONResponse:
    """Mathpix's ``POST /v3/text`` for formula images (see the module docstring for the
    subset). Errors follow Mathpix: ``error``/``error_info`` in a 200 answer, except 401
    (``http_unauthorized``) and 429 (``http_max_requests``)."""
    service = request.app.state.service
    settings: Settings = service.settings
    request_id = f"{time.strftime('%Y_%m_%d')}_{uuid.uuid4().hex[:20]}"
    try:
        if not _authorized(request, service):
            raise _Refused("http_unauthorized", "Invalid credentials", 401)
        data, options = await _read(request)

        def work(engine: Any) -> dict[str, Any]:
            try:
                return _answer(engine, data, options, settings, service)
            except DocintelError as exc:
                raise _refusal(exc) from None

        body = await service.run(work, request)
    except _Refused as exc:
        body = {"error": exc.message, "error_info": {"id": exc.id, "message": exc.message}}
        return JSONResponse({"request_id": request_id, **body}, exc.status, headers=exc.headers)
    except Exception as exc:
        body, status, headers = _service_refusal(exc)
        return JSONResponse({"request_id": request_id, **body}, status, headers=headers)
    return JSONResponse({"request_id": request_id, **body})


def _authorized(request: Request, service: Any) -> bool:
    """The ``app_key`` header (Mathpix's), or docintel's own (``Authorization: Bearer``,
    ``X-API-Key``), against the API keys."""
    keys = service.settings.api_keys
    return matches(given_key(request), keys) or matches(request.headers.get("app_key"), keys)


# ---- reading the request ----------------------------------------------------------------------


async def _read(request: Request) -> tuple[bytes | str, TextRequest]:
    """The image (bytes, or a URL to fetch in the worker) and the options."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=20)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise _Refused("image_missing", "Missing file in multipart request body")
        raw = form.get("options_json")
        options = _options(raw if isinstance(raw, str) else "{}")
        if options.src:
            raise _Refused("json_syntax", "Give the image as 'file' or as 'src', not both")
        return await upload.read(), options
    if ctype not in ("application/json", ""):
        raise _Refused(
            "json_syntax",
            f"Send application/json (with 'src') or multipart/form-data ('file' and "
            f"'options_json'), not {ctype}",
        )
    options = _options(await request.body())
    if not options.src:
        raise _Refused("image_missing", "Missing URL in request body ('src')")
    src = options.src.strip()
    if src[:8].lower().startswith(("http://", "https://")):
        return src, options
    if src[:5].lower() != "data:":
        raise _Refused("image_decode_error", "'src' must be a data: URL or an http(s) URL")
    try:
        return decode_text(src), options
    except InputError as exc:
        raise _Refused("image_decode_error", f"Cannot decode image data: {exc}") from None


def _options(raw: str | bytes) -> TextRequest:
    from pydantic import ValidationError

    try:
        found = json.loads(raw or "{}")
    except (ValueError, RecursionError) as exc:
        raise _Refused("json_syntax", f"JSON syntax error: {exc}") from None
    if not isinstance(found, dict):
        raise _Refused("json_syntax", "JSON syntax error: the body must be an object")
    if found.get("formats") == []:
        found.pop("formats")  # Mathpix: an empty list means text
    try:
        options = TextRequest.model_validate(found)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        kind = "opts_number_required" if "number" in first["msg"] else "opts_value_out_of_range"
        raise _Refused(kind, f"Invalid value for {where}: {first['msg']}") from None
    unknown = [f for f in options.formats if f not in FORMATS]
    if unknown:
        raise _Refused(
            "opts_unknown_format",
            f"Unsupported format(s) {', '.join(map(repr, unknown))}: this server (docintel) "
            f"answers {', '.join(FORMATS)}",
        )
    asked = [k for k, v in options.data_options.items() if v and k not in DATA_OPTIONS]
    if asked:
        raise _Refused(
            "opts_unknown_format",
            f"Unsupported data_options {', '.join(asked)}: this server (docintel) gives "
            f"{', '.join(DATA_OPTIONS)}",
        )
    refused = [k for k in REFUSED if (options.model_extra or {}).get(k)]
    if refused:
        raise _Refused(
            "opts_unsupported",
            f"{', '.join(refused)} is not supported by this server (docintel): send the "
            "request without it (synchronous, the whole image)",
        )
    return options


# ---- the work (in the service's pool) ---------------------------------------------------------


def _answer(
    engine: Any, data: bytes | str, options: TextRequest, settings: Settings, service: Any
) -> dict[str, Any]:
    from PIL import Image

    from docintel.ingest.load import load
    from docintel.pipeline.transcribe import transcribe

    if isinstance(data, str):
        if not settings.allow_urls:
            raise _Refused(
                "image_download_error",
                "This server does not fetch URLs (DOCINTEL_ALLOW_URLS): send the image as a "
                "data: URL or a multipart upload",
            )
        from docintel.ingest.fetch import fetch

        data, _ = fetch(data, settings)
    kind = sniff(data)
    if kind is None or kind.is_pdf:
        what = "a PDF (POST /v1/latex reads PDFs)" if kind else "not an image docintel reads"
        raise _Refused("image_decode_error", f"Cannot decode image data: {what}")
    with load(data, settings=settings) as doc:
        with Image.open(io.BytesIO(data)) as header:  # reads the header only
            width, height = header.size
        mathml = options.data_options.get("include_mathml", False) and "data" in options.formats
        found = transcribe(doc, engine=engine, pages=[0], mathml=mathml, settings=settings)
    for t in found:
        service.count(t.prompt_tokens, t.completion_tokens, t.attempts)
    usable = [t for t in found if t.latex]
    if not usable:  # no attempt gave LaTeX that parsed: say what went wrong with the last
        why = "; ".join(e for t in found for e in t.errors[:1]) or "no answer"
        raise _Refused("math_syntax", f"Unrecognized math: {why}")
    confidence = min(t.confidence for t in usable)
    if options.confidence_threshold is not None and confidence < options.confidence_threshold:
        raise _Refused(
            "math_confidence",
            f"Low confidence: {confidence:.3f} is under confidence_threshold "
            f"{options.confidence_threshold:g}",
        )
    latex = [_spaces(t.latex or "", options.rm_spaces) for t in usable]
    out: dict[str, Any] = {
        "version": f"docintel-{__version__}",
        "image_width": width,
        "image_height": height,
        "confidence": confidence,
        "confidence_rate": confidence,
    }
    if "text" in options.formats:
        out["text"] = "\n".join(
            _delimited(s, options, bool(t.display) and t.box is not None)
            for s, t in zip(latex, usable, strict=True)
        )
    if "latex_styled" in options.formats:
        out["latex_styled"] = (
            latex[0]
            if len(latex) == 1
            else "\\begin{gathered}\n" + " \\\\\n".join(latex) + "\n\\end{gathered}"
        )
    if "data" in options.formats:
        out["data"] = []
        for s, t in zip(latex, usable, strict=True):
            if options.data_options.get("include_latex"):
                out["data"].append({"type": "latex", "value": s})
            if mathml and t.mathml:
                out["data"].append({"type": "mathml", "value": t.mathml})
    return out


def _delimited(latex: str, options: TextRequest, display: bool) -> str:
    """Mathpix Markdown for one formula. Mathpix puts a lone formula inline unless told
    otherwise; here a formula the page's layout shows standing alone is displayed."""
    left, right = options.math_display_delimiters if display else options.math_inline_delimiters
    pad = " " if left in (_INLINE[0], _DISPLAY[0]) else ""  # "\( x \)", as Mathpix writes it
    return f"{left}{pad}{latex}{pad}{right}"


def _spaces(latex: str, remove: bool) -> str:
    """``rm_spaces``: runs of whitespace become one space (TeX reads them so anyway)."""
    return " ".join(latex.split()) if remove else latex.strip()


# ---- errors -----------------------------------------------------------------------------------


def _refusal(exc: DocintelError) -> _Refused:
    """Mathpix's error id for a docintel error raised by the work."""
    message = str(exc)
    if isinstance(exc, InputTooLarge):
        return _Refused("image_max_size", f"Image is too large to process: {message}")
    if isinstance(exc, BlockedURL | FetchError):
        return _Refused("image_download_error", f"Error downloading image: {message}")
    if isinstance(exc, InputError):
        return _Refused("image_decode_error", f"Cannot decode image data: {message}")
    if isinstance(exc, EngineUnavailable | OutOfMemory):
        return _Refused("sys_exception", f"Server error: {message}", **{"Retry-After": "30"})
    return _Refused("sys_exception", f"Server error: {message}")


def _service_refusal(exc: Exception) -> tuple[dict[str, Any], int, dict[str, str]]:
    """What the service's own refusals (queue full, engine not ready, timeout) become."""
    status = getattr(exc, "status", None)
    headers = dict(getattr(exc, "headers", None) or {})
    detail = str(getattr(exc, "detail", "") or "an internal error; see the server log")
    if status == 429:
        id_, message = "http_max_requests", f"Too many requests: {detail}"
    else:
        if status is None:
            import logging

            logging.getLogger("docintel.http.app").error("unhandled error", exc_info=exc)
        id_, message, status = "sys_exception", f"Server error: {detail}", 200
    return {"error": message, "error_info": {"id": id_, "message": message}}, status, headers
