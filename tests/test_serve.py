"""The HTTP service against a real uvicorn on 127.0.0.1: each endpoint, each limit, each error.

Every test talks to a real server over real sockets with a real httpx client. The endpoints are
exercised on the tiny random-weight Pixtral behind the transformers engine (loaded once for the
module, its server shared); limits, errors, auth and admission, which are about the service and
not the model, run against ``InstantEngine``. Random weights under the grammar give
schema-valid JSON, but rarely valid LaTeX, and the token budget here is kept tiny so the module
stays fast: the model tests assert shapes, types and that tokens were spent, not the answers.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import image_bytes, send_bytes

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers reads it: nothing downloads

from docintel.engines.base import GenerationOutput, GenerationRequest
from docintel.http.app import create_app
from docintel.settings import get_settings
from docintel.testing.engines import InstantEngine
from docintel.testing.server import running

FORMULA = '{"latex": "x^2 + y^2 = z^2", "display": true}'
PROBLEM = "application/problem+json"
FORMULA_KEYS = {
    "latex", "display", "valid", "errors", "confidence", "page", "box", "attempts",
    "prompt_tokens", "completion_tokens", "seconds", "mathml",
}  # fmt: skip
EXTRACT_KEYS = {
    "schema", "ok", "value", "partial", "missing", "errors", "engine", "model", "document",
    "source", "pages", "confidence", "prompt_tokens", "completion_tokens", "timings",
    "provenance", "attempts",
}  # fmt: skip
ATTEMPT_KEYS = {
    "number", "text", "finish_reason", "errors", "prompt_tokens", "completion_tokens",
    "seconds", "max_tokens", "temperature", "part",
}  # fmt: skip


# ---- a real server ------------------------------------------------------------------------


def client(base: str, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=120, trust_env=False, **kwargs)


ServeFactory = Callable[..., str]


@pytest.fixture
def serve() -> Iterator[ServeFactory]:
    """Start servers: ``serve(engine, ready=True, **settings)`` gives a base URL."""
    with ExitStack() as stack:

        def start(engine: Any = None, /, *, ready: bool = True, **settings: Any) -> str:
            app = create_app(get_settings(**settings), engine)
            return stack.enter_context(running(app, ready=ready))

        yield start


# Limits small enough to hit with small inputs; the inputs the tests want accepted fit.
LIMITS = dict(max_upload_bytes=200_000, max_pixels=1_000_000, max_pages=1)


@pytest.fixture(scope="module")
def instant() -> Iterator[str]:
    """A server on InstantEngine (answers a valid formula) with small limits, no API keys."""
    app = create_app(get_settings(api_keys=[], allow_urls=False, **LIMITS), InstantEngine(FORMULA))
    with running(app) as base:
        yield base


@pytest.fixture(scope="module")
def tiny_model() -> Path:
    pytest.importorskip("transformers")
    pytest.importorskip("outlines")
    from docintel.testing import tiny_pixtral

    return tiny_pixtral.build(tiny_pixtral.default_path())


@pytest.fixture(scope="module")
def tiny(tiny_model: Path) -> Iterator[str]:
    """One server for the module on the tiny Pixtral (the model loads once, before serving).

    16 tokens then 32: random weights rarely close a LaTeX string that soon, so formulas come
    back truncated (and retried, which moves the retry counter); a tight JSON schema fits.

    Torch gets one thread: on a busy two-core machine, two OpenMP threads spinning against
    other processes made the formulas PDF 4-8x slower than one thread does.
    """
    import torch

    from docintel.engines.transformers import TransformersEngine

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    engine = TransformersEngine(tiny_model, seed=0)
    engine.load()
    settings = get_settings(
        api_keys=[],
        max_tokens=16,
        max_tokens_cap=32,
        max_attempts=2,
        target_longest_side=256,
        batch_window_ms=10,
    )
    try:
        with running(create_app(settings, engine)) as base:
            yield base
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def formula_png() -> bytes:
    """A formula-like image: one line of math, black on white."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (360, 80), "white")
    draw = ImageDraw.Draw(image)
    try:
        font: Any = ImageFont.load_default(size=32)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    draw.text((16, 20), "x² + y² = z²", fill="black", font=font)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def assert_problem(
    r: httpx.Response, status: int, slug: str | None = None, *detail_has: str
) -> dict[str, Any]:
    """``r`` is an RFC 9457 problem with ``status``; its detail names ``detail_has``."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].split(";")[0] == PROBLEM, r.headers
    body = r.json()
    assert body["status"] == status
    assert body["title"] and isinstance(body["title"], str)
    assert body["type"].startswith("urn:docintel:problem:")
    if slug is not None:
        assert body["type"] == f"urn:docintel:problem:{slug}", body
    assert isinstance(body["detail"], str) and len(body["detail"]) > 10, body
    for needle in detail_has:
        assert needle.lower() in body["detail"].lower(), body["detail"]
    assert "Traceback" not in r.text
    return body


def metric(text: str, name: str, **labels: str) -> float:
    """The value of the sample ``name`` with ``labels`` (summed over other labels; 0 if none)."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def check_formula(f: dict[str, Any]) -> None:
    """One transcription, as the API documents it."""
    assert set(f) == FORMULA_KEYS, f
    assert f["latex"] is None or isinstance(f["latex"], str)
    assert f["display"] is None or isinstance(f["display"], bool)
    assert isinstance(f["valid"], bool)
    assert isinstance(f["errors"], list) and all(isinstance(e, str) for e in f["errors"])
    assert 0.0 <= f["confidence"] <= 1.0
    assert f["attempts"] >= 1
    assert f["prompt_tokens"] > 0 and f["completion_tokens"] > 0
    assert f["seconds"] >= 0
    if f["valid"]:
        assert f["latex"] and not f["errors"]
    else:
        assert f["errors"] and f["confidence"] == 0.0 and f["mathml"] is None


