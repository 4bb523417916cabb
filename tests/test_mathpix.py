"""POST /v3/text: Mathpix's official client (mpxpy) against a real docintel server."""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import send_bytes
from mpxpy.mathpix_client import MathpixClient  # Mathpix's own client (the dev extra)
from PIL import Image, ImageDraw

from docintel.http.app import create_app
from docintel.settings import get_settings
from docintel.testing.engines import InstantEngine
from docintel.testing.server import running

X2 = '{"latex": "x^{2}  +   y^{2}", "display": true}'
KEY = "k-123"


def png(size: tuple[int, int] = (240, 80), text: str = "x^2 + y^2") -> bytes:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((20, size[1] // 2 - 6), text, fill="black")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """``serve(engine, **settings)`` starts docintel on 127.0.0.1 and returns its base URL."""
    with ExitStack() as stack:

        def start(engine: Any = None, /, *, ready: bool = True, **settings: Any) -> str:
            app = create_app(get_settings(**settings), engine or InstantEngine(X2))
            return stack.enter_context(running(app, ready=ready))

        yield start


@pytest.fixture
def image_file(tmp_path: Path) -> str:
    path = tmp_path / "formula.png"
    path.write_bytes(png())
    return str(path)


def client(base: str, key: str = KEY) -> MathpixClient:
    # requests honours proxy variables: none for a server on 127.0.0.1
    return MathpixClient(
        app_id="my-app", app_key=key, api_url=base, request_options={"proxies": {}}
    )


def error_id(result: dict[str, Any]) -> str:
    assert set(result) == {"request_id", "error", "error_info"}, result
    assert result["error"] == result["error_info"]["message"]
    return result["error_info"]["id"]


# ---- success ----------------------------------------------------------------------------------


def test_mpxpy_uploads_an_image_and_reads_every_format(serve, image_file: str) -> None:
    base = serve(api_keys=KEY)
    image = client(base).image_new(
        file_path=image_file,
        formats=["text", "latex_styled", "data"],
        data_options={"include_latex": True, "include_mathml": True},
    )
    result = image.result
    assert result["request_id"] == image.request_id and len(image.request_id) > 20
    assert image.latex_styled() == "x^{2} + y^{2}"  # rm_spaces (mpxpy's default)
    assert image.mmd() == "\\( x^{2} + y^{2} \\)"  # a lone formula: inline, as Mathpix does
    assert result["data"][0] == {"type": "latex", "value": "x^{2} + y^{2}"}
    assert result["data"][1]["type"] == "mathml" and "<msup>" in result["data"][1]["value"]
    assert (result["image_width"], result["image_height"]) == (240, 80)
    assert result["confidence"] == result["confidence_rate"] == 1.0
    assert "error" not in result


def test_a_data_url_in_json_with_delimiters_and_spaces_kept(serve) -> None:
    base = serve()  # no API keys configured: open, like the rest of the API
    image = client(base, key="anything").image_new(
        url=data_url(png()),
        math_inline_delimiters=("$", "$"),
        rm_spaces=False,
    )
    assert image.result["text"] == "$x^{2}  +   y^{2}$"
    assert "latex_styled" not in image.result  # formats default to text


def test_a_url_is_fetched_under_the_guard(serve, http_server) -> None:
    url = http_server({"/f.png": send_bytes(png(), "image/png")}) + "/f.png"
    closed = client(serve()).image_new(url=url)
    assert error_id(closed.result) == "image_download_error"
    assert "DOCINTEL_ALLOW_URLS" in closed.result["error"]
    guarded = client(serve(allow_urls=True)).image_new(url=url)  # 127.0.0.1 is not global
    assert error_id(guarded.result) == "image_download_error"
    assert "Error downloading image" in guarded.result["error"]
    fetched = client(serve(allow_urls=True, allow_private_urls=True)).image_new(url=url)
    assert fetched.result["text"] == "\\( x^{2} + y^{2} \\)"


# ---- errors -----------------------------------------------------------------------------------


def test_a_wrong_key_is_401_and_docintel_keys_work_too(serve, image_file: str) -> None:
    base = serve(api_keys=KEY)
    with pytest.raises(ValueError, match="401"):
        client(base, key="wrong").image_new(file_path=image_file)
    body = {"src": data_url(png())}
    r = httpx.post(f"{base}/v3/text", json=body, trust_env=False)
    assert r.status_code == 401 and r.json()["error_info"]["id"] == "http_unauthorized"
    for headers in ({"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"}, {"app_key": KEY}):
        r = httpx.post(f"{base}/v3/text", json=body, headers=headers, trust_env=False)
        assert r.status_code == 200 and "text" in r.json(), headers


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"src": "data:image/png;base64,!!!not base64"}, "image_decode_error"),
        ({"src": "formula.png"}, "image_decode_error"),
        (
            {"src": "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4\n").decode()},
            "image_decode_error",
        ),
        ({"src": data_url(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)}, "image_decode_error"),
        ({"formats": ["text"]}, "image_missing"),
        ({"src": "data:,", "formats": ["html"]}, "opts_unknown_format"),
        ({"src": "data:,", "data_options": {"include_asciimath": True}}, "opts_unknown_format"),
        ({"src": "data:,", "async": True}, "opts_unsupported"),
        ({"src": "data:,", "confidence_threshold": "high"}, "opts_number_required"),
        ({"src": "data:,", "confidence_threshold": 2}, "opts_value_out_of_range"),
    ],
    ids=lambda v: v if isinstance(v, str) else "-".join(v),
)
def test_bad_requests_get_mathpix_errors_with_200(serve, body: dict, expected: str) -> None:
    base = serve()
    r = httpx.post(f"{base}/v3/text", json=body, trust_env=False)
    assert r.status_code == 200, r.text
    assert error_id(r.json()) == expected, r.json()


