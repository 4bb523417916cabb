"""Issue 12's attacks, each sent to a real server and checked against its bound.

Every test starts a real uvicorn on 127.0.0.1 (``docintel.testing.server.running``, with the
service's header and body read deadlines) and talks to it over real sockets; the inputs are
generated here (a 2000-page PDF, a 1000-frame TIFF, trickling origin servers, raw sockets).
Memory is the resident set of this process, which is the server's: it runs in a thread here.
The time bounds are generous on purpose (a loaded 2-core machine): they tell a bounded
request from one that runs for minutes, they are not benchmarks (``bench/attacks.py`` is).
"""

from __future__ import annotations

import base64
import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import image_bytes, send_bytes

import docintel
from docintel.errors import InputTooLarge
from docintel.http.app import create_app
from docintel.http.inputs import model_for as _model_for
from docintel.http.service import Service
from docintel.schemas import CATALOG
from docintel.settings import get_settings
from docintel.testing.bombs import pdf_pages, tiff_frames
from docintel.testing.engines import InstantEngine
from docintel.testing.server import running

FORMULA = '{"latex": "x^2 + y^2 = z^2", "display": true}'
PROBLEM = "application/problem+json"


# ---- servers, clients, measurements -----------------------------------------------------------


@dataclass
class Server:
    base: str
    service: Service

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=60, trust_env=False, **kwargs)

    def wait_idle(self, within: float) -> float:
        """Seconds until no request holds an admission slot (fails after ``within``)."""
        start = time.monotonic()
        while self.service.active:
            assert time.monotonic() - start < within, f"{self.service.active} slots still held"
            time.sleep(0.02)
        return time.monotonic() - start


ServeFactory = Callable[..., Server]


@pytest.fixture
def serve() -> Iterator[ServeFactory]:
    """``serve(engine, ready=True, **settings)`` starts a server; all stop after the test."""
    with ExitStack() as stack:

        def start(engine: Any = None, /, *, ready: bool = True, **settings: Any) -> Server:
            app = create_app(get_settings(**settings), engine)
            base = stack.enter_context(running(app, ready=ready))
            return Server(base, app.state.service)

        yield start


def assert_problem(
    r: httpx.Response, status: int | tuple[int, ...], slug: str | None = None, *detail_has: str
) -> dict[str, Any]:
    """``r`` is an RFC 9457 problem with one of ``status``; its detail names ``detail_has``."""
    statuses = (status,) if isinstance(status, int) else status
    assert r.status_code in statuses, (r.status_code, r.text[:500])
    assert r.headers["content-type"].split(";")[0] == PROBLEM, r.headers
    body = r.json()
    assert body["status"] == r.status_code
    assert body["type"].startswith("urn:docintel:problem:")
    if slug is not None:
        assert body["type"] == f"urn:docintel:problem:{slug}", body
    assert isinstance(body["detail"], str) and body["detail"], body
    for needle in detail_has:
        assert needle.lower() in body["detail"].lower(), body["detail"]
    assert "Traceback" not in r.text
    return body


_SERVER_CHILD = """
import sys
import uvicorn
from docintel.http.app import create_app, uvicorn_config
from docintel.settings import get_settings
from docintel.testing.engines import InstantEngine
app = create_app(get_settings(), InstantEngine(sys.argv[2]))
config = uvicorn_config(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
uvicorn.Server(config).run()
"""


@contextmanager
def server_process(answer: str) -> Iterator[tuple[str, int]]:
    """A real ``docintel`` service in a child process, answering ``answer``: (base URL, pid)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = subprocess.Popen([sys.executable, "-c", _SERVER_CHILD, str(port), answer])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert child.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield base, child.pid
    finally:
        child.terminate()
        child.wait(15)


def rss_mb(pid: int | str = "self") -> float:
    """A process's resident set (default this one: the in-process server's memory), in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@contextmanager
