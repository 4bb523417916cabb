"""A bounded load test of the service: 200 concurrent formula requests against 32 admission slots.

The engine takes 50 ms per batch and is not thread-safe, so ``create_app`` puts it behind the
``MicroBatcher``; the server (real uvicorn on 127.0.0.1, in a thread of this process) admits
32 requests at a time (``max_queue=32``). Each wave fires 200 ``POST /v1/latex`` at once from
``httpx.AsyncClient``. Every answer must be a 200 with the formula or an explicit 429/503
problem (``application/problem+json``) with ``Retry-After``; some must be 200s; the process's
resident memory must stay bounded and not grow wave after wave (no per-request leak); and
afterwards ``docintel_queue_depth`` on /metrics must be back to 0.
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx

from docintel.engines.base import Capabilities, GenerationOutput, GenerationRequest
from docintel.http.app import create_app
from docintel.settings import get_settings
from docintel.testing.engines import InstantEngine
from docintel.testing.server import running

ANSWER = '{"latex": "x^2 + y^2 = z^2", "display": true}'
CONCURRENT = 200
MAX_QUEUE = 32
BATCH_DELAY = 0.05  # seconds the engine takes per batch
WAVES = 4
# Resident memory (client and server share this process). One request peaks at ~12 MB of
# Python/numpy allocations (the 200x60 image is rendered at 1024 px for layout and the model),
# and 32 run at once, each in its own pool thread (glibc gives threads their own malloc arenas,
# which keep their pages). Warming up takes one or two waves (alone: +230 MB, then -10..+15;
# inside the whole suite: +140, +97, then 0, 0). So: the first two waves together may grow RSS
# up to MAX_WARMUP_GROWTH_MB; the last two together at most MAX_LATER_GROWTH_MB, which a leak
# of >= 1 MB per admitted request (64 of them: one page image would do) or >= ~160 kB per
# request of any kind (400) would exceed.
MAX_WARMUP_GROWTH_MB = 500
MAX_LATER_GROWTH_MB = 64


class SlowEngine:
    """``InstantEngine(delay=0.05)`` posing as an in-process model: not thread-safe."""

    name, model = "slow-instant", "instant"
    capabilities = Capabilities(thread_safe=False)

    def __init__(self) -> None:
        self.inner = InstantEngine(ANSWER, delay=BATCH_DELAY)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        return self.inner.generate(requests)

    def close(self) -> None:
        pass


def rss_mb() -> float:
    """Resident set size of this process, in MB (VmRSS of /proc/self/status)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def formula_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (200, 60), "white")
    ImageDraw.Draw(image).text((10, 22), "x^2 + y^2 = z^2", fill="black")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


async def wave(base: str, body: dict[str, Any]) -> list[httpx.Response]:
    """CONCURRENT requests at once, each on its own connection."""
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        return await asyncio.gather(
            *(client.post("/v1/latex", json=body) for _ in range(CONCURRENT))
        )


def check(responses: list[httpx.Response]) -> Counter[int]:
    """Every answer is a formula or an explicit, retryable refusal; returns the status counts."""
    statuses: Counter[int] = Counter()
    for r in responses:
        statuses[r.status_code] += 1
        if r.status_code == 200:
            (formula,) = r.json()["formulas"]
            assert formula["latex"] == "x^2 + y^2 = z^2" and formula["valid"], formula
        else:
            assert r.status_code in (429, 503), (r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json", r.headers
            assert r.headers["retry-after"].isdigit(), r.headers
            problem = r.json()
            assert problem["status"] == r.status_code and problem["detail"], problem
    return statuses


def test_200_concurrent_requests_bounded() -> None:
    engine = SlowEngine()
    app = create_app(get_settings(max_queue=MAX_QUEUE, batch_window_ms=10, max_batch=32), engine)
    body = {"document": base64.b64encode(formula_png()).decode()}
    with running(app) as base:
        assert httpx.post(f"{base}/v1/latex", json=body, timeout=30).status_code == 200
        before = rss_mb()
        after: list[float] = []
        totals: Counter[int] = Counter()
        started = time.perf_counter()
        for i in range(WAVES):
            statuses = check(asyncio.run(wave(base, body)))
            after.append(rss_mb())
            print(f"wave {i + 1}: {dict(sorted(statuses.items()))}, RSS {after[-1]:.1f} MB")
            assert statuses[200] > 0, statuses
            totals += statuses
        seconds = time.perf_counter() - started
        metrics = httpx.get(f"{base}/metrics").text

    growth = [b - a for a, b in zip([before, *after], after, strict=False)]
    batches = engine.inner.batches[1:]  # after the single warm-up request
    print(
        f"{WAVES} waves of {CONCURRENT} in {seconds:.1f} s: {dict(sorted(totals.items()))}; "
        f"RSS {before:.1f} MB -> {after[-1]:.1f} MB, growth per wave "
        + ", ".join(f"{g:+.1f}" for g in growth)
        + f" MB; {len(batches)} engine batches, mean {sum(batches) / len(batches):.1f} requests"
    )
    assert sum(totals.values()) == WAVES * CONCURRENT
    assert set(totals) <= {200, 429, 503}, totals
    # Each 200 is one engine request (a formula image, answered validly at the first attempt).
    assert sum(batches) == totals[200]
    assert max(batches) <= 32
    assert sum(growth[:2]) < MAX_WARMUP_GROWTH_MB, (before, after)
    assert sum(growth[2:]) < MAX_LATER_GROWTH_MB, (before, after)
    assert metric(metrics, "docintel_queue_depth") == 0
    assert metric(metrics, "docintel_batch_size_count") == len(batches) + 1
