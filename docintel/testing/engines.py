"""An engine that answers at once: for measuring and testing what runs around the model.

It is not a model: every request gets the same JSON text (or what ``answer`` returns for it).
It can fail on purpose, raising for its first calls as a server that is down would, so the
code around an engine can be tested for recovery.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from docintel.engines.base import Capabilities, GenerationOutput, GenerationRequest


class InstantEngine:
    """Answers every request with ``answer`` after ``delay`` seconds per batch.

    ``fail_first=n`` raises ``ConnectionError`` on the first ``n`` calls. ``batches`` records
    the size of every batch it was given.
    """

    name = "instant"
    model = "instant"
    capabilities = Capabilities(thread_safe=True)

    def __init__(
        self,
        answer: str | Callable[[GenerationRequest], str] = "{}",
        *,
        delay: float = 0.0,
        fail_first: int = 0,
    ) -> None:
        self.answer = answer
        self.delay = delay
        self.fail_first = fail_first
        self.batches: list[int] = []
        self._lock = threading.Lock()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        with self._lock:
            self.batches.append(len(requests))
            failing = len(self.batches) <= self.fail_first
        if self.delay:
            time.sleep(self.delay)
        if failing:
            raise ConnectionError("instant engine: failing on purpose (fail_first)")
        return [
            GenerationOutput(
                self.answer(r) if callable(self.answer) else self.answer,
                "stop",
                prompt_tokens=1,
                completion_tokens=1,
            )
            for r in requests
        ]

    def close(self) -> None:
        pass