def healthz_watch(base: str, every: float = 0.02) -> Iterator[list[float]]:
    """Poll ``/healthz`` from another thread for the duration of the block, as a normal client
    would during an attack; yields the list of latencies (seconds), filled as it goes."""
    latencies: list[float] = []
    failures: list[str] = []
    stop, polled = threading.Event(), threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=base, timeout=10, trust_env=False) as c:
            while not stop.is_set():
                start = time.perf_counter()
                try:
                    status = c.get("/healthz").status_code
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    status = 0
                latencies.append(time.perf_counter() - start)
                polled.set()
                if status != 200:
                    failures.append(f"status {status}")
                stop.wait(every)

    thread = threading.Thread(target=poll, name="healthz-poller", daemon=True)
    thread.start()
    polled.wait(10)  # polling before the attack starts: a quick attack still gets measured
    try:
        yield latencies
    finally:
        stop.set()
        thread.join(15)
    assert not failures, failures[:5]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def pdf_2000() -> bytes:
    """2000 empty pages in about 240 kB: the issue's 8.8 GB, never-returning request."""
    return pdf_pages(2000)


@pytest.fixture(scope="module")
def tiff_1000() -> bytes:
    return tiff_frames(1000)


@pytest.fixture(scope="module")
def png() -> bytes:
    return image_bytes("PNG", (300, 200))


# ---- 1. SSRF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://100.100.100.200/latest/meta-data/",  # cloud metadata, shared address space
        "http://100.64.0.1/x.pdf",
        "http://192.0.0.8/x.pdf",  # IETF protocol assignments
        "http://192.0.0.170/x.pdf",
        "http://[2002:a9fe:a9fe::]/latest/meta-data/",  # 6to4 around 169.254.169.254
        "http://[::ffff:100.100.100.200]/latest/meta-data/",  # IPv4-mapped
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
    ],
)
def test_non_global_urls_are_refused_by_the_server(serve: ServeFactory, url: str) -> None:
    server = serve(InstantEngine(FORMULA), allow_urls=True)
    with server.client() as c:
        start = time.monotonic()
        r = c.post("/v1/latex", json={"url": url})
    assert_problem(r, 400, "blocked-url", "non-public address")
    assert time.monotonic() - start < 5  # refused before any connection is tried
    assert server.service.active == 0


# ---- 2. the fetch deadline is total, and the slot is freed -------------------------------------


def trickle(
    data: bytes, every: float = 0.5
) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    """An origin handler that sends ``data`` (its status line and headers) a byte at a time."""

    def handler(req: http.server.BaseHTTPRequestHandler) -> None:
        try:
            for i in range(len(data)):
                req.wfile.write(data[i : i + 1])
                req.wfile.flush()
                time.sleep(every)
        except OSError:
            pass  # the fetch gave up: that is the point

    return handler


SLOW_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 2\r\n\r\nok"


def test_trickling_origin_is_cut_at_fetch_timeout_and_frees_its_slot(
    serve: ServeFactory, http_server, png: bytes
) -> None:
    origin = http_server({"/slow.png": trickle(SLOW_HEAD), "/f.png": send_bytes(png, "image/png")})
    server = serve(
        InstantEngine(FORMULA),
        allow_urls=True,
        allow_private_urls=True,  # the origin is on 127.0.0.1
        fetch_timeout=2,
        max_queue=1,
    )
    with server.client() as c:
        start = time.monotonic()
        r = c.post("/v1/latex", json={"url": f"{origin}/slow.png"})
        elapsed = time.monotonic() - start
        assert_problem(r, (502, 504), None, "timed out", "fetch_timeout=2")
        assert elapsed < 2 + 2.5, f"answered after {elapsed:.1f} s with fetch_timeout=2"
        server.wait_idle(within=1)
        # max_queue=1: a request after it is admitted, so the slot really is free
        r = c.post("/v1/latex", json={"url": f"{origin}/f.png"})
        assert r.status_code == 200, r.text