def test_bad_json_and_bad_options_json(serve, image_file: str) -> None:
    base = serve()
    r = httpx.post(
        f"{base}/v3/text",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
        trust_env=False,
    )
    assert error_id(r.json()) == "json_syntax"
    with open(image_file, "rb") as f:
        r = httpx.post(
            f"{base}/v3/text",
            files={"file": f},
            data={"options_json": "[1,"},
            trust_env=False,
        )
    assert error_id(r.json()) == "json_syntax"


def test_unsupported_format_through_mpxpy(serve, image_file: str) -> None:
    image = client(serve()).image_new(file_path=image_file, formats=["text", "html"])
    assert error_id(image.result) == "opts_unknown_format"
    assert "'html'" in image.result["error"]


def test_too_large(serve, image_file: str) -> None:
    pixels = client(serve(max_pixels=10_000)).image_new(file_path=image_file)  # 240 x 80
    assert error_id(pixels.result) == "image_max_size"
    # A body over max_upload_bytes is cut off before any route: docintel's 413 problem.
    base = serve(max_upload_bytes=2_000)
    big = {"src": data_url(png((900, 900)) + b"\0" * 5_000)}  # not valid, only large
    r = httpx.post(f"{base}/v3/text", json=big, trust_env=False)
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")


def test_low_confidence_with_a_threshold(serve, image_file: str) -> None:
    broken = InstantEngine('{"latex": "\\\\frac{a}{b", "display": true}')
    base = serve(broken, max_attempts=1)
    plain = client(base).image_new(file_path=image_file, formats=["latex_styled"])
    assert plain.result["latex_styled"] == "\\frac{a}{b" and plain.result["confidence"] == 0.0
    strict = client(base).image_new(file_path=image_file, confidence_threshold=0.5)
    assert error_id(strict.result) == "math_confidence"


def test_a_full_queue_is_429_and_an_engine_that_failed_is_sys_exception(serve) -> None:
    body = {"src": data_url(png())}
    base = serve(InstantEngine(X2, delay=2.0), max_queue=1)
    first = threading.Thread(
        target=httpx.post, args=(f"{base}/v3/text",), kwargs={"json": body, "trust_env": False}
    )
    first.start()
    deadline = time.monotonic() + 10
    while "docintel_queue_depth 1.0" not in httpx.get(f"{base}/metrics", trust_env=False).text:
        assert time.monotonic() < deadline, "the first request was never admitted"
        time.sleep(0.05)  # until the first request holds the only slot (for 2 s)
    r = httpx.post(f"{base}/v3/text", json=body, trust_env=False)
    first.join()
    assert r.status_code == 429 and r.headers["Retry-After"]
    assert error_id(r.json()) == "http_max_requests"

    base = serve("no-such-engine", ready=False)
    r = httpx.post(f"{base}/v3/text", json=body, trust_env=False)
    assert r.status_code == 200 and error_id(r.json()) == "sys_exception"
    assert "engine" in r.json()["error"]


def test_served_beside_v1_and_counted(serve) -> None:
    base = serve()
    httpx.post(f"{base}/v3/text", json={"src": data_url(png())}, trust_env=False)
    spec = httpx.get(f"{base}/openapi.json", trust_env=False).json()
    assert "/v3/text" in spec["paths"] and "/v1/latex" in spec["paths"]
    metrics = httpx.get(f"{base}/metrics", trust_env=False).text
    assert 'docintel_requests_total{route="/v3/text",status="200"} 1.0' in metrics
