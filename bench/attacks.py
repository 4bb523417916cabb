"""Issue 12's attacks against a real ``docintel serve`` on 127.0.0.1, optionally before and after.

Each attack gets a fresh server: a subprocess running the service on uvicorn as ``docintel
serve`` does (``create_app`` + the tree's own uvicorn setup, the header deadline included where
the tree has one), with the attack's settings and engine (the CPU engine, or the instant fake
engine ``docintel.testing.engines.InstantEngine`` where the model does not matter, or a slow one
at 0.5 s a call to show cancellation). Per attack the table gives:

* status: what the attacking client got (several requests: each status, or a count);
* latency: how long the attack's request took, client side;
* RSS: the server process's resident set growth over the attack, at the end and at its peak
  (sampled from /proc/PID/status every 0.1 s); a server over ``--rss-cap`` MiB is killed and
  the row says so;
* /healthz: the worst latency a normal client saw polling ``GET /healthz`` every 50 ms during
  the attack (a poll still waiting at the end counts for as long as it waited);
* note: what else was checked (a slot freed or still held, a path leaked, spec contents).

Every attack is bounded by ``--timeout`` seconds (its client gives up; the row says
"timeout") and its server is killed afterwards, so an older tree that never answers cannot hang
the run. ``--rev REV`` also runs every attack against git revision REV, checked out with ``git
worktree add /tmp/docintel-REV REV`` (kept for later runs) and imported from there through
PYTHONPATH with this same virtual environment; its rows sit under the current tree's::

    python bench/attacks.py [--rev 8ee7e45] [--timeout 60] [--rss-cap 4096] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import base64
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from docintel.testing.bombs import pdf_pages, tiff_frames

ROOT = Path(__file__).resolve().parents[1]
FORMULA = '{"latex": "x^2 + y^2 = z^2", "display": true}'

# Runs in the server subprocess, on the tree PYTHONPATH points to.
SERVER = r"""
import json, sys
config = json.loads(sys.argv[1])
import uvicorn
try:
    from docintel.http import app as service
except ImportError:  # a tree from before the stage packages
    from docintel import serve as service
create_app = service.create_app
from docintel.settings import get_settings
from docintel.testing.engines import InstantEngine
engine = config["engine"]
if engine == "instant":
    engine = InstantEngine(config["answer"])
elif engine == "slow":
    engine = InstantEngine(config["answer"], delay=0.5)
app = create_app(get_settings(**config["settings"]), engine)
options = dict(host="127.0.0.1", port=config["port"], log_level="error")
uvicorn_config = getattr(service, "uvicorn_config", None)  # the header deadline, where it exists
if uvicorn_config is None:
    server_config = uvicorn.Config(app, **options)
else:
    server_config = uvicorn_config(app, **options)
uvicorn.Server(server_config).run()
"""


# ---- inputs -----------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Inputs:
    """Generated once per run, shared by both trees."""

    def __init__(self) -> None:
        self.page = pdf_pages(1, lambda _: "Invoice INV-1 total 12.50")
        self.pdf_2000 = pdf_pages(2000)
        self.pdf_200 = pdf_pages(200, lambda i: f"Page {i + 1} of the report")
        self.pdf_250 = pdf_pages(250)
        self.pdf_20 = pdf_pages(20, lambda i: f"Page {i + 1}")
        self.tiff = tiff_frames(1000)
        self.redos = pdf_pages(1, lambda _: "Status: " + "a" * 30 + "!")


# ---- the server under attack ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class Server:
    """A service subprocess on a free port, importing docintel from ``tree``."""

    def __init__(
        self, tree: Path, engine: str, settings: dict[str, Any], *, answer: str = FORMULA
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = {"engine": engine, "settings": settings, "port": self.port, "answer": answer}
        env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
        env = {k: v for k, v in env.items() if not k.startswith("DOCINTEL_")}
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, json.dumps(config)],
            cwd=tree,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.killed_for: str | None = None

    def wait(self, path: str, timeout: float = 90) -> None:
        """Until ``path`` answers 200 (the process is up; with /readyz, the engine loaded)."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base, timeout=5, trust_env=False) as c:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited: {self.output()[-2000:]}")
                try:
                    if c.get(path).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"{path} not 200 after {timeout} s: {self.output()[-2000:]}")

    def rss(self) -> float:
        return rss_mib(self.proc.pid) or 0.0

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def kill(self, why: str | None = None) -> None:
        if why and self.proc.poll() is None:
            self.killed_for = why
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: it and its children
        self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        self.log.close()