# ---- endpoints on the tiny Pixtral ------------------------------------------------------------


def test_latex_multipart_base64_and_data_url_agree(tiny: str, tiny_model: Path, formula_png):
    answers = []
    with client(tiny) as c:
        r = c.post("/v1/latex", files={"file": ("f.png", formula_png, "image/png")})
        answers.append(r)
        r = c.post("/v1/latex", json={"document": b64(formula_png)})
        answers.append(r)
        data_url = f"data:image/png;base64,{b64(formula_png)}"
        r = c.post("/v1/latex", json={"document": data_url, "mathml": True})
        answers.append(r)
    for r in answers:
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        assert set(body) == {"formulas", "engine", "model", "seconds"}
        assert body["engine"] == "transformers" and body["model"] == str(tiny_model)
        assert body["seconds"] > 0
        (f,) = body["formulas"]  # a cropped formula image is one formula, the whole page
        check_formula(f)
        assert f["page"] == 0 and f["box"] is None
    # The same pixels however they were sent, and a seeded model: the same transcription.
    varying = {"seconds", "mathml"}  # mathml was asked for once only
    same = [{k: v for k, v in r.json()["formulas"][0].items() if k not in varying} for r in answers]
    assert same[0] == same[1] == same[2]


def test_latex_pdf_page_gives_one_entry_per_formula_region(tiny: str, fixtures: Path) -> None:
    import docintel
    from docintel.document import RegionKind

    page = docintel.load(fixtures / "formulas.pdf")[0]
    regions = page.regions_of(RegionKind.FORMULA)
    assert len(regions) > 1
    with client(tiny) as c:
        r = c.post(
            "/v1/latex",
            files={"file": ("formulas.pdf", (fixtures / "formulas.pdf").read_bytes())},
            data={"pages": "[0]"},
        )
    assert r.status_code == 200, r.text
    formulas = r.json()["formulas"]
    assert len(formulas) == len(regions)
    boxes = []
    for f in formulas:
        check_formula(f)
        assert f["page"] == 0
        x0, y0, x1, y1 = f["box"]
        assert 0 <= x0 < x1 <= page.width and 0 <= y0 < y1 <= page.height, f["box"]
        boxes.append(tuple(f["box"]))
    assert len(set(boxes)) == len(boxes)  # one entry per region, no region twice