def test_slot_of_a_timed_out_fetch_is_freed_by_the_fetch_deadline(
    serve: ServeFactory, http_server
) -> None:
    """The client has its 504 at request_timeout; the fetch it left behind still ends by
    fetch_timeout (the origin trickles for 30 s), and with it the slot."""
    origin = http_server({"/slow.png": trickle(SLOW_HEAD)})
    server = serve(
        InstantEngine(FORMULA),
        allow_urls=True,
        allow_private_urls=True,
        fetch_timeout=2.5,
        request_timeout=0.5,
        max_queue=1,
    )
    with server.client() as c:
        start = time.monotonic()
        r = c.post("/v1/latex", json={"url": f"{origin}/slow.png"})
        assert_problem(r, 504, "timeout", "0.5 s")
        server.wait_idle(within=2.5 + 2.5 - (time.monotonic() - start))


# ---- 3. malformed input: 4xx problems, never 500 ------------------------------------------------


@pytest.fixture(scope="module")
def url_server() -> Iterator[Server]:
    app = create_app(get_settings(allow_urls=True, allow_private_urls=True), InstantEngine(FORMULA))
    with running(app) as base:
        yield Server(base, app.state.service)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com:99999/x.pdf",
        "http://example.com:0/x.pdf",
        "http://example.com:" + "9" * 5000 + "/x.pdf",
        "http://[::1/x.pdf",
        "http://[zz]/x.pdf",
        "http://[fe80::1%25eth0]/x.pdf",
        "http://" + "a" * 64 + ".com/x.pdf",
        "http://" + "a." * 127 + "com/x.pdf",
        "http://a..b/x.pdf",
        "http://.example.com/x.pdf",
        "http:///x.pdf",
        "http://example.com/\r\nHost: evil",
    ],
)
def test_malformed_urls_are_400(url_server: Server, url: str) -> None:
    with url_server.client() as c:
        r = c.post("/v1/latex", json={"url": url})
    assert_problem(r, 400, "blocked-url", "url")


@pytest.mark.parametrize(
    "body",
    [
        b'{"url": "http://\\ud800.example.com/x.pdf"}',  # a lone surrogate in the host
        b'{"url": "http://example.com/\\udcff.pdf"}',
        b'{"document": "\\ud800"}',
        b'{"document": "data:image/png;base64,\\udfff"}',
        b'{"document": "aGVsbG8=", "password": "\\ud800"}',
    ],
    ids=["url-host", "url-path", "document", "data-url", "password"],
)
def test_lone_surrogates_are_4xx(url_server: Server, body: bytes) -> None:
    with url_server.client() as c:
        r = c.post("/v1/latex", content=body, headers={"content-type": "application/json"})
    assert_problem(r, (400, 415, 422))


def test_huge_json_integers_are_4xx(url_server: Server, png: bytes) -> None:
    huge = "9" * 5000  # over Python's 4300-digit limit for int(str)
    with url_server.client() as c:
        body = f'{{"document": "{b64(png)}", "pages": [{huge}]}}'
        r = c.post("/v1/latex", content=body, headers={"content-type": "application/json"})
        assert_problem(r, 400, "invalid-json", "digits")
        schema = f'{{"type": "object", "properties": {{"n": {{"maximum": {huge}}}}}}}'
        body = f'{{"document": "{b64(png)}", "json_schema": {schema}}}'
        r = c.post("/v1/extract", content=body, headers={"content-type": "application/json"})
        assert_problem(r, 400, "invalid-json")
        files = {"file": ("f.png", png, "image/png")}
        r = c.post("/v1/latex", files=files, data={"pages": f"[{huge}]"})
        assert_problem(r, 422, "invalid-field", "'pages'")


@pytest.mark.parametrize("field", ["pages", "json_schema"])
def test_deeply_nested_multipart_json_fields_are_422(
    url_server: Server, png: bytes, field: str
) -> None:
    deep = (
        "[" * 100_000 + "]" * 100_000
        if field == "pages"
        else '{"a":' * 100_000 + "1" + "}" * 100_000
    )
    with url_server.client() as c:
        r = c.post("/v1/extract", files={"file": ("f.png", png, "image/png")}, data={field: deep})
    assert_problem(r, 422, "invalid-field", f"'{field}'", "nested too deeply")


