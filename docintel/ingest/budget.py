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


def within(actual: int, setting: str, settings: Settings, what: str, fix: str) -> None:
    """``InputTooLarge`` when ``actual`` is over the limit ``settings.<setting>``. The message
    says what was too large, which limit, and what to do: ``fix``, or raise the setting."""
    limit = getattr(settings, setting)
    if actual > limit:
        raise InputTooLarge(
            f"{what}, over {setting}={limit}. {fix}, or raise DOCINTEL_{setting.upper()}.",
            limit=limit,
            actual=actual,
        )


def admit(doc: Document, pages: Sequence[int] | None, settings: Settings) -> None:
    """Refuse work over the per-request budgets (pages, rendered pixels) before it starts."""
    chosen = list(range(len(doc))) if pages is None else list(pages)
    label = doc.name or "the document"
    what = f"{label}: {len(chosen)} pages asked for"
    within(len(chosen), "max_work_pages", settings, what, "Choose fewer with 'pages'")
    pixels = 0
    for index in chosen:
        if not 0 <= index < len(doc):
            continue  # not a page: the caller's page check says so, with its own message
        width, height = doc[index].pixel_size()
        pixels += width * height
    side = settings.target_longest_side
    what = f"{label}: the {len(chosen)} pages asked for make {pixels} pixels at {side} px"
    within(pixels, "max_work_pixels", settings, what, "Choose fewer pages")


def admit_regions(count: int, settings: Settings) -> None:
    """Refuse transcribing more regions than the budget allows (checked before the model)."""
    within(
        count, "max_work_regions", settings, f"{count} regions to transcribe", "Choose fewer pages"
    )
