"""How much work one request may cause.

A small input can ask for a lot of work: a 244 kB PDF of 2000 empty pages, a 416 kB TIFF of
1000 frames. ``admit`` refuses such a request up front, from what the document declares (page
count, page sizes at the model's resolution), before anything is rendered; ``InputTooLarge``
says which budget and how to stay within it (choose ``pages``, or raise the setting).

``docintel.cancel`` is the other half: stopping work nobody waits for any more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from docintel.errors import InputTooLarge

if TYPE_CHECKING:
    from docintel.document import Document
    from docintel.settings import Settings


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