def test_deeply_nested_json_body_is_400(url_server: Server, png: bytes) -> None:
    deep = '{"type": "object", "properties": {"a": ' * 50_000 + "{}" + "}}" * 50_000
    body = f'{{"document": "{b64(png)}", "json_schema": {deep}}}'
    with url_server.client() as c:
        r = c.post("/v1/extract", content=body, headers={"content-type": "application/json"})
    assert_problem(r, 400, "invalid-json", "nested too deeply")


@pytest.mark.parametrize("depth", [100, 300, 490])
def test_deep_json_schema_within_the_parser_limit_is_not_a_500(
    url_server: Server, png: bytes, depth: int
) -> None:
    """Deep enough for the schema converter, shallow enough for json.loads (490 objects in
    objects: 980 levels of JSON, under the parser's 1000)."""
    schema = '{"type": "object", "properties": {"a": ' * depth + '{"type": "string"}' + "}}" * depth
    body = f'{{"document": "{b64(png)}", "json_schema": {schema}}}'
    with url_server.client() as c:
        r = c.post("/v1/extract", content=body, headers={"content-type": "application/json"})
    assert r.status_code < 500, r.text[:500]
    if r.status_code != 200:
        assert_problem(r, (400, 413, 422))


# ---- 4. regular-expression denial of service --------------------------------------------------


def test_catastrophic_pattern_runs_in_linear_time(serve: ServeFactory) -> None:
    """The CPU filler checks the value printed after "Status:" against the field's pattern:
    on Python's backtracking ``re``, 2^30 steps for this line (0.35 s at 22 a's, doubling
    with each one). (Not "code": identifier-like fields need a digit before any pattern.)"""
    pdf = pdf_pages(1, lambda _: "Status: " + "a" * 30 + "!")
    schema = {
        "type": "object",
        "properties": {"status": {"type": "string", "pattern": "^(a+)+$"}},
    }
    server = serve("cpu")
    with server.client() as c:  # warm: the CPU engine's first use imports and loads its scorer
        c.post("/v1/extract", json={"document": b64(pdf_pages(1)), "json_schema": schema})
    with server.client() as c, healthz_watch(server.base) as latencies:
        start = time.monotonic()
        for _ in range(3):
            r = c.post("/v1/extract", json={"document": b64(pdf), "json_schema": schema})
            assert r.status_code == 200, r.text[:500]
        elapsed = time.monotonic() - start
    print(f"3 ReDoS requests: {elapsed:.2f} s; /healthz max {max(latencies) * 1000:.0f} ms")
    assert elapsed < 10  # backtracking: 116 s for a 27-character line, per request
    assert max(latencies) < 0.5


def test_backtracking_only_patterns_are_refused(serve: ServeFactory, png: bytes) -> None:
    schema = {"type": "object", "properties": {"x": {"type": "string", "pattern": "(a)\\1"}}}
    server = serve(InstantEngine("{}"))
    with server.client() as c:
        r = c.post("/v1/extract", json={"document": b64(png), "json_schema": schema})
    assert_problem(r, 422, "invalid-json-schema")


# ---- 5. work amplification ----------------------------------------------------------------------


def test_2000_page_pdf_is_413_fast_with_bounded_memory(serve: ServeFactory, pdf_2000) -> None:
    server = serve("cpu")
    with server.client() as c:
        c.post("/v1/extract", files={"file": ("w.pdf", pdf_pages(2))}, data={"schema": "invoice"})
        before = rss_mb()
        start = time.monotonic()
        for _ in range(5):  # the issue: 14 requests of a 200-page PDF, 1.0 -> 6.6 GB
            r = c.post(
                "/v1/extract", files={"file": ("big.pdf", pdf_2000)}, data={"schema": "invoice"}
            )
            assert_problem(r, 413, "input-too-large", "2000 pages", "max_work_pages=200")
        elapsed = time.monotonic() - start
    growth = rss_mb() - before
    print(f"5 x 2000-page PDF: {elapsed:.2f} s, RSS +{growth:.0f} MiB")
    assert elapsed < 30
    assert growth < 300


