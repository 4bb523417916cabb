"""How long to wait before trying again: one rule for every retry loop (engines, store, jobs)."""

from __future__ import annotations

import math
import random


def backoff(attempt: int, base: float, cap: float = math.inf, *, jitter: bool = False) -> float:
    """Seconds before the try after ``attempt`` (0: the first retry waits ``base``), doubling
    up to ``cap``. ``jitter`` scales it by a random factor in [0.5, 1] so that many clients
    waiting out the same outage do not all come back at once."""
    delay = min(cap, base * 2 ** max(0, attempt))
    return delay * random.uniform(0.5, 1.0) if jitter else delay
