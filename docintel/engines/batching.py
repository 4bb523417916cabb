"""Micro-batching: requests from concurrent callers gathered into one engine batch.

``MicroBatcher`` is an engine adapter. ``generate()``, called from any thread, queues the
requests and waits; one dispatcher thread takes whatever arrives within ``window`` seconds (up
to ``max_batch`` requests) and sends it to the engine as one batch. Callers that arrive
together, such as HTTP requests served from a thread pool, so share a batch: that is how one
in-process vLLM serves many clients at once. A caller's own requests always stay in one batch.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from docintel.engines.base import Engine, GenerationOutput, GenerationRequest, capabilities
from docintel.errors import EngineUnavailable

log = logging.getLogger("docintel.engines.batching")


@dataclass
class _Waiting:
    requests: list[GenerationRequest]
    future: Future[list[GenerationOutput]] = field(default_factory=Future)


class MicroBatcher:
    """Gathers concurrent ``generate`` calls into engine batches (see the module docstring).

    ``on_batch(n_requests, seconds)`` is called after every engine batch (for metrics).
    ``window=0`` still batches what is already waiting; ``max_batch=1`` turns batching off.
    Calls queued before ``close()`` are still answered; calls after it raise
    ``EngineUnavailable``.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        window: float = 0.01,
        max_batch: int = 32,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self.engine = engine
        self.name, self.model = engine.name, engine.model
        # Any thread may call it: calls are queued and sent by one thread.
        self.capabilities = replace(capabilities(engine), thread_safe=True)
        self.window, self.max_batch, self.on_batch = window, max(1, max_batch), on_batch
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._waiting = 0  # requests queued, not yet sent
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._dispatch, name="batcher", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        """Requests queued for the next batch."""
        return self._waiting

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        if not requests:
            return []
        item = _Waiting(list(requests))
        with self._lock:  # under the lock: nothing is queued behind close()'s sentinel
            if self._closed:
                raise EngineUnavailable("the micro-batcher is closed: the engine was shut down")
            self._waiting += len(item.requests)
            self._queue.put(item)
        return item.future.result()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout=10)
        self.engine.close()

    def _dispatch(self) -> None:
        stopping = False
        carry: _Waiting | None = None  # a call that did not fit the last batch: starts the next
        while True:
            if carry is not None:
                first, carry = carry, None
            elif stopping:
                return
            else:
                got = self._queue.get()
                if got is None:
                    return
                first = got
            items, size = [first], len(first.requests)
            deadline = time.monotonic() + self.window
            while size < self.max_batch and not stopping:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                if size + len(item.requests) > self.max_batch:
                    carry = item  # a caller's requests stay together, within max_batch
                    break
                items.append(item)
                size += len(item.requests)
            with self._lock:
                self._waiting -= size
            self._run(items, size)

    def _run(self, items: list[_Waiting], size: int) -> None:
        requests = [r for item in items for r in item.requests]
        start = time.perf_counter()
        try:
            outputs = self.engine.generate(requests)
        except Exception as exc:  # every caller in the batch sees the engine's failure
            for item in items:
                item.future.set_exception(exc)
            return
        if self.on_batch:
            try:
                self.on_batch(size, time.perf_counter() - start)
            except Exception:  # a metrics hook must not kill the dispatcher (callers would hang)
                log.exception("on_batch callback failed")
        i = 0
        for item in items:
            item.future.set_result(outputs[i : i + len(item.requests)])
            i += len(item.requests)