def test_pages_within_the_budget_are_admitted(serve: ServeFactory, pdf_2000) -> None:
    server = serve(InstantEngine("{}"))
    with server.client() as c:
        r = c.post(
            "/v1/extract",
            files={"file": ("big.pdf", pdf_2000)},
            data={"schema": "invoice", "pages": json.dumps([0, 1999])},
        )
    assert r.status_code == 200, r.text[:500]
    assert r.json()["pages"] == [0, 1999]


def test_1000_frame_tiff_is_refused_without_decoding(serve: ServeFactory, tiff_1000) -> None:
    server = serve("cpu")
    with server.client() as c:
        before = rss_mb()
        start = time.monotonic()
        for route, data in (("/v1/extract", {"schema": "invoice"}), ("/v1/latex", {})):
            r = c.post(route, files={"file": ("t.tiff", tiff_1000, "image/tiff")}, data=data)
            assert_problem(r, 413, "input-too-large", "max_total_pixels")
        elapsed = time.monotonic() - start
    growth = rss_mb() - before
    print(f"2 x 1000-frame TIFF: {elapsed:.2f} s, RSS +{growth:.0f} MiB")
    assert elapsed < 30  # eagerly decoded: 19 minutes and 10 GB
    assert growth < 300


def test_latex_over_the_page_budget_is_413(serve: ServeFactory) -> None:
    server = serve(InstantEngine(FORMULA))
    pdf = pdf_pages(250)
    with server.client() as c:
        start = time.monotonic()
        r = c.post("/v1/latex", files={"file": ("f.pdf", pdf, "application/pdf")})
        assert_problem(r, 413, "input-too-large", "250 pages", "max_work_pages=200")
        r = c.post("/v1/latex", json={"document": b64(pdf), "pages": list(range(201))})
        assert_problem(r, 413, "input-too-large", "201 pages")
    assert time.monotonic() - start < 20


def test_latex_work_stops_after_a_504(serve: ServeFactory) -> None:
    """10 s of work: the 20 pages' formulas go to the model together, 10 attempts of 1 s at
    LaTeX that never parses. The client has its 504 after 1 s; the work stops at its next
    checkpoint and frees its slot, seconds before it would have ended."""
    engine = InstantEngine('{"latex": "\\\\frac{a}{b", "display": true}', delay=1.0)
    server = serve(engine, request_timeout=1, max_queue=1, max_attempts=10)
    pdf = pdf_pages(20, lambda i: f"Page {i + 1}")
    with server.client() as c:
        start = time.monotonic()
        r = c.post("/v1/latex", files={"file": ("f.pdf", pdf, "application/pdf")})
        assert_problem(r, 504, "timeout")
        waited = server.wait_idle(within=4)
        print(
            f"504 after {time.monotonic() - start - waited:.2f} s, slot free {waited:.2f} s later"
        )
        calls = len(engine.batches)
        time.sleep(1)
        assert len(engine.batches) == calls  # nothing runs on
        assert calls < 10, f"{calls} model calls after a 1 s timeout"
        engine.delay = 0
        r = c.post("/v1/latex", json={"document": b64(pdf), "pages": [0]})
        assert r.status_code == 200, r.text[:500]


def test_client_going_away_stops_the_work(serve: ServeFactory) -> None:
    """The client gives up after 1 s and closes its connection: the server notices, stops
    the work at its next checkpoint and frees the slot (the work would take 10 s: every
    page's formula in one batch per attempt, 10 attempts of 1 s at LaTeX that never parses)."""
    engine = InstantEngine('{"latex": "\\\\frac{a}{b", "display": true}', delay=1.0)
    server = serve(engine, max_queue=1, max_attempts=10)
    pdf = pdf_pages(20, lambda i: f"Page {i + 1}")
    with (
        httpx.Client(base_url=server.base, timeout=1, trust_env=False) as c,
        pytest.raises(httpx.ReadTimeout),
    ):
        c.post("/v1/latex", files={"file": ("f.pdf", pdf, "application/pdf")})
    waited = server.wait_idle(within=2.5)  # the client closed its connection just now
    print(f"slot free {waited:.2f} s after the client went away")
    calls = len(engine.batches)
    assert calls < 8, f"{calls} model calls for a client gone after 1 s"
    time.sleep(1)
    assert len(engine.batches) == calls  # nothing runs on
    engine.delay = 0
    with httpx.Client(base_url=server.base, timeout=10, trust_env=False) as c:
        r = c.post("/v1/latex", json={"document": b64(pdf), "pages": [0]})  # max_queue=1
    assert r.status_code == 200, r.text[:500]