class RssWatch:
    """Samples the server's RSS every 0.1 s; kills it over ``cap`` MiB."""

    def __init__(self, server: Server, cap: float) -> None:
        self.server, self.cap = server, cap
        self.peak = server.rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            rss = rss_mib(self.server.proc.pid)
            if rss is None:
                return
            self.peak = max(self.peak, rss)
            if rss > self.cap:
                self.server.kill(f"killed at {rss:.0f} MiB RSS (cap {self.cap:.0f})")
                return

    def __enter__(self) -> RssWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


@contextmanager
def healthz_watch(base: str, timeout: float) -> Iterator[list[float]]:
    """A normal client polling /healthz every 50 ms; yields its latencies (seconds)."""
    latencies: list[float] = []
    stop = threading.Event()
    started: list[float] = []

    def poll() -> None:
        with httpx.Client(base_url=base, timeout=timeout, trust_env=False) as c:
            while not stop.is_set():
                start = time.perf_counter()
                started[:] = [start]
                with suppress(httpx.HTTPError):
                    c.get("/healthz")
                started.clear()
                if not stop.is_set():
                    latencies.append(time.perf_counter() - start)
                stop.wait(0.05)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield latencies
    finally:
        stop.set()
        if started:  # a poll still waiting: it has waited this long so far
            latencies.append(time.perf_counter() - started[0])
        thread.join(0.5)


# ---- attacks ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str
    seconds: float | None = None
    note: str = ""


@dataclass
class Context:
    server: Server
    inputs: Inputs
    timeout: float
    origin: str  # the trickling origin server's base URL

    def client(self, timeout: float | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.base, timeout=timeout or self.timeout, trust_env=False
        )


@dataclass
class Attack:
    name: str
    run: Callable[[Context], Outcome]
    engine: str = "instant"
    settings: dict[str, Any] = field(default_factory=dict)
    ready: bool = True  # wait for /readyz before attacking (else /healthz)
    answer: str = FORMULA


