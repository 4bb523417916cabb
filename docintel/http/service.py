"""What the app holds: settings, the engine (loaded in the background), admission, metrics."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from fastapi import Request

from docintel.engines import Engine, get_engine
from docintel.engines.base import capabilities
from docintel.engines.batching import MicroBatcher
from docintel.errors import DocintelError
from docintel.http.problems import ProblemError, for_error, scrub
from docintel.settings import Settings

log = logging.getLogger("docintel.http")
T = TypeVar("T")


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
            raise for_error(exc) from exc
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


async def _disconnected(request: Request) -> None:
    """Return once the client has closed the connection.

    Waits on the ASGI receive channel: once the body is read, the only message left is
    ``http.disconnect``. (Polling ``request.is_disconnected()`` never saw it: its receive,
    cancelled at once, is cancelled inside the HTTP middleware's task group before the
    message gets through, so a client that went away went unnoticed.)
    """
    while (await request.receive())["type"] != "http.disconnect":
        await asyncio.sleep(0.5)  # not expected after the body; never spin on it
