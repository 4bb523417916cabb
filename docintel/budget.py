"""How much work one request may cause, and stopping work nobody waits for any more.

A small input can ask for a lot of work: a 244 kB PDF of 2000 empty pages, a 416 kB TIFF of
1000 frames. ``admit`` refuses such a request up front, from what the document declares (page
count, page sizes at the model's resolution), before anything is rendered; ``InputTooLarge``
says which budget and how to stay within it (choose ``pages``, or raise the setting).

``Cancel`` is the other half: the service runs work in a thread, and when the client gives up
(timeout, disconnect) that thread should stop at its next step instead of running for minutes
holding an admission slot. Long loops call ``checkpoint()``, which raises ``Cancelled`` when
the work they belong to was cancelled; the token travels in a context variable, so the
pipeline's signatures do not change.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from .errors import Cancelled, InputTooLarge

if TYPE_CHECKING:
    from .document import Document
    from .settings import Settings


def admit(doc: Document, pages: Sequence[int] | None, settings: Settings) -> None:
    """Refuse work over the per-request budgets (pages, rendered pixels) before it starts."""
    chosen = list(range(len(doc))) if pages is None else list(pages)
    label = doc.name or "the document"
    if len(chosen) > settings.max_work_pages:
        raise InputTooLarge(
            f"{label}: {len(chosen)} pages asked for, over max_work_pages="
            f"{settings.max_work_pages} per request. Choose fewer with 'pages', or raise "
            "DOCINTEL_MAX_WORK_PAGES.",
            limit=settings.max_work_pages,
            actual=len(chosen),
        )
    pixels = 0
    for index in chosen:
        if not 0 <= index < len(doc):
            continue  # not a page: the caller's page check says so, with its own message
        width, height = doc[index].pixel_size()
        pixels += width * height
    if pixels > settings.max_work_pixels:
        raise InputTooLarge(
            f"{label}: the {len(chosen)} pages asked for make {pixels} pixels at "
            f"{settings.target_longest_side} px, over max_work_pixels={settings.max_work_pixels} "
            "per request. Choose fewer pages, or raise DOCINTEL_MAX_WORK_PIXELS.",
            limit=settings.max_work_pixels,
            actual=pixels,
        )


def admit_regions(count: int, settings: Settings) -> None:
    """Refuse transcribing more regions than the budget allows (checked before the model)."""
    if count > settings.max_work_regions:
        raise InputTooLarge(
            f"{count} regions to transcribe, over max_work_regions={settings.max_work_regions} "
            "per request. Choose fewer pages, or raise DOCINTEL_MAX_WORK_REGIONS.",
            limit=settings.max_work_regions,
            actual=count,
        )


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