def timed(send: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    r = send()
    return r, time.perf_counter() - start


def counts(statuses: list[int]) -> str:
    seen: dict[int, int] = {}
    for s in statuses:
        seen[s] = seen.get(s, 0) + 1
    return " ".join(f"{s}x{n}" if n > 1 else str(s) for s, n in sorted(seen.items()))


def slot_free_after(ctx: Context, since: float, limit: float = 30) -> str:
    """Seconds from ``since`` until a small request is admitted again (max_queue=1): when
    the first probe that was not refused with 429 was sent."""
    with ctx.client(timeout=limit) as c:
        while time.perf_counter() - since < limit:
            sent = time.perf_counter()
            r = c.post("/v1/latex", json={"document": b64(ctx.inputs.page), "pages": [0]})
            if r.status_code != 429:
                return f"slot free {sent - since:.1f} s after"
            time.sleep(0.1)
    return f"slot still held {limit:.0f} s after"


def ssrf(ctx: Context) -> Outcome:
    urls = [
        "http://100.100.100.200/latest/meta-data/",
        "http://192.0.0.8/x.pdf",
        "http://[2002:a9fe:a9fe::]/latest/meta-data/",
    ]
    statuses, start = [], time.perf_counter()
    with ctx.client() as c:
        for url in urls:
            statuses.append(c.post("/v1/latex", json={"url": url}).status_code)
    return Outcome(" ".join(map(str, statuses)), time.perf_counter() - start, "3 metadata URLs")


def fetch_trickle(ctx: Context) -> Outcome:
    start = time.perf_counter()
    try:
        with ctx.client() as c:
            status = str(c.post("/v1/latex", json={"url": f"{ctx.origin}/slow"}).status_code)
    except httpx.TimeoutException:
        status = "timeout"
    done = time.perf_counter()
    return Outcome(status, done - start, slot_free_after(ctx, done, limit=20))


MALFORMED: list[tuple[str, dict[str, Any]]] = [
    ("port", {"json": {"url": "http://example.com:99999/x.pdf"}}),
    ("ipv6", {"json": {"url": "http://[::1/x.pdf"}}),
    ("label", {"json": {"url": "http://" + "a" * 64 + ".com/x.pdf"}}),
    ("empty label", {"json": {"url": "http://a..b/x.pdf"}}),
    ("surrogate", {"content": b'{"url": "http://\\ud800.example.com/x.pdf"}'}),
    ("5000 digits", {"content": b'{"document": "aGk=", "pages": [' + b"9" * 5000 + b"]}"}),
    ("pages nested", {"data": {"pages": "[" * 100_000 + "]" * 100_000}}),
    ("schema nested", {"data": {"json_schema": '{"a":' * 100_000 + "1" + "}" * 100_000}}),
]


def malformed(ctx: Context) -> Outcome:
    statuses, failed = [], []
    start = time.perf_counter()
    with ctx.client() as c:
        for name, body in MALFORMED:
            if "data" in body:
                r = c.post("/v1/extract", files={"file": ("f.pdf", ctx.inputs.page)}, **body)
            elif "content" in body:
                headers = {"content-type": "application/json"}
                r = c.post("/v1/extract", content=body["content"], headers=headers)
            else:
                r = c.post("/v1/extract", **body)
            statuses.append(r.status_code)
            if r.status_code >= 500:
                failed.append(name)
    note = f"5xx: {', '.join(failed)}" if failed else "no 5xx"
    return Outcome(counts(statuses), time.perf_counter() - start, note)


def redos(ctx: Context) -> Outcome:
    schema = {
        "type": "object",
        "properties": {"status": {"type": "string", "pattern": "^(a+)+$"}},
    }
    body = {"document": b64(ctx.inputs.redos), "json_schema": schema}
    with ctx.client() as c:
        r, seconds = timed(lambda: c.post("/v1/extract", json=body))
    return Outcome(str(r.status_code), seconds, "^(a+)+$ on 30 a's + '!' (cpu engine)")


def kind(r: httpx.Response) -> str:
    """A problem's kind ("input-too-large"), or what a 200 answered."""
    try:
        body = r.json()
    except ValueError:
        return ""
    if isinstance(body, dict) and "type" in body:
        return str(body["type"]).removeprefix("urn:docintel:problem:")
    if isinstance(body, dict) and "formulas" in body:
        return f"{len(body['formulas'])} formulas"
    return ""


def upload(route: str, name: str, data: bytes, **fields: str) -> Callable[[Context], Outcome]:
    def attack(ctx: Context) -> Outcome:
        with ctx.client() as c:
            r, seconds = timed(lambda: c.post(route, files={"file": (name, data)}, data=fields))
        return Outcome(str(r.status_code), seconds, kind(r))

    return attack


def pdf_2000(ctx: Context) -> Outcome:
    return upload("/v1/extract", "big.pdf", ctx.inputs.pdf_2000, schema="invoice")(ctx)


def pdf_200_x5(ctx: Context) -> Outcome:
    statuses, start = [], time.perf_counter()
    with ctx.client() as c:
        for _ in range(5):
            files = {"file": ("r.pdf", ctx.inputs.pdf_200)}
            statuses.append(c.post("/v1/extract", files=files, data={"schema": "invoice"}))
    seconds = time.perf_counter() - start
    return Outcome(counts([r.status_code for r in statuses]), seconds, "5 requests, cpu engine")


def tiff_1000(ctx: Context) -> Outcome:
    return upload("/v1/extract", "t.tiff", ctx.inputs.tiff, schema="invoice")(ctx)


def latex_250(ctx: Context) -> Outcome:
    return upload("/v1/latex", "f.pdf", ctx.inputs.pdf_250)(ctx)


def cancel_504(ctx: Context) -> Outcome:
    with ctx.client() as c:
        files = {"file": ("f.pdf", ctx.inputs.pdf_20)}
        r, seconds = timed(lambda: c.post("/v1/latex", files=files))
    done = time.perf_counter()
    return Outcome(str(r.status_code), seconds, slot_free_after(ctx, done))


def cancel_gone(ctx: Context) -> Outcome:
    start = time.perf_counter()
    try:
        with ctx.client(timeout=1) as c:
            r = c.post("/v1/latex", files={"file": ("f.pdf", ctx.inputs.pdf_20)})
        status = str(r.status_code)
    except httpx.TimeoutException:
        status = "left at 1 s"
    done = time.perf_counter()
    return Outcome(status, done - start, slot_free_after(ctx, done))


def any_of(ctx: Context) -> Outcome:
    branches = [
        {"type": "object", "properties": {f"k{i}": {"type": "string"}}, "required": [f"k{i}"]}
        for i in range(10_000)
    ]
    schema = {"type": "object", "properties": {"v": {"anyOf": branches}}}
    with ctx.client() as c:
        body = {"document": b64(ctx.inputs.page), "json_schema": schema}
        r, seconds = timed(lambda: c.post("/v1/extract", json=body))
    return Outcome(str(r.status_code), seconds, "10000-branch anyOf")


def data_url(ctx: Context) -> Outcome:
    document = "data:application/pdf," + "%41" * (19_000_000 // 3)
    with ctx.client() as c:
        body = {"document": document, "schema": "invoice"}
        r, seconds = timed(lambda: c.post("/v1/extract", json=body))
    return Outcome(str(r.status_code), seconds, "19 MB percent-encoded")


MISSING_MODEL = "/tmp/docintel-bench-models/pixtral-12b/weights"


def readiness(ctx: Context) -> Outcome:
    """The transformers engine on weights that are not there."""
    start = time.perf_counter()
    with ctx.client() as c:
        while True:  # until it has loaded or failed (a lazy engine is "ready" at once)
            ready = c.get("/readyz")
            if ready.status_code == 200 or "loading" not in ready.text:
                break
            if time.perf_counter() - start > ctx.timeout:
                return Outcome("timeout", None, "still loading")
            time.sleep(0.2)
        seconds = time.perf_counter() - start
        r = c.post("/v1/extract", json={"document": b64(ctx.inputs.page), "schema": "invoice"})
    leaked = "/tmp/" in ready.text or "/tmp/" in r.text
    note = "path leaked" if leaked else "no path in answers"
    return Outcome(f"readyz {ready.status_code}, extract {r.status_code}", seconds, note)


def schema_same(ctx: Context) -> Outcome:
    schema = {"type": "object", "properties": {"total": {"type": "number"}}}
    return _schemas(ctx, [schema] * 200, "200x the same schema")


def schema_distinct(ctx: Context) -> Outcome:
    schemas = [{"type": "object", "properties": {f"f{i}": {"type": "string"}}} for i in range(300)]
    return _schemas(ctx, schemas, "300 distinct schemas")


def _schemas(ctx: Context, schemas: list[dict[str, Any]], note: str) -> Outcome:
    statuses, start = [], time.perf_counter()
    with ctx.client() as c:
        for schema in schemas:
            body = {"document": b64(ctx.inputs.page), "json_schema": schema}
            statuses.append(c.post("/v1/extract", json=body).status_code)
    return Outcome(counts(statuses), time.perf_counter() - start, note)


def spec(ctx: Context) -> Outcome:
    with ctx.client() as c:
        r, seconds = timed(lambda: c.get("/openapi.json"))
    doc = r.json()
    form = doc["paths"]["/v1/extract"]["post"]["requestBody"]["content"]["multipart/form-data"]
    pages = form["schema"]["properties"].get("pages", {})
    kinds = {pages.get("type")} | {v.get("type") for v in pages.get("anyOf", [])}
    found = [
        "securitySchemes" if doc.get("components", {}).get("securitySchemes") else "no security",
        "pages: array" if "array" in kinds else f"pages: {'/'.join(sorted(map(str, kinds)))}",
        "oneOf" if form["schema"].get("oneOf") else "no oneOf",
    ]
    return Outcome(str(r.status_code), seconds, ", ".join(found))


def slow_headers(ctx: Context) -> Outcome:
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200 + b"\r\n\r\n"
    limit = min(30.0, ctx.timeout)
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", ctx.server.port)) as sock:
        sock.settimeout(0.05)
        for i in range(len(head)):
            if time.perf_counter() - start > limit:
                return Outcome("open", limit, f"still open after {limit:.0f} s (1 byte/s)")
            try:
                sock.sendall(head[i : i + 1])
                if sock.recv(1024) == b"":
                    break
            except TimeoutError:
                pass
            except OSError:
                break
            time.sleep(0.95)
    seconds = time.perf_counter() - start
    return Outcome("closed", seconds, "headers at 1 byte/s")


def slow_body(ctx: Context) -> Outcome:
    head = (
        b"POST /v1/extract HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    limit = min(30.0, ctx.timeout)
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", ctx.server.port)) as sock:
        sock.sendall(head + b'{"document": "')
        sock.settimeout(limit)
        try:
            answer = sock.recv(65536)
        except TimeoutError:
            return Outcome("no answer", limit, f"10 of 1000 bytes sent; waited {limit:.0f} s")
    seconds = time.perf_counter() - start
    status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "closed"
    return Outcome(status, seconds, "10 of 1000 bytes sent")


ATTACKS = [
    Attack("ssrf", ssrf, settings={"allow_urls": True, "fetch_timeout": 5}),
    Attack(
        "fetch-trickle",
        fetch_trickle,
        settings={
            "allow_urls": True,
            "allow_private_urls": True,
            "fetch_timeout": 2,
            "max_queue": 1,
        },
    ),
    Attack("malformed", malformed, settings={"allow_urls": True}),
    Attack("redos", redos, engine="cpu"),
    Attack("pdf-2000", pdf_2000, engine="cpu"),
    Attack("pdf-200-x5", pdf_200_x5, engine="cpu"),
    Attack("tiff-1000", tiff_1000, engine="cpu"),
    Attack("latex-250", latex_250),
    Attack(
        "cancel-504", cancel_504, engine="slow", settings={"request_timeout": 1, "max_queue": 1}
    ),
    Attack("cancel-gone", cancel_gone, engine="slow", settings={"max_queue": 1}),
    Attack("anyof-10000", any_of, answer="{}"),
    Attack("data-url-19MB", data_url),
    Attack(
        "readiness",
        readiness,
        engine="transformers",
        settings={"model": MISSING_MODEL},
        ready=False,
    ),
    Attack("schema-same", schema_same, engine="cpu"),
    Attack("schema-distinct", schema_distinct, engine="cpu"),
    Attack("spec", spec),
    Attack("slow-headers", slow_headers, settings={"header_timeout": 2}),
    Attack("slow-body", slow_body, settings={"body_timeout": 2}),
]


# ---- running and reporting --------------------------------------------------------------------


@dataclass
class Row:
    attack: str
    tree: str
    outcome: Outcome
    rss_end: float | None = None
    rss_peak: float | None = None
    healthz: float | None = None


def trickling_origin() -> http.server.ThreadingHTTPServer:
    """An origin that sends its response headers one byte a second."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: 2\r\n\r\nok"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                for i in range(len(head)):
                    self.wfile.write(head[i : i + 1])
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_one(attack: Attack, tree: Path, label: str, inputs: Inputs, args: Any, origin: str) -> Row:
    server = Server(tree, attack.engine, attack.settings, answer=attack.answer)
    try:
        server.wait("/readyz" if attack.ready else "/healthz")
        if attack.ready:
            warm_up(server, inputs, attack.engine)
        before = server.rss()
        ctx = Context(server, inputs, args.timeout, origin)
        result: list[Outcome] = []
        errors: list[BaseException] = []

        def go() -> None:
            try:
                result.append(attack.run(ctx))
            except httpx.TimeoutException:
                result.append(Outcome("timeout", args.timeout, f"no answer in {args.timeout:g} s"))
            except BaseException as exc:  # a dead server, a closed socket
                errors.append(exc)

        with (
            RssWatch(server, args.rss_cap) as watch,
            healthz_watch(server.base, args.timeout) as hz,
        ):
            thread = threading.Thread(target=go, daemon=True)
            thread.start()
            thread.join(args.timeout + 45)  # the attack's own requests time out first
        after = server.rss() if server.proc.poll() is None else watch.peak
        if server.killed_for:
            outcome = Outcome("killed", None, server.killed_for)
        elif result:
            outcome = result[0]
        elif errors:
            outcome = Outcome("error", None, f"{type(errors[0]).__name__}: {errors[0]}"[:60])
        else:
            outcome = Outcome("timeout", None, "the attack never returned")
        return Row(
            attack.name,
            label,
            outcome,
            rss_end=after - before,
            rss_peak=watch.peak - before,
            healthz=max(hz) if hz else None,
        )
    except Exception as exc:
        return Row(attack.name, label, Outcome("error", None, str(exc)[:80]))
    finally:
        server.close()


def warm_up(server: Server, inputs: Inputs, engine: str) -> None:
    """One ordinary request (its imports are not the attack's memory), and until it is out."""
    body: dict[str, Any] = {"document": b64(inputs.page), "pages": [0]}
    with httpx.Client(base_url=server.base, timeout=60, trust_env=False) as c:
        if engine == "cpu":  # it reads words; the fake engines answer a formula
            c.post("/v1/extract", json={**body, "schema": "invoice"})
        else:
            c.post("/v1/latex", json=body)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            depth = [
                line.split()[-1]
                for line in c.get("/metrics").text.splitlines()
                if line.startswith("docintel_queue_depth ")
            ]
            if not depth or float(depth[0]) == 0:
                return
            time.sleep(0.1)


def worktree(rev: str) -> Path:
    """``rev`` checked out in /tmp/docintel-REV (made once, kept)."""
    path = Path(tempfile.gettempdir()) / f"docintel-{rev}"
    if not (path / "docintel" / "__init__.py").exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev], check=True
        )
    return path


HEADER = ("attack", "tree", "status", "latency", "RSS end / peak", "/healthz max", "note")


def cells(row: Row) -> tuple[str, ...]:
    o = row.outcome

    def mib(x: float | None) -> str:
        return "-" if x is None else f"{x:+.0f}"

    return (
        row.attack,
        row.tree,
        o.status,
        "-" if o.seconds is None else f"{o.seconds:.2f} s",
        f"{mib(row.rss_end)} / {mib(row.rss_peak)} MiB",
        "-" if row.healthz is None else f"{row.healthz * 1000:.0f} ms",
        o.note,
    )


def table(rows: list[Row]) -> str:
    lines = [HEADER, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER) - 1)]
    out = []
    for n, line in enumerate(lines):
        shown = list(line)
        if n > 1 and rows[n - 1].attack == rows[n - 2].attack:
            shown[0] = ""  # the same attack on the other tree
        out.append(
            "  ".join(c.ljust(w) for c, w in zip(shown, widths, strict=False)) + "  " + line[-1]
        )
        if n == 0:
            out.append("-" * len(out[0]))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="also attack this git revision (e.g. 8ee7e45)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per attack")
    parser.add_argument("--rss-cap", type=float, default=4096, help="MiB; the server is killed")
    parser.add_argument("--only", nargs="*", help="attack names (default: all)")
    args = parser.parse_args()
    attacks = [a for a in ATTACKS if not args.only or a.name in args.only]
    trees = [(ROOT, "current")]
    if args.rev:
        trees.insert(0, (worktree(args.rev), args.rev))
    inputs = Inputs()
    origin = trickling_origin()
    rows: list[Row] = []
    start = time.perf_counter()
    try:
        for attack in attacks:
            for tree, label in trees:
                row = run_one(
                    attack, tree, label, inputs, args, f"http://127.0.0.1:{origin.server_port}"
                )
                rows.append(row)
                print(" | ".join(cells(row)), file=sys.stderr, flush=True)
    finally:
        origin.shutdown()
    print(table(rows))
    print(
        f"\n{len(rows)} runs in {time.perf_counter() - start:.0f} s; RSS in MiB over the "
        f"attack (the server process), /healthz: worst of a client polling every 50 ms."
    )


if __name__ == "__main__":
    main()