def test_extract_catalog_schema_on_tiny_pixtral(tiny: str, formula_png: bytes) -> None:
    from docintel.schemas import ImageCaption

    with client(tiny) as c:
        r = c.post(
            "/v1/extract",
            files={"file": ("f.png", formula_png, "image/png")},
            data={"schema": "image_caption"},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == EXTRACT_KEYS, body.keys()
    assert body["schema"] == "ImageCaption"
    assert body["engine"] == "transformers" and body["pages"] == [0]
    assert isinstance(body["ok"], bool) and isinstance(body["errors"], list)
    assert body["prompt_tokens"] > 0 and body["completion_tokens"] > 0
    assert body["attempts"] and all(set(a) == ATTEMPT_KEYS for a in body["attempts"])
    assert body["attempts"][0]["number"] == 1 and body["attempts"][0]["max_tokens"] == 16
    if body["ok"]:
        ImageCaption.model_validate(body["value"])
        assert not body["errors"]
    else:
        assert body["errors"]


def test_extract_json_schema_on_tiny_pixtral(tiny: str, formula_png: bytes) -> None:
    pytest.importorskip("docintel.pipeline.jsonschema")
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 0, "maximum": 9},
            "paid": {"type": "boolean"},
        },
        "required": ["n", "paid"],
    }
    with client(tiny) as c:
        r = c.post("/v1/extract", json={"document": b64(formula_png), "json_schema": schema})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == EXTRACT_KEYS
    # A few tokens of grammar-constrained JSON fit the budget: it validates.
    assert body["ok"] is True, body
    value = body["value"]
    assert set(value) == {"n", "paid"}
    assert isinstance(value["n"], int) and 0 <= value["n"] <= 9
    assert isinstance(value["paid"], bool)
    assert body["completion_tokens"] > 0 and body["attempts"][0]["finish_reason"] == "stop"


def test_schemas_health_and_ready(tiny: str, tiny_model: Path) -> None:
    from docintel.schemas import CATALOG

    with client(tiny) as c:
        schemas = c.get("/v1/schemas")
        health = c.get("/healthz")
        ready = c.get("/readyz")
    assert schemas.status_code == 200
    listed = schemas.json()
    assert [s["name"] for s in listed] == list(CATALOG)
    for s in listed:
        assert set(s) == {"name", "title", "description", "json_schema"}
        assert s["title"] == CATALOG[s["name"]].__name__ and s["description"]
        assert s["json_schema"]["type"] == "object" and s["json_schema"]["properties"]
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "engine": "transformers", "model": str(tiny_model)}


