"""What is failing now (the store, the output folder), for the watcher's backoff, progress line
and ``--once``."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("docintel.jobs.watch")


class Health:
    """What is failing now (the store, the output folder) and since when: logged once when it
    starts and when it ends (not on every retry), shown in the progress line, and read by
    ``--once`` to give up on a store that stays down."""

    def __init__(self) -> None:
        self._down: dict[str, tuple[float, str, int]] = {}  # since, last error, failures
        self._lock = threading.Lock()

    def failed(self, what: str, exc: BaseException) -> int:
        """Record a failure of ``what``; return how many in a row."""
        message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
        with self._lock:
            since, _, count = self._down.get(what, (time.monotonic(), "", 0))
            self._down[what] = (since, message, count + 1)
        if count == 0:
            log.warning("%s unavailable (%s); retrying with backoff", what, message)
        return count + 1

    def recovered(self, what: str) -> None:
        with self._lock:
            down = self._down.pop(what, None)
        if down is not None:
            log.info("%s is back after %.0f s", what, time.monotonic() - down[0])

    def down_for(self, what: str) -> float:
        with self._lock:
            down = self._down.get(what)
        return 0.0 if down is None else time.monotonic() - down[0]

    def last(self, what: str) -> str:
        with self._lock:
            return self._down.get(what, (0.0, "", 0))[1]

    def summary(self) -> str:
        with self._lock:
            now = time.monotonic()
            return "; ".join(
                f"{what} down {now - since:.0f} s" for what, (since, _, _) in self._down.items()
            )