def test_load_and_extract_in_python_raise_input_too_large(pdf_2000, tiff_1000) -> None:
    before = rss_mb()
    doc = docintel.load(pdf_2000)
    with doc, pytest.raises(InputTooLarge, match=r"2000 pages .* over max_work_pages=200") as exc:
        docintel.extract(doc, CATALOG["invoice"], engine="cpu")
    assert "pages" in str(exc.value) and "DOCINTEL_MAX_WORK_PAGES" in str(exc.value)
    with pytest.raises(InputTooLarge, match=r"max_total_pixels=500000000") as exc:
        docintel.load(tiff_1000)
    assert "DOCINTEL_MAX_TOTAL_PIXELS" in str(exc.value)
    with pytest.raises(InputTooLarge, match="max_total_pixels"):
        docintel.extract(tiff_1000, CATALOG["invoice"], engine="cpu")
    assert rss_mb() - before < 300


# ---- 6. nothing blocks the event loop ----------------------------------------------------------


def test_costly_schema_conversion_does_not_block_healthz(serve: ServeFactory, png: bytes) -> None:
    branches = [
        {"type": "object", "properties": {f"k{i}": {"type": "string"}}, "required": [f"k{i}"]}
        for i in range(10_000)
    ]
    schema = {"type": "object", "properties": {"v": {"anyOf": branches}}}
    body = {"document": b64(png), "json_schema": schema}
    server = serve(InstantEngine("{}"))
    with server.client() as c, healthz_watch(server.base) as latencies:
        start = time.monotonic()
        for _ in range(3):
            r = c.post("/v1/extract", json=body)
            assert r.status_code < 500, r.text[:500]
        elapsed = time.monotonic() - start
    worst = max(latencies)
    print(
        f"anyOf x10000: {elapsed:.2f} s for 3; "
        f"/healthz {len(latencies)} polls, max {worst * 1000:.0f} ms"
    )
    assert len(latencies) >= 3
    assert worst < 0.5


@contextmanager
def rss_peak(pid: int | str = "self") -> Iterator[list[float]]:
    """Sample a process's RSS every 10 ms during the block; yields [peak growth in MiB]."""
    before = rss_mb(pid)
    peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.01):
            peak[0] = max(peak[0], rss_mb(pid) - before)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join(5)