def test_metrics_move_with_a_request(tiny: str, formula_png: bytes) -> None:
    with client(tiny) as c:
        before = c.get("/metrics")
        r = c.post("/v1/latex", files={"file": ("f.png", formula_png, "image/png")})
        after = c.get("/metrics").text
    assert before.status_code == 200 and before.headers["content-type"].startswith("text/plain")
    assert r.status_code == 200
    (f,) = r.json()["formulas"]
    old = before.text
    for name in (
        "docintel_requests_total",
        "docintel_tokens_total",
        "docintel_queue_depth",
        "docintel_retries_total",
        "docintel_batch_size_count",
        "docintel_request_seconds_count",
    ):
        assert name in after, name

    def moved(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(old, name, **labels)

    assert moved("docintel_requests_total", route="/v1/latex", status="200") == 1
    assert moved("docintel_request_seconds_count", route="/v1/latex") == 1
    assert moved("docintel_tokens_total", kind="prompt") == f["prompt_tokens"] > 0
    assert moved("docintel_tokens_total", kind="completion") == f["completion_tokens"] > 0
    assert moved("docintel_retries_total") == f["attempts"] - 1
    assert moved("docintel_batch_size_count") == f["attempts"]  # one engine batch per attempt
    assert moved("docintel_batch_size_sum") == f["attempts"]
    assert metric(after, "docintel_queue_depth") == 0  # nothing in flight now
    # The GET /metrics before this one was counted under its route, not its raw path.
    assert metric(after, "docintel_requests_total", route="/metrics", status="200") >= 1


# ---- limits -----------------------------------------------------------------------------------


def test_body_over_limit_with_content_length(instant: str) -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * 300_000
    with client(instant) as c:
        r = c.post("/v1/latex", files={"file": ("big.png", big, "image/png")})
        assert_problem(r, 413, "input-too-large", "200000 bytes", "DOCINTEL_MAX_UPLOAD_BYTES")
        r = c.post("/v1/latex", json={"document": b64(big)})
        assert_problem(r, 413, "input-too-large")


def _chunks(data: bytes, size: int = 16_384) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_body_over_limit_streamed_without_length(instant: str, formula_png: bytes) -> None:
    big_json = json.dumps({"document": "A" * 400_000}).encode()
    boundary = "docintel-test-boundary"
    big_multipart = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + b"\0" * 400_000
        + f"\r\n--{boundary}--\r\n".encode()
    )
    small_json = json.dumps({"document": b64(formula_png)}).encode()
    with client(instant) as c:
        for body, ctype in [
            (big_json, "application/json"),
            (big_multipart, f"multipart/form-data; boundary={boundary}"),
        ]:
            request = c.build_request(
                "POST", "/v1/latex", content=_chunks(body), headers={"content-type": ctype}
            )
            assert "content-length" not in request.headers
            assert request.headers["transfer-encoding"] == "chunked"
            assert_problem(c.send(request), 413, "input-too-large", "over 200000 bytes")
        # Streamed and under the limit: counted, not refused.
        request = c.build_request(
            "POST",
            "/v1/latex",
            content=_chunks(small_json, 1000),
            headers={"content-type": "application/json"},
        )
        assert "content-length" not in request.headers
        r = c.send(request)
        assert r.status_code == 200, r.text
        assert r.json()["formulas"][0]["latex"] == "x^2 + y^2 = z^2"


def test_image_over_max_pixels(instant: str) -> None:
    huge = image_bytes("PNG", size=(1200, 1000))  # 1.2 MP, well under the upload limit
    assert len(huge) < LIMITS["max_upload_bytes"]
    with client(instant) as c:
        r = c.post("/v1/latex", files={"file": ("huge.png", huge, "image/png")})
    assert_problem(r, 413, "input-too-large", "max_pixels")


def test_pdf_over_max_pages(instant: str) -> None:
    import pymupdf

    pdf = pymupdf.open()
    for i in range(2):
        pdf.new_page().insert_text((72, 72), f"page {i}: E = mc^2")
    with client(instant) as c:
        r = c.post("/v1/latex", json={"document": b64(pdf.tobytes())})
    assert_problem(r, 413, "input-too-large", "max_pages", "DOCINTEL_MAX_PAGES")


# ---- input errors -----------------------------------------------------------------------------


def test_corrupt_pdf(instant: str) -> None:
    corrupt = b"%PDF-1.7\n" + bytes(range(256)) * 20
    with client(instant) as c:
        r = c.post("/v1/latex", files={"file": ("bad.pdf", corrupt, "application/pdf")})
    assert_problem(r, 422, "corrupt-document")


def test_empty_file(instant: str) -> None:
    with client(instant) as c:
        r = c.post("/v1/latex", files={"file": ("empty.png", b"", "image/png")})
        assert_problem(r, 422, "empty-document", "empty")
        r = c.post("/v1/extract", json={"document": "", "schema": "formula"})
        assert_problem(r, 422, "empty-document", "empty")


