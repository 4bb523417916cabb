"""Stopping work nobody waits for any more.

The service runs work in a thread, and when the client gives up (timeout, disconnect) that
thread should stop at its next step instead of running for minutes holding an admission slot.
Long loops call ``checkpoint()``, which raises ``Cancelled`` when the work they belong to was
cancelled; the token travels in a context variable, so the pipeline's signatures do not change.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from docintel.errors import Cancelled


class Cancel:
    """A token the waiting side sets when nobody needs the work's result any more."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str) -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


_current: ContextVar[Cancel | None] = ContextVar("docintel_cancel", default=None)


@contextmanager
def cancellable(token: Cancel) -> Iterator[Cancel]:
    """Run the block with ``token`` as the current work's cancel token."""
    reset = _current.set(token)
    try:
        yield token
    finally:
        _current.reset(reset)


def checkpoint() -> None:
    """Raise ``Cancelled`` if the current work was cancelled; cheap, call it between steps."""
    token = _current.get()
    if token is not None and token.cancelled:
        raise Cancelled(f"the work was stopped: {token.reason}")