def test_big_percent_encoded_data_url_does_not_block_healthz(serve: ServeFactory) -> None:
    """19 MB of "%41": decoded in one call, 6 million pieces, 1.5 GB and 1.6 s holding the GIL
    (the event loop with it), even off the loop; decoded slice by slice, neither."""
    document = "data:application/pdf," + "%41" * (19_000_000 // 3)
    body = json.dumps({"document": document, "schema": "invoice"}).encode()
    # The server in a process of its own, as in production: here its event loop would share
    # one GIL with this test's client and poller threads (and the whole suite's heap).
    with (
        server_process("{}") as (base, pid),
        httpx.Client(base_url=base, timeout=60, trust_env=False) as c,
        rss_peak(pid) as peak,
        healthz_watch(base) as latencies,
    ):
        start = time.monotonic()
        for _ in range(2):
            r = c.post("/v1/extract", content=body, headers={"content-type": "application/json"})
            assert_problem(r, 415, "unsupported-input", "not a")  # 6 MB of "A": no PDF
        elapsed = time.monotonic() - start
    worst = max(latencies)
    print(
        f"19 MB data: URL: {elapsed:.2f} s for 2; RSS peak +{peak[0]:.0f} MiB; "
        f"/healthz {len(latencies)} polls, max {worst * 1000:.0f} ms"
    )
    assert worst < 0.5
    assert peak[0] < 500  # the body, its JSON string and the decoded bytes: ~100 MiB


def test_percent_encoded_data_url_loads_the_same_document() -> None:
    from urllib.parse import quote

    pdf = pdf_pages(3, lambda i: f"Page {i + 1} %41 100% done")
    encoded = "data:application/pdf," + quote(pdf, safe="")  # every byte, escapes cut anywhere
    doc = docintel.load(encoded)
    with doc:
        assert len(doc) == 3 and doc.sha256 == docintel.load(pdf).sha256


# ---- 7. readiness -------------------------------------------------------------------------------


class SlowLoadingEngine(InstantEngine):
    """Loads for ``seconds``, then succeeds or raises ``error``."""

    thread_safe = True

    def __init__(self, seconds: float, error: Exception | None = None) -> None:
        super().__init__(FORMULA)
        self.seconds, self.error = seconds, error
        self.release = threading.Event()
        self.loaded = False

    def load(self) -> None:
        self.release.wait(self.seconds)
        if self.error is not None:
            raise self.error
        self.loaded = True


def test_not_ready_until_loaded(serve: ServeFactory, png: bytes) -> None:
    engine = SlowLoadingEngine(30)
    server = serve(engine, ready=False)
    with server.client() as c:
        assert_problem(c.get("/readyz"), 503, "engine-not-ready", "loading")
        r = c.post("/v1/latex", files={"file": ("f.png", png, "image/png")})
        assert_problem(r, 503, "engine-not-ready", "loading")
        engine.release.set()
        deadline = time.monotonic() + 10
        while (r := c.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.02)
        assert engine.loaded  # ready means loaded, never before
        assert c.post("/v1/latex", files={"file": ("f.png", png, "image/png")}).status_code == 200


def test_failed_load_is_503_without_server_paths(
    serve: ServeFactory, tmp_path: Path, png: bytes
) -> None:
    missing = tmp_path / "models" / "pixtral-12b" / "config.json"  # its folder does not exist
    error = OSError(
        f"Can't load the model: no file {missing}; also tried /root/models/pixtral/weights/x.bin"
    )
    server = serve(SlowLoadingEngine(0.5, error), ready=False)
    with server.client() as c:
        deadline = time.monotonic() + 10
        while "OSError" not in (r := c.get("/readyz")).text:
            assert time.monotonic() < deadline, r.text
            assert_problem(r, 503, "engine-not-ready", "loading")
            time.sleep(0.02)
        answers = [r, c.post("/v1/latex", files={"file": ("f.png", png, "image/png")})]
        for r in answers:
            body = assert_problem(r, 503, "engine-not-ready", "Can't load the model")
            for leak in ("/tmp/", "/root/", str(tmp_path), "pixtral-12b", "config.json"):
                assert leak not in body["detail"], body["detail"]
            assert int(r.headers["retry-after"]) > 0


def test_transformers_engine_with_missing_weights_is_503_without_paths(
    serve: ServeFactory, tmp_path: Path
) -> None:
    pytest.importorskip("transformers")
    model = tmp_path / "no" / "such" / "model"
    server = serve("transformers", ready=False, model=str(model))
    with server.client() as c:
        deadline = time.monotonic() + 60
        while "loading" in (r := c.get("/readyz")).text:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.1)
        body = assert_problem(r, 503, "engine-not-ready")
    assert str(tmp_path) not in body["detail"] and "/tmp/" not in body["detail"], body["detail"]


# ---- 8. JSON Schema models are cached by content --------------------------------------------


@pytest.fixture(scope="module")
def digital_pdf() -> bytes:
    """One page with a text layer: extraction reads its words (no OCR), in milliseconds."""
    return pdf_pages(1, lambda _: "Invoice INV-1 total 12.50")


def test_same_json_schema_builds_one_model(serve: ServeFactory, digital_pdf: bytes) -> None:
    schema = {
        "type": "object",
        "properties": {"total": {"type": "number"}, "id": {"type": "string"}},
    }
    reordered = {
        "properties": {"id": {"type": "string"}, "total": {"type": "number"}},
        "type": "object",
    }
    server = serve(InstantEngine("{}"))
    before = _model_for.cache_info()
    with server.client() as c:
        for i in range(20):
            body = {"document": b64(digital_pdf), "json_schema": schema if i % 2 else reordered}
            r = c.post("/v1/extract", json=body)
            assert r.status_code == 200, r.text[:500]
    after = _model_for.cache_info()
    assert after.misses - before.misses <= 1  # one class, whatever the key order
    assert after.hits - before.hits >= 19