def test_encrypted_pdf_needs_its_password(instant: str, fixtures: Path) -> None:
    pdf = (fixtures / "encrypted.pdf").read_bytes()
    with client(instant) as c:
        r = c.post("/v1/latex", files={"file": ("enc.pdf", pdf, "application/pdf")})
        assert_problem(r, 422, "encrypted-document", "password")
        r = c.post("/v1/latex", json={"document": b64(pdf), "password": "wrong"})
        assert_problem(r, 422, "encrypted-document", "password")
        r = c.post(
            "/v1/latex",
            files={"file": ("enc.pdf", pdf, "application/pdf")},
            data={"password": "secret"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["formulas"] and r.json()["formulas"][0]["valid"] is True
        r = c.post("/v1/latex", json={"document": b64(pdf), "password": "secret"})
        assert r.status_code == 200, r.text


def test_unknown_schema_and_schema_choice(instant: str, formula_png: bytes) -> None:
    doc = b64(formula_png)
    with client(instant) as c:
        r = c.post("/v1/extract", json={"document": doc, "schema": "horoscope"})
        assert_problem(r, 422, "schema-not-found", "horoscope", "/v1/schemas", "invoice")
        r = c.post("/v1/extract", json={"document": doc})
        assert_problem(r, 422, "no-schema", "'schema'", "'json_schema'")
        r = c.post(
            "/v1/extract",
            json={"document": doc, "schema": "formula", "json_schema": {"type": "object"}},
        )
        assert_problem(r, 422, "no-schema")
        if importlib.util.find_spec("docintel.pipeline.jsonschema"):
            r = c.post(
                "/v1/extract", json={"document": doc, "json_schema": {"type": "object", "if": {}}}
            )
            assert_problem(r, 422, "invalid-json-schema")
        # A catalog schema by name, in any case, reaches the engine.
        r = c.post(
            "/v1/extract",
            files={"file": ("f.png", formula_png, "image/png")},
            data={"schema": "Formula"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["ok"] is True and r.json()["value"]["latex"] == "x^2 + y^2 = z^2"


def test_document_and_url_exactly_one(instant: str, formula_png: bytes) -> None:
    with client(instant) as c:
        r = c.post("/v1/latex", json={"document": b64(formula_png), "url": "https://x.test/a"})
        assert_problem(r, 422, "no-document", "exactly one")
        r = c.post("/v1/latex", json={"mathml": True})
        assert_problem(r, 422, "no-document", "exactly one")
        r = c.post("/v1/latex", files={"other": ("f.png", formula_png)})
        assert_problem(r, 422, "no-document", "'file'")


def test_invalid_base64(instant: str) -> None:
    with client(instant) as c:
        r = c.post("/v1/latex", json={"document": "this is *not* base64!"})
        assert_problem(r, 422, "invalid-base64", "base64")
        r = c.post("/v1/latex", json={"document": "data:image/png;base64,@@@@"})
        assert_problem(r, 422, "invalid-base64", "base64")


def test_unsupported_content_type(instant: str) -> None:
    with client(instant) as c:
        r = c.post("/v1/latex", content=b"hello", headers={"content-type": "text/plain"})
        assert_problem(r, 415, "unsupported-media-type", "text/plain", "multipart/form-data")
        r = c.post("/v1/latex", content=b"hello")  # no content type at all
        assert_problem(r, 415, "unsupported-media-type")
        # A well-formed upload of a file that is no document kind docintel reads.
        r = c.post("/v1/latex", files={"file": ("notes.txt", b"just some text", "text/plain")})
        assert_problem(r, 415, "unsupported-input", "PDF")


def test_invalid_json(instant: str) -> None:
    json_headers = {"content-type": "application/json"}
    with client(instant) as c:
        r = c.post("/v1/latex", content=b'{"document": ', headers=json_headers)
        assert_problem(r, 400, "invalid-json", "must be JSON")
        r = c.post("/v1/latex", content=b"\xff\xfe\xfa not utf-8", headers=json_headers)
        assert_problem(r, 400, "invalid-json")
        r = c.post("/v1/latex", content=b"[" * 100_000, headers=json_headers)
        assert_problem(r, 400, "invalid-json")
        # JSON, but not the request's shape: per-field errors.
        r = c.post("/v1/latex", json={"document": "AAAA", "pages": ["first"], "colour": 1})
        body = assert_problem(r, 422, "invalid-request", "pages")
        assert {tuple(e["loc"]) for e in body["errors"]} >= {("pages", 0), ("colour",)}
        r = c.post("/v1/latex", json=["not", "an", "object"])
        assert_problem(r, 422, "invalid-request")


def test_page_out_of_range(instant: str, fixtures: Path) -> None:
    pdf = (fixtures / "formulas.pdf").read_bytes()
    with client(instant) as c:
        r = c.post("/v1/latex", json={"document": b64(pdf), "pages": [0, 3]})
        assert_problem(r, 422, "page-out-of-range", "[3]", "has 1")
        r = c.post("/v1/latex", files={"file": ("f.pdf", pdf)}, data={"pages": "[-1]"})
        assert_problem(r, 422, "page-out-of-range", "[-1]")
        r = c.post("/v1/latex", files={"file": ("f.pdf", pdf)}, data={"pages": "first"})
        assert_problem(r, 422, "invalid-field", "'pages'")


# ---- URLs -------------------------------------------------------------------------------------


def test_urls_refused_when_disabled(instant: str) -> None:
    with client(instant) as c:
        r = c.post("/v1/latex", json={"url": "https://example.com/formula.png"})
    assert_problem(r, 400, "urls-disabled", "DOCINTEL_ALLOW_URLS")


def test_private_urls_blocked_unless_allowed(serve, http_server, formula_png) -> None:
    origin = http_server({"/f.png": send_bytes(formula_png, "image/png")})
    url = f"{origin}/f.png"
    guarded = serve(InstantEngine(FORMULA), allow_urls=True, allow_private_urls=False)
    with client(guarded) as c:
        r = c.post("/v1/latex", json={"url": url})
        assert_problem(r, 400, "blocked-url", "127.0.0.1", "non-public")
    trusting = serve(InstantEngine(FORMULA), allow_urls=True, allow_private_urls=True)
    with client(trusting) as c:
        r = c.post("/v1/latex", json={"url": url})
        assert r.status_code == 200, r.text
        assert r.json()["formulas"][0]["latex"] == "x^2 + y^2 = z^2"
        r = c.post("/v1/latex", json={"url": f"{origin}/missing.png"})
        assert_problem(r, 502, "fetch-error", "404")


def test_url_field_never_reads_server_files(serve, fixtures: Path) -> None:
    # 'url' is for http(s) only: a path or a file: URL must not load the server's own files.
    base = serve(InstantEngine(FORMULA), allow_urls=True, allow_private_urls=True)
    with client(base) as c:
        for url in (str(fixtures / "formulas.pdf"), "/etc/passwd", "file:///etc/passwd"):
            r = c.post("/v1/latex", json={"url": url})
            body = assert_problem(r, 400, None, "http")
            assert "root:" not in body["detail"]


# ---- API keys -----------------------------------------------------------------------------


def test_no_api_keys_configured_means_open(instant: str, formula_png: bytes) -> None:
    with client(instant) as c:
        assert c.get("/v1/schemas").status_code == 200
        r = c.post("/v1/latex", files={"file": ("f.png", formula_png)})
        assert r.status_code == 200


def test_api_keys(serve, formula_png: bytes) -> None:
    base = serve(InstantEngine(FORMULA), api_keys="key-one, key-two")
    upload = {"file": ("f.png", formula_png, "image/png")}
    with client(base) as c:
        for headers in (
            {},
            {"Authorization": "Bearer nope"},
            {"X-API-Key": "key-one-but-longer"},
            {"Authorization": "Basic a2V5LW9uZQ=="},
        ):
            r = c.post("/v1/latex", files=upload, headers=headers)
            assert_problem(r, 401, "unauthorized", "API key", "Authorization: Bearer")
            assert r.headers["www-authenticate"].startswith("Bearer")
        assert_problem(c.get("/v1/schemas"), 401, "unauthorized")
        r = c.post("/v1/latex", files=upload, headers={"Authorization": "Bearer key-one"})
        assert r.status_code == 200, r.text
        r = c.post("/v1/latex", files=upload, headers={"X-API-Key": "key-two"})
        assert r.status_code == 200, r.text
        assert c.get("/v1/schemas", headers={"x-api-key": "key-one"}).status_code == 200
        # Probes and metrics stay open.
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 200
        metrics = c.get("/metrics")
        assert metrics.status_code == 200
        assert metric(metrics.text, "docintel_requests_total", status="401") == 5


# ---- admission, readiness, timeouts ----------------------------------------------------------


def test_queue_full_gives_429_with_retry_after(serve, formula_png: bytes) -> None:
    base = serve(InstantEngine(FORMULA, delay=1.0), max_queue=1)
    upload = {"file": ("f.png", formula_png, "image/png")}
    first: dict[str, httpx.Response] = {}

    def slow() -> None:
        with client(base) as c:
            first["r"] = c.post("/v1/latex", files=upload)

    thread = threading.Thread(target=slow)
    thread.start()
    with client(base) as c:
        deadline = time.monotonic() + 10
        while metric(c.get("/metrics").text, "docintel_queue_depth") < 1:
            assert time.monotonic() < deadline, "the first request never got admitted"
            time.sleep(0.01)
        r = c.post("/v1/latex", files=upload)
        assert_problem(r, 429, "queue-full", "limit 1", "Retry-After")
        assert int(r.headers["retry-after"]) >= 1
        thread.join(10)
        assert first["r"].status_code == 200, first["r"].text
        assert metric(c.get("/metrics").text, "docintel_queue_depth") == 0
        # A slot is free again: admitted.
        assert c.post("/v1/latex", files=upload).status_code == 200


def test_engine_that_fails_to_load_gives_503(serve, formula_png: bytes) -> None:
    base = serve("server", ready=False, engine="server", server_url=None)
    with client(base) as c:
        deadline = time.monotonic() + 10
        while "DOCINTEL_SERVER_URL" not in (r := c.get("/readyz")).text:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.02)
        assert_problem(r, 503, "engine-not-ready", "DOCINTEL_SERVER_URL")
        assert int(r.headers["retry-after"]) > 0
        r = c.post("/v1/latex", files={"file": ("f.png", formula_png)})
        assert_problem(r, 503, "engine-not-ready", "failed to load", "DOCINTEL_SERVER_URL")
        assert int(r.headers["retry-after"]) > 0
        r = c.post("/v1/extract", json={"document": b64(formula_png), "schema": "formula"})
        assert_problem(r, 503, "engine-not-ready", "EngineUnavailable")
        assert c.get("/healthz").status_code == 200  # the process is up, just not ready


def test_engine_still_loading_gives_503_then_serves(serve, monkeypatch, formula_png) -> None:
    import docintel.http.service as serve_module

    loaded = threading.Event()

    def slow_get_engine(spec: Any, settings: Any) -> Any:
        assert loaded.wait(20)
        return InstantEngine(FORMULA)

    monkeypatch.setattr(serve_module, "get_engine", slow_get_engine)
    base = serve("slow", ready=False)
    upload = {"file": ("f.png", formula_png, "image/png")}
    with client(base) as c:
        r = c.get("/readyz")
        assert_problem(r, 503, "engine-not-ready", "loading")
        assert int(r.headers["retry-after"]) > 0
        r = c.post("/v1/latex", files=upload)
        assert_problem(r, 503, "engine-not-ready", "still loading", "retry")
        assert int(r.headers["retry-after"]) > 0
        loaded.set()
        deadline = time.monotonic() + 10
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert c.get("/readyz").json()["engine"] == "instant"
        assert c.post("/v1/latex", files=upload).status_code == 200


def test_request_timeout_gives_504(serve, formula_png: bytes) -> None:
    base = serve(InstantEngine(FORMULA, delay=3.0), request_timeout=0.5)
    start = time.monotonic()
    with client(base) as c:
        r = c.post("/v1/latex", files={"file": ("f.png", formula_png)})
    assert time.monotonic() - start < 2.5
    assert_problem(r, 504, "timeout", "0.5 s", "DOCINTEL_REQUEST_TIMEOUT")


def test_engine_crash_is_a_counted_500_problem(serve, formula_png: bytes) -> None:
    base = serve(InstantEngine(FORMULA, fail_first=1))
    upload = {"file": ("f.png", formula_png, "image/png")}
    with client(base) as c:
        r = c.post("/v1/latex", files=upload)
        body = assert_problem(r, 500, "internal", "ConnectionError", "server log")
        assert "failing on purpose" not in body["detail"]  # internals stay in the log
        assert c.post("/v1/latex", files=upload).status_code == 200  # the service recovered
        text = c.get("/metrics").text
    assert metric(text, "docintel_requests_total", route="/v1/latex", status="500") == 1
    assert metric(text, "docintel_requests_total", route="/v1/latex", status="200") == 1


# ---- routing and the OpenAPI document ---------------------------------------------------------


def test_unknown_path_and_wrong_method(instant: str) -> None:
    with client(instant) as c:
        assert_problem(c.get("/v2/latex"), 404, "http", "/v2/latex", "/openapi.json")
        assert_problem(c.post("/nothing/here", json={}), 404, "http", "/nothing/here")
        r = c.get("/v1/latex")
        assert_problem(r, 405, "http", "GET is not allowed on /v1/latex", "POST")
        assert r.headers["allow"] == "POST"
        r = c.delete("/healthz")
        assert_problem(r, 405, "http", "DELETE", "GET")
        assert r.headers["allow"] == "GET"
        text = c.get("/metrics").text
    # Unknown paths share one series instead of growing one per path.
    assert metric(text, "docintel_requests_total", route="unmatched", status="404") >= 2
    assert "/v2/latex" not in text and "/nothing/here" not in text


def test_openapi_lists_every_path_and_problem_responses(instant: str) -> None:
    with client(instant) as c:
        r = c.get("/openapi.json")
        docs = c.get("/docs")
    assert r.status_code == 200 and docs.status_code == 200
    spec = r.json()
    paths = spec["paths"]
    assert set(paths) >= {
        "/v1/latex", "/v1/extract", "/v1/schemas", "/healthz", "/readyz", "/metrics",
    }  # fmt: skip
    for path in ("/v1/latex", "/v1/extract"):
        post = paths[path]["post"]
        content = post["requestBody"]["content"]
        assert set(content) == {"application/json", "multipart/form-data"}
        assert "file" in content["multipart/form-data"]["schema"]["required"]
        assert "200" in post["responses"]
        for status in ("400", "401", "413", "415", "422", "429", "503", "504"):
            response = post["responses"][status]
            assert set(response["content"]) == {"application/problem+json"}, (path, status)
            problem_schema = response["content"]["application/problem+json"]["schema"]
            assert {"type", "title", "status", "detail"} <= set(problem_schema["properties"])
    assert paths["/v1/extract"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "properties"
    ].keys() >= {"document", "url", "schema", "json_schema", "pages", "password"}
    ready = paths["/readyz"]["get"]["responses"]["503"]
    assert "application/problem+json" in ready["content"]


# ---- micro-batching through the server -------------------------------------------------------


class OneAtATime:
    """``InstantEngine`` posing as an in-process model: not thread-safe, so it gets batched."""

    name, model = "one-at-a-time", "instant"

    def __init__(self, delay: float) -> None:
        self.inner = InstantEngine(FORMULA, delay=delay)
        self.concurrent = 0
        self.most_concurrent = 0
        self._lock = threading.Lock()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        with self._lock:
            self.concurrent += 1
            self.most_concurrent = max(self.most_concurrent, self.concurrent)
        try:
            return self.inner.generate(requests)
        finally:
            with self._lock:
                self.concurrent -= 1

    def close(self) -> None:
        pass


def test_concurrent_requests_share_engine_batches(serve, formula_png: bytes) -> None:
    engine = OneAtATime(delay=0.3)
    base = serve(engine, batch_window_ms=50, max_batch=32)
    n = 8
    barrier = threading.Barrier(n)
    responses: list[httpx.Response | None] = [None] * n

    def post(i: int) -> None:
        with client(base) as c:
            barrier.wait()
            responses[i] = c.post("/v1/latex", files={"file": (f"{i}.png", formula_png)})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(r is not None and r.status_code == 200 for r in responses), responses
    assert all(r.json()["formulas"][0]["valid"] for r in responses if r is not None)
    batches = engine.inner.batches
    assert sum(batches) == n  # one request per formula image, each answered once
    assert len(batches) < n and max(batches) > 1, batches
    assert engine.most_concurrent == 1  # the batcher never calls the engine concurrently
    with client(base) as c:
        text = c.get("/metrics").text
        ready = c.get("/readyz").json()
    assert metric(text, "docintel_batch_size_count") == len(batches)
    assert metric(text, "docintel_batch_size_sum") == n
    assert ready["engine"] == "one-at-a-time"