def test_distinct_json_schemas_stay_bounded(serve: ServeFactory, digital_pdf: bytes) -> None:
    maxsize = _model_for.cache_info().maxsize
    assert maxsize is not None and maxsize <= 1024
    server = serve(InstantEngine("{}"))
    with server.client() as c:
        for i in range(maxsize + 20):
            schema = {"type": "object", "properties": {f"f{i}": {"type": "string"}}}
            body = {"document": b64(digital_pdf), "json_schema": schema}
            r = c.post("/v1/extract", json=body)
            assert r.status_code == 200, r.text[:500]
    assert _model_for.cache_info().currsize <= maxsize


# ---- 10. the OpenAPI document -------------------------------------------------------------------


def test_spec_declares_security_and_typed_multipart(serve: ServeFactory) -> None:
    server = serve(InstantEngine("{}"), api_keys="k")
    with server.client() as c:
        spec = c.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    assert spec["paths"]["/v1/extract"]["post"]["security"]
    for path in ("/v1/extract", "/v1/latex"):
        form = spec["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]
        pages = form["schema"]["properties"]["pages"]
        kinds = [pages.get("type")] + [v.get("type") for v in pages.get("anyOf", [])]
        assert "array" in kinds and "string" not in kinds, pages
        assert form["encoding"]["pages"]["contentType"] == "application/json"
    form = spec["paths"]["/v1/extract"]["post"]["requestBody"]["content"]["multipart/form-data"]
    required = sorted(tuple(o["required"]) for o in form["schema"]["oneOf"])
    assert required == [("json_schema",), ("schema",)]
    body = spec["paths"]["/v1/extract"]["post"]["requestBody"]["content"]["application/json"]
    exclusive = [tuple(o["required"]) for part in body["schema"]["allOf"] for o in part["oneOf"]]
    assert ("schema",) in exclusive and ("json_schema",) in exclusive


# ---- header and body read deadlines -------------------------------------------------------------


def closed_within(sock: socket.socket, seconds: float) -> bytes | None:
    """What the server sent before closing ``sock`` within ``seconds``; None if it did not."""
    sock.settimeout(0.2)
    received = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    return None


def test_headers_sent_a_byte_a_second_are_cut_off(serve: ServeFactory) -> None:
    server = serve(InstantEngine("{}"), header_timeout=1)
    port = int(server.base.rsplit(":", 1)[1])
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 20 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port)) as sock:
        start = time.monotonic()
        closed = False
        for i in range(len(head)):
            try:
                sock.sendall(head[i : i + 1])
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_within(sock, 1.0) is not None:
                closed = True
                break
        elapsed = time.monotonic() - start
    assert closed, "the server waited for the whole trickled header"
    assert elapsed < 3.5, f"closed after {elapsed:.1f} s with header_timeout=1"
    with server.client() as c:  # others are served meanwhile and after
        assert c.get("/healthz").status_code == 200


def test_body_that_never_arrives_is_408(serve: ServeFactory) -> None:
    server = serve(InstantEngine("{}"), body_timeout=1)
    port = int(server.base.rsplit(":", 1)[1])
    head = (
        b"POST /v1/extract HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port)) as sock:
        start = time.monotonic()
        sock.sendall(head + b'{"document": "')
        received = closed_within(sock, 5)
        elapsed = time.monotonic() - start
    assert received is not None, "the connection stayed open"
    assert elapsed < 3.5, f"answered after {elapsed:.1f} s with body_timeout=1"
    head_part, _, payload = received.partition(b"\r\n\r\n")
    assert head_part.startswith(b"HTTP/1.1 408"), received[:300]
    assert b"application/problem+json" in head_part.lower()
    problem = json.loads(payload)
    assert problem["status"] == 408 and "body-timeout" in problem["type"]
    assert server.service.active == 0
